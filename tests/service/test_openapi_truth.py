"""The OpenAPI document tells the truth: schemathesis's command line with ``--checks all`` over
every operation of ``/openapi.json`` (whatever routes the kinds add), against the service served
by uvicorn over a test database holding a real round. Every check (status codes, media types,
response headers and schemas, negative data rejected, schema-valid data accepted, authentication
not ignored, ...) must pass: 0 failures, none left out. What OpenAPI cannot state (a rule across
parameters, an upload's content) is said per operation in ``schemathesis.toml`` beside this file.
Bounded: a few derandomized examples per operation.
The data is the same afterwards (writes are made with an editor token and must be refused).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import serve_app
from tests.service.test_fuzz import checksum

MAX_EXAMPLES = 2  # every operation, positive and negative data; more examples cost minutes, not coverage of routes
CONFIG = Path(__file__).with_name("schemathesis.toml")  # per-operation statuses OpenAPI cannot state


@pytest.fixture(scope="module")
def served(pg_server, round120_template):
    from service.auth import create_token
    from service.fragility.run import ensure_run
    from tests.conftest import SHARED, cloned_engine

    with cloned_engine(pg_server, round120_template, "dtm_atlas_test_openapi") as engine:
        ensure_run(engine, shared_dir=SHARED, round_number=120)  # a first read would store it
        token = create_token(engine, "editor", "openapi")
        before = checksum(engine)
        with serve_app(engine) as url:
            yield url, token
        assert checksum(engine) == before, "the requests changed the data"


def _st() -> list[str]:
    exe = Path(sys.executable).with_name("st")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("st")
    if found is None:
        pytest.fail("schemathesis's command line (st) is missing: pip install 'schemathesis>=4.3'")
    return [found]


def test_schemathesis_checks_all_over_every_operation(served, tmp_path):
    url, token = served
    junit = tmp_path / "schemathesis.xml"
    cmd = _st() + [
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--generation-allow-x00",
        "false",  # text with NUL is refused before any route (PostgreSQL text has none): 400
        "--workers",
        "2",  # two operations at a time: the server waits on the database as much as on the CPU
        "--request-timeout",
        "60",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--no-color",
    ]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    out = done.stdout + done.stderr
    (tmp_path / "schemathesis.txt").write_text(out, encoding="utf-8")
    assert "operations" in out.lower() or "Operations" in out, out[-3000:]
    assert done.returncode == 0, _summary(out) + "\n\n" + out[-6000:]


def _summary(out: str) -> str:
    """One line per operation and failed check (what was received, what is documented)."""
    lines, op, check = [], None, None
    for raw in out.splitlines():
        line = raw.strip()
        m = re.match(r"^_{3,} (\w+ \S+) _{3,}$", line)
        if m:
            op = m.group(1)
        elif line.startswith("- ST") or line.startswith("- "):
            check = line[2:]
            if op and check[:2] == "ST":
                lines.append(f"{op}: {check}")
        elif op and check and (line.startswith(("Received:", "Documented:", "[", "Reproduce", "curl "))):
            lines.append(f"    {line[:300]}")
    return "\n".join(lines)


def test_the_country_pattern_is_what_the_service_accepts():
    """``?country=`` in the document (a pattern) accepts exactly the codes parse_country does."""
    import itertools
    import string

    import pycountry

    from service.api.openapi_truth import country_code_schema
    from service.api.params import ParamError, parse_country

    pattern = re.compile(country_code_schema()["pattern"])

    def accepted(code: str) -> bool:
        try:
            return parse_country(code) is not None
        except ParamError:
            return False

    samples = {c.alpha_3 for c in pycountry.countries} | {c.alpha_2 for c in pycountry.countries}
    samples |= {c.lower() for c in samples} | {c.title() for c in samples}
    samples |= {"".join(p) for p in itertools.product("AIQRZ", repeat=3)} | {"A", "IRQQ", "I-Q", "ÇA", "1Q"}
    samples |= {a + b for a, b in itertools.product(string.ascii_uppercase, repeat=2)}
    wrong = [code for code in sorted(samples) if bool(pattern.fullmatch(code)) != accepted(code)]
    assert not wrong, wrong[:20]

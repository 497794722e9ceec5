"""Property-based fuzzing of every operation of the OpenAPI schema (schemathesis), in-process.

Data that fits the schema and data that does not (both generation modes), an editor token on
every request (so the write endpoint is reached past its authentication), a bounded and
derandomized number of examples per operation. Asserted: no answer is a server error, every
error is the service's JSON ``{"status", "detail"}`` (or the DTM envelope on its routes), and
the data in the database is the same after the run (rejected writes change nothing but their
line in the import log).
"""

from __future__ import annotations

import hashlib

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy import text

from tests.conftest import settings_for

MAX_EXAMPLES = 12

DATA_TABLES_SQL = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname NOT IN ('api_token', 'auth_session', 'import_log', 'spatial_ref_sys')
    ORDER BY 1
"""


def checksum(engine) -> str:
    """Row counts of every data table, the data version, the rounds and the committed imports."""
    parts = []
    with engine.connect() as c:
        for (table,) in c.execute(text(DATA_TABLES_SQL)):
            parts.append(f"{table}={c.execute(text(f'SELECT count(*) FROM {table}')).scalar()}")
        parts.append(str(c.execute(text("SELECT version FROM data_version")).scalar()))
        parts.append(str(c.execute(text("SELECT array_agg(r ORDER BY id)::text FROM round r")).scalar()))
        parts.append(
            str(
                c.execute(
                    text("SELECT array_agg(id ORDER BY id)::text FROM import_log WHERE outcome <> 'rejected'")
                ).scalar()
            )
        )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@pytest.fixture(scope="module")
def fuzz_env(pg_server, round120_template):
    from service.app import create_app
    from service.auth import create_token
    from tests.conftest import cloned_engine

    with cloned_engine(pg_server, round120_template, "dtm_atlas_test_fuzz") as engine:  # round 120 imported
        # the round's default fragility, which a first read would compute and store: stored
        # before, reads find it up to date and write nothing
        from service.fragility.run import ensure_run
        from tests.conftest import SHARED

        ensure_run(engine, shared_dir=SHARED, round_number=120)
        token = create_token(engine, "editor", "fuzz")
        app = create_app(settings_for(engine, log_level="error"), engine)
        before = checksum(engine)
        yield {"app": app, "token": token, "engine": engine}
        assert checksum(engine) == before, "the fuzzed requests changed the data"


def _schema():
    """The schema of the app as built (no database is touched to make it); the requests go to
    the app over the fuzzing database (``case.call(app=...)``)."""
    from sqlalchemy import create_engine

    from service.app import create_app
    from service.core.settings import Settings

    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(database_url=url), create_engine(url)))


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case, fuzz_env):
    response = case.call(app=fuzz_env["app"], headers={"Authorization": f"Bearer {fuzz_env['token']}"})
    where = f"{case.method} {case.formatted_path} {case.query or ''}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        if "isSuccess" in body:  # the DTM-API-compatible routes
            assert body["statusCode"] == response.status_code and body["errorMessages"], where
        else:
            assert body["status"] == response.status_code and body["detail"], where


EXTREMES = [
    str(10**28),
    str(-(10**28)),
    "2147483648",
    "9223372036854775808",
    "1e400",
    "nan",
    "!!",
    "\x00",
    "IQ\x00G07",
    "x" * 5000,
    "١٢٠",
    "2019-02-30",
    "../../etc/passwd",
    "'; SELECT 1; --",
]


def _operations():
    raw = schema.raw_schema
    for path, methods in raw["paths"].items():
        for method, op in methods.items():
            if method.upper() not in ("GET", "HEAD"):
                continue
            params = op.get("parameters", [])
            yield path, method, params


def _fill(path: str, params: list[dict], override: tuple[str, str] | None) -> tuple[str, dict]:
    """A request for ``path`` with plausible values, one parameter set to an extreme."""
    plausible = {
        "layers": "districts",
        "z": "5",
        "x": "19",
        "y": "12",
        "level": "2",
        "pcode": "IQG07",
        "collection_id": "idp-r120-adm2",
        "feature_id": "IQG07Q02",
        "round_id": "1",
        "name": "figures-adm1.csv",
        "dataset": "figures-adm1",
        "fontstack": "Noto Sans",
        "range": "0-255",
    }
    query = {}
    url = path
    for p in params:
        value = plausible.get(p["name"], "1")
        if override and p["name"] == override[0]:
            value = override[1]
        if p["in"] == "path":
            from urllib.parse import quote

            url = url.replace("{" + p["name"] + "}", quote(value, safe=""))
        elif p["in"] == "query" and override and p["name"] == override[0]:
            query[p["name"]] = value
    return url, query


def test_extreme_values_in_every_parameter(fuzz_env):
    """Every parameter of every read operation, one at a time, set to values at and past the
    edges (huge and negative integers, NaN, NUL bytes, long, Arabic digits, impossible dates):
    a 4xx naming the problem, never a 5xx."""
    from fastapi.testclient import TestClient

    failures = []
    with TestClient(fuzz_env["app"], raise_server_exceptions=False) as client:
        for path, _method, params in _operations():
            for p in params:
                for value in EXTREMES:
                    url, query = _fill(path, params, (p["name"], value))
                    r = client.get(url, params=query)
                    if r.status_code >= 500:
                        failures.append(f"{url} {query!r:.120}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures[:30])

"""``./dev cluster``: a primary, a streaming replica, PgBouncer, two workers and nginx on loopback,
started from Debian's packages; an import through the primary reaches the replica; ``down`` leaves
no process behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(
    shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists(), reason="pgbouncer not installed"
)


def _cluster(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DTM_ATLAS_DATA_DIR=str(data_dir))
    env.pop("DATABASE_URL", None)
    env.pop("DTM_ATLAS_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "cluster.py"), *args], env=env, capture_output=True, text=True
    )


def _get(url: str) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def _pids_under(path: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(path) in line]


def test_cluster_up_replicates_an_import_and_comes_down_clean():
    data_dir = Path(tempfile.mkdtemp(prefix="dtm-atlas-cluster-"))
    data_dir.chmod(0o755)
    try:
        up = _cluster(data_dir, "up")
        assert up.returncode == 0, up.stderr[-2000:]
        urls = json.loads(up.stdout)
        state = json.loads((data_dir / "cluster" / "cluster.json").read_text())
        password = json.loads((data_dir / "pg.json").read_text())["password"]

        # the cache answers for the workers
        status, headers, body = _get(urls["cache"] + "/health")
        assert status == 200 and headers.get("X-Cache-Status") in ("MISS", "BYPASS", "EXPIRED")

        # an import through the primary (the CLI with DATABASE_URL = primary) ...
        primary = f"postgresql://atlas:{password}@127.0.0.1:{state['primary']['port']}/dtm_atlas"
        env = dict(os.environ, DATABASE_URL=primary)
        env["DTM_ATLAS_DATA_DIR"] = str(data_dir)
        cli = [sys.executable, "-m", "service.cli"]
        adm1 = next((SHARED / "irq_cod_ab").glob("irq_admbnda_adm1_*.geojson"))
        imp = subprocess.run(
            [*cli, "boundaries", "import", str(adm1)], env=env, capture_output=True, text=True, cwd=ROOT
        )
        assert imp.returncode == 0, imp.stderr[-2000:]

        # ... is replayed by the replica, read through PgBouncer in transaction mode
        dsn = (
            f"host=127.0.0.1 port={state['pgbouncer']['port']} user=atlas password={password} dbname=dtm_atlas_replica"
        )
        deadline = time.monotonic() + 20
        n = 0
        while time.monotonic() < deadline:
            with psycopg.connect(dsn, prepare_threshold=None) as conn:
                assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
                n = conn.execute("SELECT count(*) FROM admin_unit WHERE level = 1").fetchone()[0]
            if n == 18:
                break
            time.sleep(0.2)
        assert n == 18

        # the workers serve the replicated data through the cache
        status, headers, body = _get(urls["cache"] + "/admin-units?level=1")
        assert status == 200 and b"IQG07" in body
    finally:
        down = _cluster(data_dir, "down")
        left = _pids_under(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert not left, left

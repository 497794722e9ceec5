"""A replica late on purpose (``./dev cluster up --delay 6 --max-lag 2``: PostgreSQL's
``recovery_min_apply_delay``): while it has not replayed an import, a worker keeps answering the
version it shows and never names (nor caches under) the new one; once it is behind past the lag
limit it leaves reads and the primary answers, saying so; once it has replayed, it is back.
Every answer is checked against its own bytes: an answer naming the new version holds the new
data (the districts the import added), one naming the old version does not."""

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

import mapbox_vector_tile
import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
COD_AB = SHARED / "irq_cod_ab"
DELAY_S, MAX_LAG_S = 6.0, 2.0

pytestmark = pytest.mark.skipif(
    shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists(), reason="pgbouncer not installed"
)


def _env(data_dir: Path, **more) -> dict:
    env = dict(os.environ, DTM_ATLAS_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), **more)
    if "DATABASE_URL" not in more:
        env.pop("DATABASE_URL", None)
    env.pop("DTM_ATLAS_DATABASE_URL", None)
    return env


def _run(data_dir: Path, *args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=_env(data_dir, **env), capture_output=True, text=True, cwd=ROOT)


def _get(url: str) -> tuple[dict, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return {k.lower(): v for k, v in r.headers.items()}, r.read()


def _pids_under(path: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(path) in line]


def test_delayed_replica_old_version_until_replayed_then_out_of_reads_past_the_lag_limit():
    data_dir = Path(tempfile.mkdtemp(prefix="dtm-atlas-delayed-"))
    data_dir.chmod(0o755)
    cli = [sys.executable, "-m", "service.cli"]
    adm1 = next(COD_AB.glob("irq_admbnda_adm1_*.geojson"))
    adm2 = next(COD_AB.glob("irq_admbnda_adm2_*.geojson"))
    try:
        # the governorates before the cluster exists (the embedded primary): the base backup has them
        first = _run(data_dir, *cli, "boundaries", "import", str(adm1))
        assert first.returncode == 0, first.stderr[-2000:]
        up = _run(
            data_dir, sys.executable, "deploy/cluster.py", "up", "--delay", str(DELAY_S), "--max-lag", str(MAX_LAG_S)
        )
        assert up.returncode == 0, up.stderr[-2000:]
        urls = json.loads(up.stdout)
        worker = urls["workers"][0]
        state = json.loads((data_dir / "cluster" / "cluster.json").read_text())
        password = json.loads((data_dir / "pg.json").read_text())["password"]
        primary = f"postgresql://atlas:{password}@127.0.0.1:{state['primary']['port']}/dtm_atlas"

        _, body = _get(worker + "/webmap/countries")
        set_id = json.loads(body)["countries"][0]["boundary_set"]["id"]
        tile_url = f"{worker}/webmap/geometry/{set_id}/governorates,districts/5/19/12.mvt"
        headers, tile = _get(tile_url)
        old = int(headers["x-data-version"])
        assert headers["x-read-from"] == "replica-1"
        assert "districts" not in mapbox_vector_tile.decode(tile)

        # the districts imported through the primary; the worker is asked all along
        imp = subprocess.Popen(
            [*cli, "boundaries", "import", str(adm2)],
            env=_env(data_dir, DATABASE_URL=primary),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        samples = []  # (seconds since the import committed or None, version, read from, has districts)
        committed = None  # when the primary first showed the new version (its commit)
        deadline = time.monotonic() + 60
        with psycopg.connect(primary.replace("postgresql://", "postgresql://", 1), autocommit=True) as pconn:
            while time.monotonic() < deadline:
                if committed is None and pconn.execute("SELECT version FROM data_version").fetchone()[0] > old:
                    committed = time.monotonic()
                headers, tile = _get(tile_url)
                at = None if committed is None else time.monotonic() - committed
                version, source = int(headers["x-data-version"]), headers["x-read-from"]
                samples.append((at, version, source, "districts" in mapbox_vector_tile.decode(tile)))
                if committed is not None and source == "replica-1" and version > old:
                    break
                time.sleep(0.1)
        assert imp.wait(60) == 0, imp.stderr.read().decode()[-2000:]
        new = samples[-1][1]
        assert new > old and samples[-1][2] == "replica-1", samples[-5:]

        # every answer's bytes are of the version it names: never new data under an old version, nor the reverse
        for at, version, source, has_districts in samples:
            assert has_districts == (version == new), (at, version, source)
        # from the replica, only the old version until it has replayed (>= the apply delay after the commit)
        replica_new = [at for at, v, s, _ in samples if s == "replica-1" and v == new]
        assert min(replica_new) >= DELAY_S - 1.0, samples
        # behind past the lag limit: out of reads, the primary answers and says so (with its version)
        from_primary = [(at, v) for at, v, s, _ in samples if s == "primary"]
        assert from_primary and all(v == new for _, v in from_primary), samples
        assert min(at for at, _ in from_primary) >= MAX_LAG_S - 1.0
        # until then, the replica's old version (the import may take a while: some samples precede the commit)
        assert [v for at, v, s, _ in samples if s == "replica-1" and at is not None and at < MAX_LAG_S - 0.5] == [
            old for at, v, s, _ in samples if s == "replica-1" and at is not None and at < MAX_LAG_S - 0.5
        ]
        health = json.loads(_get(worker + "/health")[1])
        assert health["replicas"][0]["in_reads"] is True and health["replicas"][0]["version"] == new
    finally:
        down = _run(data_dir, sys.executable, "deploy/cluster.py", "down")
        _run(data_dir, *cli, "db", "stop")  # the primary ran before the cluster (the first import): down keeps it
        left = _pids_under(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert not left, left

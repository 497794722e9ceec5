"""``./dev cluster``: a primary, a streaming replica, PgBouncer, two workers and nginx on loopback,
started from Debian's packages; a round imported through the primary reaches the replica and, within a
second of its replay, the cache serves it under new URLs while the old URLs keep their bytes; ``down``
leaves no process behind."""

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


def _cluster_tree(data_dir: Path) -> set[int]:
    """Every process ``up`` started: the ones its state names (workers, nginx, PgBouncer, the replica), their
    descendants (nginx's workers, the replica's backends) and any other whose command line names the cluster's
    folder. The primary is not one: it ran before ``up`` (the imports), and ``down`` leaves it as it was."""
    state = json.loads((data_dir / "cluster" / "cluster.json").read_text())
    roots = {w["pid"] for w in state["workers"]}
    for pidfile in (state["nginx"]["pidfile"], state["pgbouncer"]["pidfile"]):
        roots.add(int(Path(pidfile).read_text().split()[0]))
    roots.add(int((Path(state["replica"]["pgdata"]) / "postmaster.pid").read_text().split()[0]))
    rows = [
        r.split()
        for r in subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout.split("\n")[1:]
        if r.strip()
    ]
    tree, grew = set(roots), True
    while grew:
        more = {int(pid) for pid, ppid in rows if int(ppid) in tree} - tree
        tree |= more
        grew = bool(more)
    return tree | {int(line.split()[0]) for line in _pids_under(data_dir / "cluster")}


def _alive(pids: set[int]) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid,stat,args", "-p", ",".join(map(str, pids))], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines()[1:] if line.split()[1][0] not in "ZX"]


def _get_ci(url: str) -> tuple[int, dict, bytes]:
    """An answer with its header names in lower case (nginx passes the workers' lower-case names on)."""
    status, headers, body = _get(url)
    return status, {k.lower(): v for k, v in headers.items()}, body


def _replica_version(dsn: str) -> int:
    with psycopg.connect(dsn, prepare_threshold=None) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        return conn.execute("SELECT version FROM data_version").fetchone()[0]


def _tilejson_version(cache: str) -> int:
    _, headers, body = _get_ci(cache + "/tiles/districts.json")
    assert headers["x-cache-status"] != "HIT"  # an unversioned URL: never kept by the cache
    return json.loads(body)["dtm_atlas"]["data_version"]


TILES = ("5/19/12", "6/39/25", "6/40/25", "7/79/50")


def test_cluster_up_import_of_a_round_new_urls_within_a_second_old_urls_old_bytes_down_clean():
    """The issue's 'Must show': an import of a round through the primary; within a second of the replica
    replaying it, the cache (nginx in front of two workers) serves the new round's tiles under new URLs
    (``?v=`` the new data version), while the old URLs still answer their old bytes (nothing purged);
    ``down`` leaves no process behind (ps)."""
    data_dir = Path(tempfile.mkdtemp(prefix="dtm-atlas-cluster-round-"))
    data_dir.chmod(0o755)
    series = sorted((SHARED / "dtm_iraq_masterlists" / "series" / "idp").glob("*2015.csv.gz"))
    first, second = (next(f for f in series if tag in f.name) for tag in ("Apr_10_2015", "Apr_25_2015"))
    cli = [sys.executable, "-m", "service.cli"]
    env = dict(os.environ, DTM_ATLAS_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    env.pop("DTM_ATLAS_DATABASE_URL", None)
    try:
        # the boundaries and one round on the embedded primary, before the cluster exists
        boundaries = sorted(str(p) for p in (SHARED / "irq_cod_ab").glob("irq_admbnda_adm[123]_*.geojson"))
        for args in (
            ["boundaries", "import", *boundaries],
            ["import", "masterlist", "--population", "idp", str(first)],
        ):
            proc = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, cwd=ROOT)
            assert proc.returncode == 0, proc.stderr[-2000:]
        up = _cluster(data_dir, "up")
        assert up.returncode == 0, up.stderr[-2000:]
        cache = json.loads(up.stdout)["cache"]
        state = json.loads((data_dir / "cluster" / "cluster.json").read_text())
        password = json.loads((data_dir / "pg.json").read_text())["password"]
        replica = (
            f"host=127.0.0.1 port={state['pgbouncer']['port']} user=atlas password={password} dbname=dtm_atlas_replica"
        )

        # the cache answers for the workers; they read the replica (through PgBouncer in transaction mode)
        status, headers, body = _get_ci(cache + "/health")
        assert status == 200 and headers["x-cache-status"] in ("MISS", "BYPASS", "EXPIRED")
        status, headers, body = _get_ci(cache + "/admin-units?level=1")
        assert status == 200 and b"IQG07" in body and headers["x-read-from"] == "replica-1"
        old = _tilejson_version(cache)
        assert _replica_version(replica) == old
        old_tiles = {}
        for t in TILES:
            _get_ci(f"{cache}/tiles/districts/{t}.mvt?v={old}")  # MISS: the worker makes it, nginx keeps it
            status, headers, body = _get_ci(f"{cache}/tiles/districts/{t}.mvt?v={old}")
            assert status == 200 and headers["x-cache-status"] == "HIT" and headers["x-data-version"] == str(old)
            old_tiles[t] = body

        # the next round, imported through the primary
        primary = f"postgresql://atlas:{password}@127.0.0.1:{state['primary']['port']}/dtm_atlas"
        imp = subprocess.Popen(
            [*cli, "import", "masterlist", "--population", "idp", str(second)],
            env=dict(env, DATABASE_URL=primary), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        replayed = served = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and served is None:
            now = time.monotonic()
            if replayed is None and _replica_version(replica) > old:
                replayed = now
            if replayed is not None and _tilejson_version(cache) > old:
                served = time.monotonic()
            time.sleep(0.02)
        assert imp.wait(60) == 0, imp.stderr.read().decode()[-2000:]
        assert replayed is not None and served is not None, "the replica never replayed the import"
        print(f"the cache named the new version {served - replayed:.2f} s after the replica replayed it")
        assert served - replayed <= 1.0, f"the cache named the new version {served - replayed:.2f} s after replay"

        new = _tilejson_version(cache)
        changed = 0
        for t in TILES:
            status, headers, body = _get_ci(f"{cache}/tiles/districts/{t}.mvt?v={new}")
            assert status == 200 and headers["x-data-version"] == str(new)
            assert headers["x-read-from"] == "replica-1" and headers["x-cache-status"] == "MISS"
            changed += body != old_tiles[t]
            # the old URL still answers the old round's bytes (kept, nothing purged)
            status, headers, body = _get_ci(f"{cache}/tiles/districts/{t}.mvt?v={old}")
            assert headers["x-cache-status"] == "HIT" and headers["x-data-version"] == str(old)
            assert body == old_tiles[t]
        assert changed, "the new round's tiles hold the same bytes as the old round's"
        processes = _cluster_tree(data_dir)
        assert len(processes) >= 8, processes  # 2 workers, nginx (master + 2), PgBouncer, the replica's ...
    finally:
        down = _cluster(data_dir, "down")
        left = _alive(processes) if "processes" in locals() else []
        subprocess.run([*cli, "db", "stop"], env=env, capture_output=True, cwd=ROOT)
        left += _pids_under(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert not left, left

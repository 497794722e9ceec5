"""Crash safety: the PostgreSQL postmaster is killed (SIGKILL) in the middle of a large
``dtm-atlas import masterlist``; the first ``dtm-atlas db start`` then succeeds and reports the
recovery; the earlier round is intact, and nothing of the interrupted import is visible."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from service import db
from service.pgembed import EmbeddedPostgres
from tests.conftest import COD_AB, MASTERLISTS

ROWS = 200_000  # about 5-10 s of import on a 2-CPU machine
CLI = Path(sys.executable).with_name("dtm-atlas")


def snapshot(url: str) -> dict:
    """What must survive: the tables and their row counts, the rounds, the committed imports, figures."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            tables = sorted(
                c.execute(
                    text(
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'spatial_ref_sys'"
                    )
                ).scalars()
            )
            out = {
                "tables": tables,
                "counts": {t: c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables},
                "rounds": [
                    tuple(r)
                    for r in c.execute(
                        text("SELECT id, country, population, round_number, reporting_date FROM round ORDER BY id")
                    )
                ],
                "imports": [
                    tuple(r)
                    for r in c.execute(
                        text(
                            "SELECT id, kind, file_name, outcome FROM import_log "
                            "WHERE outcome <> 'rejected' ORDER BY id"
                        )
                    )
                ],
                "figures": [
                    tuple(r)
                    for r in c.execute(
                        text(
                            "SELECT round_id, level, sum(families), sum(individuals), count(*) FROM unit_figure "
                            "GROUP BY 1, 2 ORDER BY 1, 2"
                        )
                    )
                ],
                "version": c.execute(text("SELECT version FROM data_version")).scalar(),
            }
    finally:
        engine.dispose()
    return out


@pytest.fixture
def cluster_dir():
    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-crash-"))
    tmp.chmod(0o755)
    yield tmp
    EmbeddedPostgres(tmp).stop()
    if not os.environ.get("DTM_ATLAS_KEEP_CRASH_DIR"):
        shutil.rmtree(tmp, ignore_errors=True)


def test_sigkill_during_import_loses_nothing_committed(cluster_dir):
    from bench.ingest_bench import synthetic_csv
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.rounds import import_masterlist

    pg = EmbeddedPostgres(cluster_dir)
    url = pg.start()
    engine = create_engine(url)
    db.migrate(engine)
    for f in sorted(COD_AB.glob("*.geojson")):
        import_boundaries(engine, read_boundaries(f))
    import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv", population="idp")
    big = cluster_dir / "synthetic_masterlist.csv"
    synthetic_csv(engine, big, ROWS)
    engine.dispose()
    before = snapshot(url)
    assert [r[3] for r in before["rounds"]] == [86]

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DTM_ATLAS_DATABASE_URL")}
    env["DTM_ATLAS_DATA_DIR"] = str(cluster_dir)
    proc = subprocess.Popen(
        [str(CLI), "import", "masterlist", str(big), "--population", "idp", "--round", "130"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # kill when the import has been writing for a while: its backend active past the COPY
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    t0, active_since = time.monotonic(), None
    with psycopg.connect(dsn, autocommit=True) as watch:
        while time.monotonic() - t0 < 60:
            busy = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state = 'active' AND query !~* '^\\s*copy'"
            ).fetchone()[0]
            if busy and active_since is None:
                active_since = time.monotonic()
            if active_since is not None and time.monotonic() - active_since > 1.5:
                break
            assert proc.poll() is None, f"the import ended before it could be interrupted: {proc.stdout.read()}"
            time.sleep(0.05)
    assert proc.poll() is None, "the import ended before it could be interrupted"
    postmaster = int((pg.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    os.kill(postmaster, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out

    # the first start succeeds (the dead server's backends may still be running when it begins)
    started = subprocess.run([str(CLI), "db", "start"], env=env, capture_output=True, text=True, timeout=180)
    log = (pg.pgdata / "server.log").read_text(errors="replace")[-3000:]
    assert started.returncode == 0, started.stdout + started.stderr + log
    assert "recovered" in started.stdout and "embedded PostgreSQL running" in started.stdout, started.stdout

    after = snapshot(EmbeddedPostgres(cluster_dir).url())
    assert after == before  # same tables, rows, rounds, committed imports, figures, data version
    assert 130 not in [r[3] for r in after["rounds"]]

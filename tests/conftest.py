"""Test session database: a real PostGIS.

With DATABASE_URL set, tests create (and drop) their own databases on that server; otherwise
the session starts a throw-away embedded cluster in a temporary folder (~2 s). A migrated
template database is cloned for each test that needs a pristine database.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from service import db, kinds
from service.core.settings import Settings
from service.pgembed import EmbeddedPostgres

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
COD_AB = SHARED / "irq_cod_ab"
MASTERLISTS = SHARED / "dtm_iraq_masterlists"
_counter = itertools.count()
kinds.install()  # the layer registry, as create_app and the CLI install it (tests read publishers directly)


@pytest.fixture(scope="session")
def pg_server():
    """A server URL (without database) the tests may create databases on."""
    url = os.environ.get("DATABASE_URL") or os.environ.get("DTM_ATLAS_DATABASE_URL")
    if url:
        yield make_url(db.normalise_url(url))
        return
    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-test-"))
    tmp.chmod(0o755)  # the postgres user must reach the cluster folder when we are root
    pg = EmbeddedPostgres(tmp)
    pg.start()
    yield make_url(pg.url())
    pg.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def _admin_dsn(url) -> str:
    return url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


def create_database(server_url, name: str, template: str | None = None) -> str:
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return server_url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url, name: str) -> None:
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def cloned_engine(server_url, template: str | None, prefix: str = "dtm_atlas_test"):
    """A database of its own (a copy of ``template``, or empty), dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    engine = create_engine(create_database(server_url, name, template))
    try:
        yield engine
    finally:
        engine.dispose()
        drop_database(server_url, name)


def settings_for(engine, **overrides) -> Settings:
    """The app's settings over ``engine`` (its URL with the password) and the shared data."""
    # one test client makes many maps in a minute: the anonymous rate limit is tested on its own
    overrides.setdefault("anon_renders_per_minute", 0)
    return Settings(database_url=engine.url.render_as_string(hide_password=False), shared_data_dir=SHARED, **overrides)


@contextlib.contextmanager
def client_for(engine):
    """A TestClient of the app over ``engine``."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(settings_for(engine), engine)) as c:
        yield c


@pytest.fixture(scope="session")
def template_db(pg_server):
    name = f"dtm_atlas_test_template_{os.getpid()}"
    url = create_database(pg_server, name)
    engine = create_engine(url)
    db.migrate(engine)
    engine.dispose()
    yield name
    drop_database(pg_server, name)


@pytest.fixture
def fresh_engine(pg_server, template_db):
    """A pristine migrated database for one test."""
    with cloned_engine(pg_server, template_db) as engine:
        yield engine


@pytest.fixture(scope="session")
def iraq_engine(pg_server, iraq_template):
    """A database with the four Iraq COD-AB levels imported (shared: tests must not modify it)."""
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_iraq") as engine:
        yield engine


@pytest.fixture(scope="session")
def iraq_template(pg_server, template_db):
    """A template database holding the four Iraq levels (no connections kept open)."""
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries

    name = f"dtm_atlas_test_iraq_tpl_{os.getpid()}"
    engine = create_engine(create_database(pg_server, name, template_db))
    for f in sorted(COD_AB.glob("*.geojson")):
        import_boundaries(engine, read_boundaries(f))
    engine.dispose()
    yield name
    drop_database(pg_server, name)


@pytest.fixture(scope="session")
def round120_template(pg_server, iraq_template):
    """A template database: Iraq's boundaries and the IDP master list of round 120 (February 2021)
    imported once, for the tests that write beside a real round (the leak walk, the fuzzer)."""
    from service.ingest.rounds import import_masterlist

    name = f"dtm_atlas_test_r120_tpl_{os.getpid()}"
    engine = create_engine(create_database(pg_server, name, iraq_template))
    import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp")
    engine.dispose()
    yield name
    drop_database(pg_server, name)


@pytest.fixture
def iraq_fresh_engine(pg_server, iraq_template):
    """A database of one's own with the Iraq boundaries loaded, for tests that import figures."""
    with cloned_engine(pg_server, iraq_template) as engine:
        yield engine


@pytest.fixture(scope="session")
def iraq_settings(iraq_engine) -> Settings:
    return settings_for(iraq_engine)


@pytest.fixture(scope="session")
def client(iraq_engine):
    with client_for(iraq_engine) as c:
        yield c


# the three real master lists and the round numbers DTM gave them (see service/data/known_rounds.csv)
REAL_ROUNDS = [
    ("IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv", "idp"),
    ("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "idp"),
    ("Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "returnee"),
]


@pytest.fixture(scope="session")
def figures_engine(pg_server, iraq_template):
    """Iraq boundaries plus the three real master lists imported (shared: tests must not modify it)."""
    from service.ingest.rounds import import_masterlist

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_figures") as engine:
        for fname, population in REAL_ROUNDS:
            import_masterlist(engine, MASTERLISTS / fname, population=population)
        yield engine


@pytest.fixture(scope="session")
def figures_client(figures_engine):
    with client_for(figures_engine) as c:
        yield c


@contextlib.contextmanager
def serve_app(engine):
    """The service over ``engine`` served by uvicorn on a free 127.0.0.1 port, in a thread;
    yields its base URL. For tests that drive real clients (GDAL, dtmapi, Chromium)."""
    import uvicorn

    from service.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings_for(engine, log_level="warning"), engine),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="dtm-atlas-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def figures_url(figures_engine):
    """Base URL of the service over the real figures, for real HTTP clients."""
    with serve_app(figures_engine) as url:
        yield url

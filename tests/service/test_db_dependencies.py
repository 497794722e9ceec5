"""The routes' database dependencies (service/api/common.py): ``Conn`` and ``DbEngine`` read
where the request reads (a replica for GET with replicas set), ``PrimaryEngine`` is the
primary whatever the method (what a GET writes: the audit of restricted reads, a stored
fragility run)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from service.api.common import Conn, DbEngine, PrimaryEngine
from service.app import create_app
from tests.conftest import cloned_engine, settings_for


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_get_reads_the_replica_and_writes_the_primary(pg_server, template_db):
    with cloned_engine(pg_server, template_db) as primary, cloned_engine(pg_server, template_db) as replica:
        app = create_app(settings_for(primary, read_database_urls=[_url(replica)]), primary)

        @app.get("/_probe")
        def probe(conn: Conn, read: DbEngine, write: PrimaryEngine):
            return {
                "conn": conn.execute(text("SELECT current_database()")).scalar_one(),
                "read": read.url.database,
                "write": write.url.database,
            }

        @app.post("/_probe")
        def probe_post(read: DbEngine, write: PrimaryEngine):
            return {"read": read.url.database, "write": write.url.database}

        with TestClient(app) as c:
            got = c.get("/_probe").json()
            assert got == {"conn": replica.url.database, "read": replica.url.database, "write": primary.url.database}
            posted = c.post("/_probe").json()
            assert posted == {"read": primary.url.database, "write": primary.url.database}

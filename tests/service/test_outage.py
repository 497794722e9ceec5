"""Database outages under a running app: the embedded cluster is stopped and started again
while uvicorn serves. Meanwhile the data endpoints answer 503 JSON with Retry-After, /health
says the database is unreachable; within 5 s of the database's return everything answers again
by itself (the SQLAlchemy pool pings, the tile pools start afresh)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from service import db
from service.core.settings import Settings
from service.pgembed import EmbeddedPostgres
from tests.conftest import COD_AB, serve_app

DATA_PATHS = [
    "/rounds",
    "/admin-units?level=1&limit=5",
    "/boundaries/1.geojson?zoom=4",
    "/v2/CountryList",
    "/ogc/collections/admin1/items?limit=2",
    "/tiles/governorates/5/19/12.mvt",
    "/tiles/governorates.json",
]


@pytest.fixture
def own_cluster():
    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-outage-"))
    tmp.chmod(0o755)
    pg = EmbeddedPostgres(tmp)
    try:
        yield pg, pg.start()
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_outage_503_then_recovery_within_5s(own_cluster):
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries

    pg, url = own_cluster
    engine = db.get_engine(Settings(database_url=url))  # the service's own engine (pool_pre_ping)
    db.migrate(engine)
    import_boundaries(engine, read_boundaries(COD_AB / "irq_admbnda_adm1_cso_20190603.geojson"))
    with serve_app(engine) as base, httpx.Client(base_url=base, timeout=30) as http:
        for path in DATA_PATHS + ["/health"]:
            assert http.get(path).status_code in (200, 204), path
        tile_before = http.get("/tiles/governorates/4/9/6.mvt")  # a tile from the pools' connections
        assert tile_before.status_code == 200

        pg.stop()
        for path in DATA_PATHS + ["/tiles/governorates/6/39/25.mvt"]:
            t0 = time.monotonic()
            r = http.get(path)
            assert r.status_code == 503, (path, r.status_code, r.text[:200])
            assert r.headers["retry-after"] == "5", path
            body = r.json()
            detail = body.get("detail") or body.get("errorMessages", [""])[0]
            assert "database is unavailable" in detail, (path, body)
            assert time.monotonic() - t0 < 5, f"{path} took {time.monotonic() - t0:.1f} s to answer 503"
        health = http.get("/health")
        assert health.status_code == 503 and health.headers["retry-after"] == "5"
        assert health.json()["database"] == "unreachable" and "unavailable" in health.json()["detail"]

        pg.start()
        back = time.monotonic()
        pending = set(DATA_PATHS + ["/health", "/tiles/governorates/6/40/25.mvt"])
        while pending and time.monotonic() - back < 5:
            for path in sorted(pending):
                if http.get(path).status_code in (200, 204):
                    pending.discard(path)
            time.sleep(0.1)
        assert not pending, f"not recovered 5 s after the database came back: {sorted(pending)}"
        assert http.get("/health").json()["status"] == "ok"
        # the tile pools answer again with real tiles (not only the cache)
        again = http.get("/tiles/governorates/4/9/6.mvt", headers={"if-none-match": ""})
        assert again.status_code == 200 and again.content == tile_before.content
    engine.dispose()

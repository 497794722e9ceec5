"""The read split (service/api/reads.py, service/core/replicas.py, tiles/service.py): with
``DTM_ATLAS_READ_DATABASE_URLS`` GET answers are read from a replica, in one snapshot, at the
version that replica shows; nothing is cached under a version the replica has not replayed; a
replica past the lag limit is out of reads. The "replicas" here are real PostgreSQL databases
whose data versions the tests set; the real streaming replica with
``recovery_min_apply_delay`` is tests/deploy/test_delayed_replica.py."""

from __future__ import annotations

import time

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text

from service.app import create_app
from service.core.settings import Settings
from tests.conftest import cloned_engine, settings_for


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _set_version(engine, version: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE data_version SET version = :v"), {"v": version})


def _version(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM data_version")).scalar_one()


def test_settings_read_urls_and_lag_are_checked(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://atlas:pw@primary/dtm")
    monkeypatch.setenv("DTM_ATLAS_READ_DATABASE_URLS", "postgresql://atlas:pw@r1/dtm, postgres://atlas:pw@r2:6432/dtm")
    monkeypatch.setenv("DTM_ATLAS_REPLICA_MAX_LAG_S", "2.5")
    s = Settings()
    assert s.read_database_urls == ["postgresql://atlas:pw@r1/dtm", "postgres://atlas:pw@r2:6432/dtm"]
    assert s.replica_max_lag_s == 2.5
    monkeypatch.setenv("DTM_ATLAS_READ_DATABASE_URLS", "mysql://atlas@r1/dtm")
    with pytest.raises(ValidationError, match="not a PostgreSQL URL"):
        Settings()
    monkeypatch.setenv("DTM_ATLAS_READ_DATABASE_URLS", "postgresql://r1/dtm,postgresql://r1/dtm")
    with pytest.raises(ValidationError, match="twice"):
        Settings()
    monkeypatch.setenv("DTM_ATLAS_READ_DATABASE_URLS", "postgresql://r1/dtm")
    monkeypatch.setenv("DTM_ATLAS_REPLICA_MAX_LAG_S", "0")
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings()
    monkeypatch.delenv("DTM_ATLAS_REPLICA_MAX_LAG_S")
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(ValidationError, match="needs DATABASE_URL"):
        Settings(_env_file=None)
    monkeypatch.delenv("DTM_ATLAS_READ_DATABASE_URLS")
    assert Settings(_env_file=None).read_database_urls == []


def test_only_database_url_reads_the_primary_as_before(client):
    resp = client.get("/admin-units", params={"level": 1})
    assert resp.status_code == 200
    assert "x-read-from" not in resp.headers
    assert client.app.state.read_route is None


def test_tiles_and_choropleths_are_read_from_the_replica(pg_server, template_db, figures_engine):
    """The primary here has no figures at all: every answer with figures comes from the replica,
    through connections without prepared statements, naming the replica's version."""
    with cloned_engine(pg_server, template_db) as primary:
        replica_version = _version(figures_engine)
        _set_version(primary, replica_version)
        settings = settings_for(primary, read_database_urls=[_url(figures_engine)])
        with TestClient(create_app(settings, primary)) as c:
            tj = c.get("/tiles/governorates.json", params={"round": 120})
            assert tj.status_code == 200, tj.text
            assert tj.headers["x-read-from"] == "replica-1"
            assert tj.json()["tiles"][0].endswith(f"v={replica_version}")
            tile = c.get("/tiles/governorates/5/19/12.mvt", params={"round": 120, "v": replica_version})
            assert tile.status_code == 200
            assert tile.headers["x-read-from"] == "replica-1"
            assert tile.headers["x-data-version"] == str(replica_version)
            assert "immutable" in tile.headers["cache-control"]
            features = mapbox_vector_tile.decode(tile.content)["governorates"]["features"]
            assert any(f["properties"].get("individuals") for f in features), features[0]["properties"]
            choro = c.get("/choropleth/1.geojson", params={"round": 120})
            assert choro.status_code == 200 and choro.headers["x-read-from"] == "replica-1"
            assert choro.headers["x-data-version"] == str(replica_version)
            assert len(choro.json()["features"]) == 18
            assert "immutable" not in choro.headers["cache-control"]  # it names no version: revalidated
            versioned = c.get("/choropleth/1.geojson", params={"round": 120, "v": replica_version})
            assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert versioned.content == choro.content
            stale = c.get("/choropleth/1.geojson", params={"round": 120, "v": replica_version - 1})
            assert "immutable" not in stale.headers["cache-control"]
            # the tiles came through the replica's own tile pool, which never prepares a statement
            # (PgBouncer in transaction mode cannot keep them)
            from service.api.httpcache import get_service

            pools = [key for key in get_service(c.app)._pools if key[2] != id(primary)]
            assert pools and all(key[1] is False for key in pools)
            with figures_engine.connect() as conn:
                tile_sessions = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND application_name = 'dtm-atlas-tiles'"
                    )
                ).scalar_one()
            assert tile_sessions >= 1
            health = c.get("/health").json()
            assert health["replicas"][0]["replica"] == "replica-1" and health["replicas"][0]["in_reads"]
            # writes stay on the primary: a POST is never routed to a replica
            post = c.post("/rounds", content=b"")
            assert "x-read-from" not in post.headers


def test_never_cached_under_a_version_the_replica_lacks_and_lagging_replica_leaves(pg_server, iraq_template):
    with cloned_engine(pg_server, iraq_template) as primary, cloned_engine(pg_server, iraq_template) as replica:
        with replica.begin() as conn:  # what only the replica shows: the answer says where it was read
            conn.execute(text("UPDATE admin_unit SET name_en = 'Replica Anbar' WHERE pcode = 'IQG01'"))
        v0 = _version(primary)
        _set_version(replica, v0)
        settings = settings_for(primary, read_database_urls=[_url(replica)], replica_max_lag_s=1.0)
        with TestClient(create_app(settings, primary)) as c:

            def units():
                r = c.get("/admin-units", params={"level": 1})
                assert r.status_code == 200
                return r

            r = units()
            assert r.headers["x-read-from"] == "replica-1" and "Replica Anbar" in r.text
            geo = c.get("/choropleth/1.geojson")  # no figures: 404 from the replica, still routed
            assert geo.headers.get("x-read-from") == "replica-1"
            set_id = c.get("/webmap/countries").json()["countries"][0]["boundary_set"]["id"]
            tile = c.get(f"/webmap/geometry/{set_id}/governorates/5/19/12.mvt")
            assert tile.status_code == 200 and tile.headers["x-data-version"] == str(v0)

            # the primary moves on (an import commits); the replica has not replayed it yet
            _set_version(primary, v0 + 1)
            from service.api.httpcache import get_service

            service = get_service(c.app)
            assert service.watcher.wait_for(v0 + 1, timeout=5)
            tile = c.get(f"/webmap/geometry/{set_id}/governorates/5/19/11.mvt")
            assert tile.headers["x-data-version"] == str(v0), "answered at the version the replica shows"
            assert tile.headers["x-read-from"] == "replica-1"
            keys = list(service.cache._data)
            assert keys and not [k for k in keys if k.startswith(f"v{v0 + 1}:")], keys

            # the replica replays it: the new version is served (and cached) from the replica
            _set_version(replica, v0 + 1)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                tile = c.get(f"/webmap/geometry/{set_id}/governorates/5/19/11.mvt")
                if tile.headers["x-data-version"] == str(v0 + 1):
                    break
                time.sleep(0.06)
            assert tile.headers["x-data-version"] == str(v0 + 1) and tile.headers["x-read-from"] == "replica-1"
            assert [k for k in service.cache._data if k.startswith(f"v{v0 + 1}:")]

            # a replica that stays behind past the lag limit (1 s) leaves reads: the primary answers
            _set_version(primary, v0 + 2)
            assert service.watcher.wait_for(v0 + 2, timeout=5)
            r = units()
            assert r.headers["x-read-from"] == "replica-1" and r.headers.get("x-data-version") is None
            time.sleep(1.2)
            r = units()
            assert r.headers["x-read-from"] == "primary" and "Replica Anbar" not in r.text
            tile = c.get(f"/webmap/geometry/{set_id}/governorates/5/19/10.mvt")
            assert tile.headers["x-read-from"] == "primary" and tile.headers["x-data-version"] == str(v0 + 2)
            status = c.get("/health").json()["replicas"][0]
            assert status["in_reads"] is False and status["version"] == v0 + 1 and status["lag_s"] > 1.0

            # it catches up: back in reads by itself
            _set_version(replica, v0 + 2)
            time.sleep(0.06)
            r = units()
            assert r.headers["x-read-from"] == "replica-1" and "Replica Anbar" in r.text

"""Tile caches: the in-process LRU, Redis (a real redis-server), the version in every key."""

from __future__ import annotations

import gzip
import shutil
import socket
import subprocess
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.api.httpcache import ETAG_LEN
from service.app import create_app
from service.core.settings import Settings
from tests.conftest import COD_AB
from tests.tiles import BAGHDAD, by_pcode, decode, tile_at
from tiles.cache import CacheConfig, LRUCache, NoCache, RedisCache, make_cache
from tiles.service import TileService


# ------------------------------------------------------------------------------------ LRU
def test_lru_evicts_least_recently_used_by_bytes():
    cache = LRUCache(max_bytes=3 * (100 + 64 + 2))
    for key in ("k1", "k2", "k3"):
        cache.set_sync(key, b"x" * 100)
    assert cache.get_sync("k1") is not None  # k1 becomes the most recent
    cache.set_sync("k4", b"y" * 100)
    assert cache.get_sync("k2") is None
    assert all(cache.get_sync(k) is not None for k in ("k1", "k3", "k4"))
    cache.set_sync("huge", b"z" * 10_000)  # larger than the whole cache: not stored
    assert cache.get_sync("huge") is None
    assert cache.stats()["entries"] == 3


def test_lru_drops_everything_on_a_newer_version():
    cache = LRUCache(max_bytes=1 << 20)
    cache.new_version(3)
    cache.set_sync("v3:a", b"a")
    cache.new_version(3)
    assert cache.get_sync("v3:a") == b"a"
    cache.new_version(4)
    assert cache.get_sync("v3:a") is None and cache.stats()["bytes"] == 0


def test_cache_config_from_env(monkeypatch):
    from service.core.settings import Settings

    def from_env(env: dict) -> CacheConfig:
        for name in ("DTM_ATLAS_TILE_CACHE_MB", "REDIS_URL", "DTM_ATLAS_REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return CacheConfig.from_settings(Settings())

    assert isinstance(make_cache(from_env({})), LRUCache)
    assert type(make_cache(from_env({"DTM_ATLAS_TILE_CACHE_MB": "0"}))) is NoCache
    cfg = from_env({"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert cfg.redis_url == "redis://127.0.0.1:1/0" and isinstance(make_cache(cfg), RedisCache)
    cfg = from_env({"REDIS_URL": "redis://a:1/0", "DTM_ATLAS_REDIS_URL": "redis://b:2/0"})
    assert cfg.redis_url == "redis://b:2/0"


def test_no_cache_still_serves_tiles(iraq_settings, iraq_engine):
    app = create_app(iraq_settings, iraq_engine)
    app.state.tiles = TileService(iraq_engine, CacheConfig(None, 0, 60, 0))
    z, x, y = tile_at(*BAGHDAD, 7)
    with TestClient(app) as client:
        first = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")
        second = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt", headers={"accept-encoding": "identity"})
        again = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt", headers={"if-none-match": first.headers["etag"]})
    assert first.status_code == second.status_code == 200
    assert second.headers["x-tile-cache"] == "off" and "content-encoding" not in second.headers
    assert first.headers["content-encoding"] == "gzip"
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    assert again.status_code == 304


def test_max_age_setting(iraq_settings, iraq_engine):
    app = create_app(iraq_settings, iraq_engine)
    app.state.tiles = TileService(iraq_engine, CacheConfig(None, 16, 60, 120))
    with TestClient(app) as client:
        z, x, y = tile_at(*BAGHDAD, 6)
        assert client.get(f"/tiles/governorates/{z}/{x}/{y}.mvt").headers["cache-control"] == "public, max-age=120"


# ---------------------------------------------------------------------------------- Redis
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server): Redis cache not tested")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def _redis_keys(url: str) -> dict[bytes, bytes]:
    import redis

    r = redis.Redis.from_url(url)
    try:
        return {k: r.get(k) for k in r.scan_iter("dtm-atlas:tile:*")}
    finally:
        r.close()


def test_redis_cache_and_version_bump(redis_url, fresh_engine):
    """Tiles are stored in Redis (gzip, behind their ETag); a data change with its version
    bump (what every import does, in one transaction) makes the next request a miss with the
    new content under a new key."""
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries

    import_boundaries(fresh_engine, read_boundaries(next(COD_AB.glob("*adm1*.geojson"))))
    url = fresh_engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, log_level="warning"), fresh_engine)
    app.state.tiles = TileService(fresh_engine, CacheConfig(redis_url, 0, 600, 0))
    z, x, y = tile_at(*BAGHDAD, 6)
    path = f"/tiles/governorates/{z}/{x}/{y}.mvt"
    with TestClient(app) as client:
        first = client.get(path)
        assert first.status_code == 200 and first.headers["x-tile-cache"] == "miss"
        second = client.get(path)
        assert second.headers["x-tile-cache"] == "hit"
        assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
        stored = _redis_keys(redis_url)
        assert len(stored) == 1
        ((key, value),) = stored.items()
        version = int(first.headers["x-data-version"])
        assert key.decode().startswith(f"dtm-atlas:tile:v{version}:")
        assert f'W/"{value[:ETAG_LEN].decode()}"' == first.headers["etag"]
        assert gzip.decompress(value[ETAG_LEN:]) == first.content

        # a 'second app' (another worker) shares the entries
        other = create_app(Settings(database_url=url, log_level="warning"), fresh_engine)
        other.state.tiles = TileService(fresh_engine, CacheConfig(redis_url, 0, 600, 0))
        with TestClient(other) as c2:
            assert c2.get(path).headers["x-tile-cache"] == "hit"

        with fresh_engine.begin() as conn:  # like an import: data and version in one transaction
            conn.execute(text("UPDATE admin_unit SET name_en = 'Baghdad (renamed)' WHERE pcode = 'IQG08'"))
            new_version = conn.execute(
                text("UPDATE data_version SET version = version + 1 RETURNING version")
            ).scalar_one()
        assert app.state.tiles.watcher.wait_for(new_version, 5)
        third = client.get(path)
        assert third.headers["x-tile-cache"] == "miss"
        assert int(third.headers["x-data-version"]) == new_version
        assert by_pcode(decode(third.content)["governorates"])["IQG08"]["name_en"] == "Baghdad (renamed)"
        assert len(_redis_keys(redis_url)) == 2


def test_redis_down_still_serves(iraq_settings, iraq_engine):
    app = create_app(iraq_settings, iraq_engine)
    app.state.tiles = TileService(iraq_engine, CacheConfig(f"redis://127.0.0.1:{_free_port()}/0", 0, 60, 0))
    z, x, y = tile_at(*BAGHDAD, 6)
    with TestClient(app) as client:
        for _ in range(2):
            r = client.get(f"/tiles/governorates/{z}/{x}/{y}.mvt")
            assert r.status_code == 200 and r.headers["x-tile-cache"] == "miss"
    assert app.state.tiles.cache.errors >= 2


# ---------------------------------------------------------------------------------- sites
def test_sites_layer(fresh_engine):
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                """
            INSERT INTO site (country, site_id, name_en, name_ar, site_type, status, households, individuals, geom,
                              adm1, adm2, adm3)
            VALUES ('IRQ', 'IQ-S-001', 'Ashti camp', 'مخيم آشتي', 'camp', 'open', 2000, 10000,
                    ST_SetSRID(ST_MakePoint(45.8, 35.55), 4326), 'IQG06', 'IQG06Q01', 'IQG06Q01N01'),
                   ('IRQ', 'IQ-S-002', 'Baghdad site', 'موقع بغداد', 'informal', 'open', 30, 180,
                    ST_SetSRID(ST_MakePoint(44.37, 33.31), 4326), 'IQG08', 'IQG08Q03', NULL)
            """
            )
        )
    url = fresh_engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url, log_level="warning"), fresh_engine)) as c:
        z, x, y = tile_at(45.8, 35.55, 9)
        feats = decode(c.get(f"/tiles/sites/{z}/{x}/{y}.mvt").content)["sites"]
        assert len(feats) == 1
        p = feats[0]["properties"]
        assert p == {
            "site_id": "IQ-S-001",
            "name_en": "Ashti camp",
            "name_ar": "مخيم آشتي",
            "site_type": "camp",
            "status": "open",
            "households": 2000,
            "individuals": 10000,
            "adm1": "IQG06",
            "adm2": "IQG06Q01",
            "adm3": "IQG06Q01N01",
        }
        assert feats[0]["geometry"]["type"] == "Point"
        z, x, y = tile_at(44.37, 33.31, 5)
        (other,) = decode(c.get(f"/tiles/sites/{z}/{x}/{y}.mvt").content)["sites"]
        assert other["properties"]["site_id"] == "IQ-S-002"
        assert "adm3" not in other["properties"]  # null
        assert c.get("/tiles/sites/4/9/6.mvt").status_code == 204  # below the layer's minzoom


def test_tiles_survive_dropped_database_connections(iraq_settings, iraq_engine):
    """Connections of the tile pool killed (a database restart): the next tile is still made."""
    app = create_app(iraq_settings, iraq_engine)
    app.state.tiles = TileService(iraq_engine, CacheConfig(None, 0, 60, 0))
    z, x, y = tile_at(*BAGHDAD, 7)
    with TestClient(app) as client:
        first = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")
        assert first.status_code == 200
        with iraq_engine.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'dtm-atlas-tiles' AND datname = current_database()"
                )
            ).scalar_one()
        assert killed >= 1
        again = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")
        assert again.status_code == 200 and again.content == first.content
    app.state.tiles.close()


def test_cache_config_from_settings():
    from service.core.settings import Settings, TileSettings

    assert type(make_cache(CacheConfig.from_settings(Settings(tiles=TileSettings(cache_mb=0))))) is NoCache
    cfg = CacheConfig.from_settings(Settings(REDIS_URL="redis://127.0.0.1:1/0", tiles=TileSettings(max_age=60)))
    assert cfg.redis_url == "redis://127.0.0.1:1/0" and cfg.max_age_s == 60


def test_tile_connections_do_not_pile_up_across_event_loops(iraq_settings, iraq_engine):
    """Without its lifespan a TestClient runs each request on a new event loop: the tile pool
    of an ended loop is let go, so the database does not collect one connection per request."""
    import gc

    app = create_app(iraq_settings, iraq_engine)
    app.state.tiles = TileService(iraq_engine, CacheConfig(None, 0, 60, 0))
    client = TestClient(app)  # no 'with': no lifespan, a new loop per request
    z, x, y = tile_at(*BAGHDAD, 6)
    for _ in range(12):
        assert client.get(f"/tiles/districts/{z}/{x}/{y}.mvt").status_code == 200
    gc.collect()
    with iraq_engine.connect() as conn:
        open_tile_connections = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dtm-atlas-tiles' "
                "AND datname = current_database()"
            )
        ).scalar()
    assert open_tile_connections <= 2
    assert len(app.state.tiles._pools) <= 2

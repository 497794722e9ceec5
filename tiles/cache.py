"""Tile caches (in-process LRU or Redis) and the data-version watcher.

Cache keys carry the ``data_version`` (bumped by every import, in the import's transaction),
so an import makes every older entry unreachable: no tile is served stale after an import.

Reading the version cheaply: a ``VersionWatcher`` thread LISTENs on the channel
``dtm_atlas_data_version``, which the trigger of migration 0003 notifies on every bump (at
commit, in commit order). Requests read the version from memory, with no database round
trip: a cached tile costs no query at all. The watcher also re-reads the version every
``RECHECK_S`` seconds as a safety net. When it is not connected (database restarting, the
trigger missing) requests fall back to reading the version themselves, once per request.

Configuration: ``Settings.redis_url`` and ``Settings.tiles`` (service/core/settings.py: the
variables ``DTM_ATLAS_REDIS_URL`` or ``REDIS_URL`` and ``DTM_ATLAS_TILE_*``, also from .env).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine

from service.core.logs import log
from service.core.versioncache import MISSING, VersionCache

logger = logging.getLogger("dtm_atlas.tiles")

NOTIFY_CHANNEL = "dtm_atlas_data_version"
TRIGGER_NAME = "data_version_notify"
RECHECK_S = 5.0


@dataclass(frozen=True)
class CacheConfig:
    redis_url: str | None
    lru_mb: float
    redis_ttl_s: int
    max_age_s: int
    db_connections: int = 10

    @classmethod
    def from_settings(cls, settings) -> CacheConfig:
        """From the service settings (service/core/settings.py)."""
        tiles = settings.tiles
        return cls(
            redis_url=settings.redis_url,
            lru_mb=tiles.cache_mb,
            redis_ttl_s=tiles.cache_ttl,
            max_age_s=tiles.max_age,
            db_connections=tiles.db_connections,
        )


# ------------------------------------------------------------------------------------ caches
class NoCache:
    name = "off"

    async def get(self, key: str) -> bytes | None:
        return None

    async def set(self, key: str, value: bytes) -> None:
        return None

    def new_version(self, version: int) -> None:
        return None

    def stats(self) -> dict:
        return {"backend": self.name}

    async def aclose(self) -> None:
        return None


class LRUCache(NoCache):
    """In-process LRU bounded in bytes: the base layer's ``VersionCache`` of the stored (gzip)
    bodies, keyed by ``versioncache.entry_key``; a newer data version frees it at once."""

    name = "memory"

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._store = VersionCache(max_bytes=max_bytes, sizeof=lambda key, value: len(value) + len(key) + 64)

    def get_sync(self, key: str) -> bytes | None:
        value = self._store.peek(self._store.version, key)
        return None if value is MISSING else value

    def set_sync(self, key: str, value: bytes) -> None:
        self._store.put(None, key, value)  # (the key names its version)

    async def get(self, key: str) -> bytes | None:
        return self.get_sync(key)

    async def set(self, key: str, value: bytes) -> None:
        self.set_sync(key, value)

    def new_version(self, version: int) -> None:
        """A newer data version makes every entry unreachable: free the memory now."""
        self._store.see(version)

    @property
    def hits(self) -> int:
        return self._store.hits

    @property
    def misses(self) -> int:
        return self._store.misses

    def stats(self) -> dict:
        return {
            "backend": self.name,
            "entries": len(self._store),
            "bytes": self._store.bytes,
            "max_bytes": self.max_bytes,
            "hits": self._store.hits,
            "misses": self._store.misses,
        }


class RedisCache(NoCache):
    """Redis (shared by every worker and server). Entries expire after ``ttl_s``; the keys
    of older data versions are never read again and age out."""

    name = "redis"
    PREFIX = "dtm-atlas:tile:"

    def __init__(self, url: str, ttl_s: int):
        self.url = url
        self.ttl_s = ttl_s
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one client per event loop
        self.errors = 0

    def _client(self):
        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._clients[loop] = client
        return client

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._client().get(self.PREFIX + key)
        except Exception as exc:  # a cache outage must not fail tiles: compute them instead
            self._error(exc)
            return None

    async def set(self, key: str, value: bytes) -> None:
        try:
            await self._client().set(self.PREFIX + key, value, ex=self.ttl_s)
        except Exception as exc:
            self._error(exc)

    def _error(self, exc: Exception) -> None:
        self.errors += 1
        if self.errors in (1, 10, 100) or self.errors % 1000 == 0:
            log(logger, "redis tile cache unavailable", logging.WARNING, error=repr(exc), errors=self.errors)

    def stats(self) -> dict:
        return {"backend": self.name, "url": _redact(self.url), "errors": self.errors}

    async def aclose(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


def _redact(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1) if "://" in url else ("", url)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def make_cache(config: CacheConfig) -> NoCache:
    if config.redis_url:
        return RedisCache(config.redis_url, config.redis_ttl_s)
    if config.lru_mb <= 0:
        return NoCache()
    return LRUCache(int(config.lru_mb * 1024 * 1024))


# ----------------------------------------------------------------------------- data version
def conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class VersionWatcher:
    """Keeps ``version`` current by LISTENing for the data-version trigger's notifications.

    ``version`` is ``None`` while the watcher is not known to be current (not connected yet,
    connection lost, no trigger): callers then read the version from the database.
    """

    def __init__(self, engine: Engine, recheck_s: float = RECHECK_S, give_up_after_s: float = 60.0):
        self._conninfo = conninfo(engine)
        self._engine_ref = weakref.ref(engine)
        self.recheck_s = recheck_s
        self.give_up_after_s = give_up_after_s
        self._version: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_start = 0.0
        self.reason = "not started"
        self.changed = threading.Condition()

    @property
    def version(self) -> int | None:
        return self._version

    def ensure_running(self) -> None:
        """Start (or restart, at most every few seconds) the listener thread."""
        t = self._thread
        if t is not None and t.is_alive():
            return
        with self._lock:
            t = self._thread
            if (t is not None and t.is_alive()) or time.monotonic() - self._last_start < 5.0:
                return
            self._last_start = time.monotonic()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dtm-atlas-version-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._set(None, "stopped")

    def wait_for(self, version: int, timeout: float = 5.0) -> bool:
        """Block until the watcher has seen ``version`` (or newer); for tests and tools."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self._version is None or self._version < version:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def _set(self, version: int | None, reason: str) -> None:
        with self.changed:
            if version is not None and self._stop.is_set():
                return  # stopping: never claim to be current again
            if version is not None and self._version is not None and version < self._version:
                return  # notifications arrive in commit order; never go back
            self._version = version
            self.reason = reason
            self.changed.notify_all()

    def _run(self) -> None:
        import psycopg

        failing_since: float | None = None
        delay = 0.2
        while not self._stop.is_set():
            if self._engine_ref() is None:
                break
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    has_trigger = conn.execute(
                        "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = %s)", (TRIGGER_NAME,)
                    ).fetchone()[0]
                    if not has_trigger:
                        # without the trigger nothing notifies us: let requests read the version
                        self._set(None, "no data_version trigger (migration 0003 not applied)")
                        self._stop.wait(30.0)
                        continue
                    failing_since, delay = None, 0.2
                    self._set(self._read(conn), "listening")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self.recheck_s):
                            try:
                                self._set(int(note.payload), "listening")
                            except ValueError:
                                self._set(self._read(conn), "listening")
                        if self._engine_ref() is None:
                            break
                        self._set(self._read(conn), "listening")  # safety net, every recheck_s
            except Exception as exc:  # connection lost or refused: fall back, retry with backoff
                self._set(None, f"disconnected: {type(exc).__name__}")
                if getattr(exc, "sqlstate", None) == "3D000":
                    break  # the database is gone (dropped): nothing to watch
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > self.give_up_after_s:
                    break  # e.g. the database was dropped; a later request restarts us
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
        self._set(None, "stopped")

    @staticmethod
    def _read(conn) -> int:
        return int(conn.execute("SELECT version FROM data_version").fetchone()[0])

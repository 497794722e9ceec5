"""The one cache of what is computed from the data at a data version.

Every import bumps ``data_version`` in its own transaction (``service.core.importlog``), so a
value read at version N stays true until N moves on. :class:`VersionCache` keeps the values
of one data version at a time, the newest it has seen:

* a newer version drops every older value at once (they are unreachable: memory freed now);
* a value computed at an older version (a snapshot begun before an import) is returned to its
  caller but never kept;
* it is bounded, by entries or by bytes (``sizeof``), least recently used first out;
* it is thread-safe, and ``compute()`` runs outside its lock (readers on the event loop
  never wait for a query), so two threads missing the same key may both compute it.

Its users: the tile and HTTP caches in memory (``tiles.cache.LRUCache``, keys from
:func:`entry_key`), the tile resolver's boundary sets, rounds and legends
(``tiles.mvt.Resolver``), the publishers' extents and counts (:class:`VersionCaches`, one
cache per database). Where the version is read from (the watcher, a replica) is the
caller's business: the cache only compares versions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from service.core.importlog import data_version

T = TypeVar("T")

MISSING: Any = object()  # what peek() returns for a value it does not hold


def entry_key(version: int, name: str, *parts: object) -> str:
    """The key of an entry of a shared byte store (memory or Redis) at ``version``:
    ``v{version}:{name}:{parts...}``; an import makes every older key unreachable."""
    return ":".join((f"v{version}", name, *(str(p) for p in parts)))


class VersionCache:
    """Values of one data version at a time (see the module's docstring)."""

    def __init__(self, max_entries: int | None = None, max_bytes: int | None = None, sizeof=None):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._sizeof: Callable[[Hashable, Any], int] | None = sizeof
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._bytes = 0
        self._version: int | None = None
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def version(self) -> int | None:
        """The newest data version seen (None before the first)."""
        return self._version

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)

    def see(self, version: int) -> bool:
        """Note ``version``: a newer one drops every value held. Returns whether values of
        ``version`` may be kept (False: an older version)."""
        with self._lock:
            return self._see(version)

    def _see(self, version: int) -> bool:
        if self._version is not None and version < self._version:
            return False
        if self._version is not None and version > self._version:
            self._data.clear()
            self._bytes = 0
        self._version = version
        return True

    def peek(self, version: int | None, key: Hashable, default: Any = MISSING) -> Any:
        """The value of ``key`` at ``version`` if held (never computes, never waits on a
        query); ``default`` otherwise."""
        with self._lock:
            if self._version != version or key not in self._data:
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key]

    def put(self, version: int | None, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` at ``version`` (dropped when ``version`` is older than the
        newest seen, or too big for the bound on its own); ``None``: at the version held."""
        size = self._sizeof(key, value) if self._sizeof else 0
        if self.max_bytes is not None and size > self.max_bytes:
            return
        with self._lock:
            if version is not None and not self._see(version):
                return
            if key in self._data:
                self._bytes -= self._sizeof(key, self._data.pop(key)) if self._sizeof else 0
            self._data[key] = value
            self._bytes += size
            while self._data and (
                (self.max_entries is not None and len(self._data) > self.max_entries)
                or (self.max_bytes is not None and self._bytes > self.max_bytes)
            ):
                k, v = self._data.popitem(last=False)
                self._bytes -= self._sizeof(k, v) if self._sizeof else 0

    def get(self, version: int, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key`` at ``version``: held, or computed now by ``compute()`` (and
        kept unless ``version`` is already older than the newest seen)."""
        value = self.peek(version, key)
        if value is not MISSING:
            return value
        value = compute()
        self.put(version, key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


class VersionCaches:
    """One :class:`VersionCache` per database (each has its own data version): keyed by the
    engine's URL, for code that serves several databases in one process (tests, tools)."""

    def __init__(self, **bounds):
        self._bounds = bounds
        self._caches: dict[str, VersionCache] = {}
        self._lock = threading.Lock()

    def get(self, conn, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key`` at the data version of ``conn``'s snapshot, in its database's
        cache (one small query: the version)."""
        return self.of(conn.engine).get(data_version(conn), key, compute)

    def of(self, engine) -> VersionCache:
        url = str(engine.url)
        with self._lock:
            cache = self._caches.get(url)
            if cache is None:
                cache = self._caches[url] = VersionCache(**self._bounds)
            return cache

"""The one cache keyed by data version (service/core/versioncache.py) and its users' keeping rules."""

from __future__ import annotations

import threading

from service.core.versioncache import MISSING, VersionCache, entry_key
from tiles.cache import LRUCache
from tiles.mvt import Resolver


def test_a_newer_version_drops_every_value_and_an_older_one_is_not_kept():
    cache = VersionCache()
    calls = []

    def compute(value):
        calls.append(value)
        return value

    assert cache.get(3, "a", lambda: compute("a3")) == "a3"
    assert cache.get(3, "a", lambda: compute("again")) == "a3"  # held
    assert cache.get(4, "a", lambda: compute("a4")) == "a4"  # an import: recomputed
    assert cache.peek(3, "a") is MISSING and cache.peek(4, "a") == "a4"
    # a snapshot begun before the import: its value is returned, never kept
    assert cache.get(3, "b", lambda: compute("b3")) == "b3"
    assert cache.peek(3, "b") is MISSING and cache.peek(4, "b") is MISSING and cache.version == 4
    assert calls == ["a3", "a4", "b3"]


def test_none_is_a_value_and_bounds_evict_the_least_recently_used():
    cache = VersionCache(max_entries=2)
    assert cache.get(1, "none", lambda: None) is None
    assert cache.peek(1, "none") is None  # held: a round that does not exist is an answer too
    cache.put(1, "x", 1)
    cache.peek(1, "none")  # used: "x" is now the oldest
    cache.put(1, "y", 2)
    assert cache.peek(1, "x") is MISSING and cache.peek(1, "none") is None and cache.peek(1, "y") == 2
    by_bytes = VersionCache(max_bytes=10, sizeof=lambda k, v: len(v))
    by_bytes.put(1, "a", b"12345")
    by_bytes.put(1, "b", b"123456")
    by_bytes.put(1, "big", b"x" * 11)  # bigger than the whole bound: not kept, nothing evicted for it
    assert by_bytes.peek(1, "a") is MISSING and by_bytes.peek(1, "b") == b"123456" and by_bytes.bytes == 6


def test_compute_runs_outside_the_lock():
    cache = VersionCache()
    inside = threading.Event()
    release = threading.Event()

    def slow():
        inside.set()
        release.wait(5)
        return "slow"

    t = threading.Thread(target=lambda: cache.get(1, "slow", slow))
    t.start()
    assert inside.wait(5)
    assert cache.get(1, "fast", lambda: "fast") == "fast"  # not blocked by the slow compute
    release.set()
    t.join(5)
    assert cache.peek(1, "slow") == "slow"


def test_the_memory_tile_cache_and_the_resolver_keep_by_version():
    lru = LRUCache(max_bytes=1 << 20)
    lru.new_version(7)
    key = entry_key(7, "f3", "adm1", "5/20/12", "q")
    assert key == "v7:f3:adm1:5/20/12:q"
    lru.set_sync(key, b"tile")
    assert lru.get_sync(key) == b"tile" and lru.stats()["entries"] == 1
    lru.new_version(6)  # an older notification changes nothing
    assert lru.get_sync(key) == b"tile"
    lru.new_version(8)  # an import frees the memory at once
    assert lru.stats()["entries"] == 0 and lru.stats()["bytes"] == 0
    assert lru.stats()["hits"] == 2 and lru.stats()["misses"] == 0

    resolver = Resolver()
    assert resolver.cached(1, ("sets", "IRQ"), lambda: [1]) == [1]
    assert resolver.cached(1, ("sets", "IRQ"), lambda: [2]) == [1]
    assert resolver.cached(2, ("sets", "IRQ"), lambda: [3]) == [3]

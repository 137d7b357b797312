"""The compiler's cache policy: bounded, least recently used, thread-safe."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

from qiskit_cupy.compiler.cache import BoundedCache


def test_least_recently_used_entries_go_first() -> None:
    cache: BoundedCache[int, str] = BoundedCache(2)
    assert cache.get(1, lambda: "one") == "one"
    assert cache.get(2, lambda: "two") == "two"
    assert cache.get(1, lambda: "other") == "one"  # hit: 1 is now the most recent
    cache.get(3, lambda: "three")
    assert len(cache) == 2
    assert cache.get(1, lambda: "again") == "one"
    assert cache.get(2, lambda: "recomputed") == "recomputed"


def test_a_cache_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BoundedCache(0)


def test_concurrent_misses_of_one_key_all_get_the_stored_value() -> None:
    """Threads that miss together may each compute, but every caller gets the first stored."""
    cache: BoundedCache[str, object] = BoundedCache(8)
    barrier = threading.Barrier(16)

    def lookup(_: int) -> object:
        barrier.wait()
        return cache.get("key", object)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        values = list(pool.map(lookup, range(16)))
    stored = cache.get("key", object)
    assert all(value is stored for value in values)
    assert len(cache) == 1

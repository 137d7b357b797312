"""The compiler's one cache policy: bounded, least recently used, safe to share between threads.

Gate ops of standard gates, fitted parametric families and fusion plans are all kept
in a :class:`BoundedCache`. A value is computed outside the lock, so two threads that
miss the same key at once may both compute it; the values are equal, and the first
stored wins.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class BoundedCache(Generic[Key, Value]):
    """A thread-safe LRU map holding at most ``max_entries`` values.

    Args:
        max_entries: The most values kept; the least recently used goes first.
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key, compute: Callable[[], Value]) -> Value:
        """Return the value of ``key``, computing and keeping it on a miss.

        Args:
            key: The key.
            compute: Called without the lock held when ``key`` is missing.

        Returns:
            The cached (or newly computed) value.
        """
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            value = self._entries.setdefault(key, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

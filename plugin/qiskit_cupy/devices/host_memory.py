"""The CPU device's memory pool: buffers kept for reuse, each with one owner at a time.

Fresh memory costs a page fault per page on first touch (about 2 ms per MiB on a
small VM), so the CPU device keeps freed buffers for later jobs, as CuPy's pool does
on the GPU. Reuse must never let two jobs share a buffer, so ownership is tied to
references, not to streams or threads:

* :meth:`HostMemoryPool.empty` hands out an array backed by a buffer that nobody else
  holds. Its owner is whoever references that array or any view of it: the job that
  allocated it while it enqueues its work, and every stream task that captured it
  until the task has run and been dropped.
* When the last reference goes, the buffer returns to the free list. By then every
  task that used it has finished, so any later job, on any stream and from any
  thread, may be given it.

This is stricter than CuPy's stream-ordered pool (a block freed on a stream is reused
only by later work on that same stream, which stream order makes safe) and needs no
event: on the host, "the last task that used it has run" is exactly "its last
reference is gone".
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np

#: Smallest buffer, in elements; sizes are rounded up to a power of two from here.
_MIN_ELEMENTS = 64


class _Lease:
    """Holds one pooled buffer for the arrays handed out over it.

    Arrays made from a lease (and every view of them) keep it alive; when it dies, its
    finalizer gives the buffer back to the pool.
    """

    def __init__(self, buffer: np.ndarray) -> None:
        self.buffer = buffer
        self.__array_interface__ = buffer.__array_interface__


class HostMemoryPool:
    """Keeps freed host buffers for reuse; thread-safe.

    Args:
        max_free_bytes: Most bytes kept in free buffers; the least recently freed
            are released beyond it.
    """

    def __init__(self, max_free_bytes: int) -> None:
        self.max_free_bytes = max_free_bytes
        self._free: OrderedDict[int, tuple[tuple[str, int], np.ndarray]] = OrderedDict()
        self._free_bytes = 0
        self._lent_bytes = 0
        self._lock = threading.RLock()

    def empty(self, size: int, dtype: type | np.dtype) -> np.ndarray:
        """Return an uninitialized array of ``size`` elements that the caller owns.

        Args:
            size: Number of elements.
            dtype: Element type.

        Returns:
            A one-dimensional array; its buffer returns to the pool when neither it nor
            any view of it is referenced any more.
        """
        dtype = np.dtype(dtype)
        capacity = max(_MIN_ELEMENTS, 1 << max(0, size - 1).bit_length())
        key = (dtype.str, capacity)
        buffer = self._take(key)
        if buffer is None:
            buffer = np.empty(capacity, dtype=dtype)
        lease = _Lease(buffer)
        with self._lock:
            self._lent_bytes += buffer.nbytes
        weakref.finalize(lease, self._give_back, key, buffer)
        return np.asarray(lease)[:size]

    @property
    def free_bytes(self) -> int:
        """Bytes held in free buffers, available to the next allocations."""
        return self._free_bytes

    @property
    def lent_bytes(self) -> int:
        """Bytes of buffers that some owner still holds."""
        return self._lent_bytes

    def _take(self, key: tuple[str, int]) -> np.ndarray | None:
        with self._lock:
            for ident, (free_key, buffer) in self._free.items():
                if free_key == key:
                    del self._free[ident]
                    self._free_bytes -= buffer.nbytes
                    return buffer
        return None

    def _give_back(self, key: tuple[str, int], buffer: np.ndarray) -> None:
        with self._lock:
            self._lent_bytes -= buffer.nbytes
            self._free[id(buffer)] = (key, buffer)
            self._free_bytes += buffer.nbytes
            while self._free_bytes > self.max_free_bytes and self._free:
                _ident, (_key, released) = self._free.popitem(last=False)
                self._free_bytes -= released.nbytes

    def release_free(self) -> None:
        """Release every free buffer to the operating system."""
        with self._lock:
            self._free.clear()
            self._free_bytes = 0

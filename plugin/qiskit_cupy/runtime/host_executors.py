"""Where the host side of a job (lowering, enqueueing kernels) runs."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

#: Jobs with at most this many instructions in all are small enough to enqueue from
#: the caller's thread when the backend's worker is idle.
INLINE_INSTRUCTIONS = 256

_P = ParamSpec("_P")
_T = TypeVar("_T")


class BackendHostExecutor(concurrent.futures.Executor):
    """One worker thread, in submission order, with a fast path for small jobs.

    Enqueueing a small job takes less time than handing it to a worker thread, so when
    nothing is queued a small job's host work runs in the caller's thread: ``run()``
    still returns without waiting for any kernel, one thread hand-off sooner.
    """

    def __init__(self) -> None:
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="qiskit-cupy-host"
        )
        self._pending = 0
        self._lock = threading.Lock()

    def submit_job(self, fn: Callable[[], _T], small: bool) -> concurrent.futures.Future[_T]:
        """Run ``fn`` inline if the job is small and nothing is queued, else on the worker."""
        with self._lock:
            inline = small and self._pending == 0
        if inline:
            future: concurrent.futures.Future[_T] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()
            try:
                future.set_result(fn())
            except Exception as error:  # noqa: BLE001 - reported by the job as ERROR
                future.set_exception(error)
            return future
        return self.submit(fn)

    def submit(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> concurrent.futures.Future[_T]:
        """Queue ``fn`` on the worker thread."""
        with self._lock:
            self._pending += 1
        future = self._worker.submit(fn, *args, **kwargs)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the worker thread."""
        self._worker.shutdown(wait=wait, cancel_futures=cancel_futures)

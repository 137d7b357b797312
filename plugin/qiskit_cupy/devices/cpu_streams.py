"""A faithful model of CUDA streams and events on host threads.

Each stream is a worker thread that runs its tasks in FIFO order. An event completes
when its stream reaches it. A task that raises marks the stream failed: later work on
it is skipped (like a sticky CUDA error) until the next event, which completes carrying
the failure and clears it.

A task is dropped as soon as it has run, so the buffers it captured are released then
(see ``host_memory.py``: a buffer's owners are exactly its holders of references).

A :class:`CpuInlineStream` is the same model without the thread: each task runs on the
thread that enqueues it, at once, as on a stream that has always caught up. It serves
one job (``CpuDevice.inline_stream``): a job whose work costs less than a hand-off to a
worker thread and back.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

#: The flag of every event recorded complete (on an inline stream): set once, never
#: cleared, so one flag serves them all.
_REACHED = threading.Event()
_REACHED.set()


class CpuEvent:
    """An event on a CpuStream (or complete at once, on a CpuInlineStream).

    Args:
        complete: Whether the event is recorded complete.
        error: Then, the failure of the work before it.
    """

    def __init__(self, complete: bool = False, error: BaseException | None = None) -> None:
        self._reached = _REACHED if complete else threading.Event()
        self.error = error
        self.time = time.perf_counter() if complete else 0.0

    @property
    def done(self) -> bool:
        """Whether the stream has passed the event; never blocks."""
        return self._reached.is_set()

    def synchronize(self, timeout: float | None = None) -> bool:
        """Block until the event completes or ``timeout`` passes.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.

        Returns:
            Whether the event completed.

        Raises:
            BaseException: The failure of the work before the event.
        """
        if not self._reached.wait(timeout):
            return False
        if self.error is not None:
            raise self.error
        return True

    def complete(self, error: BaseException | None) -> None:
        """Mark the event reached, with the failure of the work before it, if any."""
        self.error = error
        self.time = time.perf_counter()
        self._reached.set()

    def elapsed_since(self, start: CpuEvent) -> float:
        """Seconds between ``start`` and this event (both completed)."""
        return self.time - start.time


class CpuStream:
    """An in-order task queue served by one daemon worker thread."""

    def __init__(self, name: str) -> None:
        self._tasks: queue.SimpleQueue[tuple[Callable[[], object], CpuEvent | None] | None] = (
            queue.SimpleQueue()
        )
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._serve, name=name, daemon=True)
        self._worker.start()

    def close(self, timeout: float = 1.0) -> None:
        """End the worker thread after the tasks queued so far have run.

        Args:
            timeout: Seconds to wait for the thread to end (never when called from it).
        """
        self._tasks.put(None)
        if threading.current_thread() is not self._worker:
            self._worker.join(timeout)

    def enqueue(self, task: Callable[[], object]) -> None:
        """Run ``task`` after everything enqueued before it."""
        self._tasks.put((task, None))

    def record_event(self) -> CpuEvent:
        """Record an event after the tasks enqueued so far."""
        event = CpuEvent()
        self._tasks.put((lambda: None, event))
        return event

    def wait_event(self, event: CpuEvent) -> None:
        """Hold later tasks until ``event`` completes, adopting its failure."""
        self.enqueue(event.synchronize)

    def _serve(self) -> None:
        while True:
            item = self._tasks.get()
            if item is None:
                return
            task, event = item
            del item
            if event is not None:
                event.complete(self._error)
                self._error = None
            elif self._error is None:
                try:
                    task()
                except BaseException as error:  # noqa: BLE001 - reported by the next event
                    self._error = error.with_traceback(None)
            del task


class CpuInlineStream:
    """A stream whose tasks run on the enqueueing thread as they are enqueued.

    It keeps the semantics of :class:`CpuStream` (FIFO order, a failed task makes later
    tasks up to the next event be skipped, and that event carries the failure), with
    every event complete as soon as it is recorded. It is never in a device's stream
    pool: each one belongs to the one job that asked for it, and is used from that
    job's thread only, so it needs no lock.
    """

    def __init__(self) -> None:
        self._error: BaseException | None = None

    def close(self, timeout: float = 1.0) -> None:
        """Nothing to end: the stream has no thread."""

    def enqueue(self, task: Callable[[], object]) -> None:
        """Run ``task`` now, unless an earlier task since the last event failed.

        An exception (not a KeyboardInterrupt or SystemExit, which reach the caller) is
        kept for the next event, as a stream worker keeps it.
        """
        if self._error is None:
            try:
                task()
            except Exception as error:  # noqa: BLE001 - reported by the next event
                self._error = error.with_traceback(None)

    def record_event(self) -> CpuEvent:
        """Return an event that is already complete, with the failure since the last one."""
        event = CpuEvent(complete=True, error=self._error)
        self._error = None
        return event

    def wait_event(self, event: CpuEvent) -> None:
        """Hold later tasks until ``event`` completes, adopting its failure: on this
        stream, that blocks the enqueueing thread until then."""
        self.enqueue(event.synchronize)

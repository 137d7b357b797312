"""Where a job's host work (lowering, enqueueing kernels) runs, and which jobs run whole
on the caller's thread.

Three tiers, decided in ``run()`` from the job's size:

* an *inline* job (:func:`runs_inline`) runs on the caller's thread from start to end,
  host work and, on a device that has an inline stream (the CPU), its kernels too: its
  kernels cost less than handing them to a stream's worker thread and waking the caller
  again, so ``run()`` returns it finished (``DONE``, or ``ERROR``). On a GPU its kernels
  are still launched asynchronously on a CUDA stream;
* a *small* job (at most INLINE_INSTRUCTIONS instructions) is enqueued from the caller's
  thread when the backend's worker has nothing queued, else queued behind it;
* every other job is queued on the backend's worker thread, in submission order.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.observables import EvaluateObservables
from qiskit_cupy.runtime.request import ExperimentRequest

#: Jobs with at most this many instructions in all are small enough to enqueue from
#: the caller's thread when the backend's worker is idle.
INLINE_INSTRUCTIONS = 256

# The inline rule. Measured on this project's 2-core development machine (x86-64,
# CPU extension, double precision): a hand-off to a stream worker and back (enqueue,
# record an event, wake the worker, wake the caller) costs 25 to 90 us, and more while
# the caller holds the GIL (the worker waits for it); an op on a state of 2**10
# amplitudes about 2 us (2 ns per amplitude update), plus about 3 us per kernel call;
# drawing a shot 5 to 20 ns. A job within every limit below needs about a hand-off's
# cost of kernel time or less.

#: Most amplitudes of an inline job's state buffer (batch x 2**num_qubits): every
#: kernel then has fewer items than the extension's parallel threshold (2**12,
#: ``kMinParallelItems`` in ``kernels/cpu/common.hpp``), so it runs on the calling
#: thread without an OpenMP team, and the state stays in the L1 cache.
INLINE_MAX_AMPLITUDES = 1 << 10

#: Most amplitude updates of an inline job: the sum over its experiments of its
#: amplitudes times (its steps + 2, for preparing and measuring the state).
INLINE_MAX_AMPLITUDE_PASSES = 1 << 15

#: Most shots an inline job draws (the sum over its experiments of batch x shots);
#: below the parallel threshold too.
INLINE_MAX_SHOTS = 1 << 11

#: Most steps an inline job has (the sum over its experiments of its steps + 1): each
#: is at least one kernel call.
INLINE_MAX_STEPS = 64

_P = ParamSpec("_P")
_T = TypeVar("_T")


def runs_inline(requests: Sequence[ExperimentRequest]) -> bool:
    """Whether a job is small enough to run whole on the caller's thread.

    The rule, from the job's sizes alone: no experiment is a dynamic circuit (its shots
    run as trajectories whose host work waits on the device), every state buffer holds
    at most INLINE_MAX_AMPLITUDES amplitudes, and the job has at most
    INLINE_MAX_AMPLITUDE_PASSES amplitude updates, INLINE_MAX_SHOTS shots and
    INLINE_MAX_STEPS steps in all. An evaluation of observables counts one step per
    pass over the state.

    Args:
        requests: The job's experiments, lowered.

    Returns:
        True when the job's kernels cost less than a thread hand-off.
    """
    steps = shots = passes = 0
    for request in requests:
        low = request.lowered
        if isinstance(low, DynamicCircuit):
            return False
        amplitudes = request.batch << low.num_qubits
        if amplitudes > INLINE_MAX_AMPLITUDES:
            return False
        count = sum(
            len(step.pieces.passes) if isinstance(step, EvaluateObservables) else 1 for step in low.steps
        )
        steps += count + 1
        passes += amplitudes * (count + 2)
        shots += request.batch * request.shots
    return steps <= INLINE_MAX_STEPS and passes <= INLINE_MAX_AMPLITUDE_PASSES and shots <= INLINE_MAX_SHOTS


class BackendHostExecutor(concurrent.futures.Executor):
    """One worker thread, in submission order, with fast paths for small jobs.

    Enqueueing a small job takes less time than handing it to a worker thread, so when
    nothing is queued a small job's host work runs in the caller's thread: ``run()``
    still returns without waiting for any kernel, one thread hand-off sooner. An
    inline job always runs in the caller's thread, queued work or not: it shares no
    buffer and no inline stream with any other job, so it need not wait its turn.
    """

    def __init__(self) -> None:
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="qiskit-cupy-host"
        )
        self._pending = 0
        self._lock = threading.Lock()

    def submit_job(
        self, fn: Callable[[], _T], small: bool, inline: bool = False
    ) -> concurrent.futures.Future[_T]:
        """Run ``fn`` now on this thread if the job is inline, or small and nothing is
        queued; else queue it on the worker.

        Returns:
            The future of ``fn``'s result; done already when ``fn`` ran here (with its
            exception, if it raised one).
        """
        if not inline:
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

"""CupyJob: a JobV1 whose state comes from the device events after its last kernels."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from abc import abstractmethod
from collections.abc import Callable

from qiskit.providers import BackendV2, JobError, JobStatus, JobTimeoutError, JobV1
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit.result import Result

from qiskit_cupy.runtime.executor import PendingRun
from qiskit_cupy.runtime.host_executors import BackendHostExecutor
from qiskit_cupy.runtime.progress import progress_bar


class FinalStateWaiter(JobV1):  # type: ignore[misc]  # qiskit is untyped: JobV1 is Any
    """A job whose waits end as soon as its work completes, not at the next poll.

    Subclasses say how to block for a while on their own work (:meth:`_wait_a_while`).
    """

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 5,
        callback: Callable[[str, JobStatus, FinalStateWaiter], object] | None = None,
    ) -> None:
        """Wait until the job is DONE, ERROR or CANCELLED.

        Unlike the polling default, each wait ends as soon as the job's work completes,
        so a short job returns at once.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.
            wait: Seconds between status reports to ``callback``.
            callback: Called as ``callback(job_id, status, job)`` after each status query
                that finds the job not yet final.

        Raises:
            JobTimeoutError: The job is not final within ``timeout``.
        """
        start = time.monotonic()
        status = self.status()
        while status not in JOB_FINAL_STATES:
            elapsed = time.monotonic() - start
            if timeout is not None and elapsed >= timeout:
                raise JobTimeoutError(f"timeout while waiting for job {self.job_id()}")
            if callback is not None:
                callback(self.job_id(), status, self)
            step = wait if timeout is None else min(wait, timeout - elapsed)
            self._wait_a_while(step)
            status = self.status()

    @abstractmethod
    def _wait_a_while(self, seconds: float) -> None:
        """Block up to ``seconds``, or less if the job's work completes first."""


class CupyJob(FinalStateWaiter):
    """A simulation job.

    ``submit()`` hands the host work (lowering, enqueueing kernels) to an executor and
    returns. ``status()`` never blocks: it combines that host work's state with the
    event recorded after the job's last kernel on each device it runs on. ``result()``
    synchronizes on those events, then builds the Result.

    Args:
        backend: The backend that made the job.
        job_id: A unique identifier.
        enqueue: Host work that enqueues everything and returns the pending run.
        build_result: Turns the completed run into a Result.
        host_executor: Where ``enqueue`` runs.
        small: The job is small enough for the backend executor's fast path (its host
            work runs on the caller's thread when the executor is idle).
        progress: ``result()`` may show a bar over the job's parts (the ``progress``
            option).
        inline: The job runs whole on the caller's thread in ``submit()``
            (``runtime/host_executors.py::runs_inline``): ``enqueue`` then runs its
            kernels too where the device allows it (the CPU), and the job is final
            when ``submit()`` returns.
    """

    _async = True

    def __init__(
        self,
        backend: BackendV2,
        job_id: str,
        enqueue: Callable[[], PendingRun],
        build_result: Callable[[PendingRun], Result],
        host_executor: concurrent.futures.Executor,
        small: bool = False,
        progress: bool = False,
        inline: bool = False,
    ) -> None:
        super().__init__(backend, job_id)
        self._small = small
        self._inline = inline
        self._progress = progress
        self._enqueue = enqueue
        self._build_result = build_result
        self._host_executor = host_executor
        self._future: concurrent.futures.Future[PendingRun] | None = None
        self._result: Result | None = None
        self._result_lock = threading.Lock()

    def submit(self) -> None:
        """Start the job; it runs in the background.

        Raises:
            JobError: The job was submitted before.
        """
        if self._future is not None:
            raise JobError(f"job {self.job_id()} has already been submitted")
        if isinstance(self._host_executor, BackendHostExecutor):
            self._future = self._host_executor.submit_job(self._enqueue, self._small, self._inline)
        else:
            self._future = self._host_executor.submit(self._enqueue)

    @property
    def inline(self) -> bool:
        """Whether the job runs whole on the thread that submits it (``run()``'s caller):
        a job whose kernels cost less than a thread hand-off. On the CPU it is then final
        (``DONE`` or ``ERROR``) when ``run()`` returns; on a GPU its kernels still run
        asynchronously."""
        return self._inline

    def status(self) -> JobStatus:
        """Return the job's status without blocking.

        Returns:
            INITIALIZING before submit; QUEUED while the host work waits; RUNNING while
            it runs or the device has not reached the job's event; DONE once it has;
            CANCELLED or ERROR otherwise.
        """
        future = self._future
        if future is None:
            return JobStatus.INITIALIZING
        if future.cancelled():
            return JobStatus.CANCELLED
        if not future.done():
            return JobStatus.RUNNING if future.running() else JobStatus.QUEUED
        if future.exception() is not None:
            return JobStatus.ERROR
        run = future.result()
        if not run.done:
            return JobStatus.RUNNING
        return JobStatus.ERROR if run.failure() is not None else JobStatus.DONE

    def cancel(self) -> bool:
        """Cancel the job if it has not started.

        Returns:
            True if the job will not run; False if its work had already started (it
            then runs to the end).
        """
        return self._future is not None and self._future.cancel()

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the job's event, then return its Result.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.

        Returns:
            The Result.

        Raises:
            JobTimeoutError: The job did not finish within ``timeout``.
            JobError: The job was cancelled or failed; the cause is chained.
        """
        if self._future is None:
            raise JobError(f"job {self.job_id()} has not been submitted")
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            run = self._future.result(timeout)
        except concurrent.futures.TimeoutError as error:
            raise JobTimeoutError(f"job {self.job_id()} did not finish in {timeout} s") from error
        except concurrent.futures.CancelledError as error:
            raise JobError(f"job {self.job_id()} was cancelled") from error
        except Exception as error:
            raise JobError(f"job {self.job_id()} failed: {error}") from error
        if not run.done:  # else nothing to wait for (an inline job): its failure is below
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                with progress_bar(len(run.experiments), f"job {self.job_id()[:8]}", self._progress) as bar:
                    finished = run.synchronize(remaining, bar.update if not bar.disable else None)
            except Exception as error:
                raise JobError(f"job {self.job_id()} failed on the device: {error}") from error
            if not finished:
                raise JobTimeoutError(f"job {self.job_id()} did not finish in {timeout} s")
        failure = run.failure()
        if failure is not None:
            raise JobError(f"job {self.job_id()} failed on the device: {failure}") from failure
        with self._result_lock:
            if self._result is None:
                self._result = self._build_result(run)
        return self._result

    def _wait_a_while(self, seconds: float) -> None:
        """Block up to ``seconds`` for the host work, then for the device event."""
        deadline = time.monotonic() + seconds
        future = self._future
        if future is None:
            time.sleep(seconds)
            return
        concurrent.futures.wait([future], timeout=seconds)
        if future.done() and not future.cancelled() and future.exception() is None:
            try:
                future.result().synchronize(max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - the failure shows as ERROR in status()
                return

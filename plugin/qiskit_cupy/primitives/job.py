"""The job of a native primitive: a backend job whose result is a PrimitiveResult."""

from __future__ import annotations

from typing import Generic, TypeVar

from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES

from qiskit_cupy.job import CupyJob

ResultT = TypeVar("ResultT")


class CupyPrimitiveJob(BasePrimitiveJob[ResultT, JobStatus], Generic[ResultT]):  # type: ignore[misc]  # qiskit is untyped
    """A primitive job, asynchronous as ``PrimitiveJob`` is, on a backend job.

    It holds the :class:`~qiskit_cupy.job.CupyJob` that runs its PUBs (whose result
    builder makes the ``PrimitiveResult``), so its status comes from the device event
    after its last kernel and ``result()`` synchronizes on that event.

    Args:
        job: The submitted backend job.
    """

    def __init__(self, job: CupyJob) -> None:
        super().__init__(job.job_id())
        self._job = job

    def result(self, timeout: float | None = None) -> ResultT:
        """Wait for the device, then return the PrimitiveResult.

        Raises:
            JobTimeoutError: It did not finish within ``timeout`` seconds.
            JobError: It was cancelled or failed; the cause is chained.
        """
        result: ResultT = self._job.result(timeout)  # the job's result builder makes a ResultT
        return result

    def status(self) -> JobStatus:
        """Return the status without blocking (see :meth:`CupyJob.status`)."""
        return self._job.status()

    def done(self) -> bool:
        """Whether the job finished successfully."""
        done: bool = self.status() == JobStatus.DONE
        return done

    def running(self) -> bool:
        """Whether the job's host work or device work is in progress."""
        running: bool = self.status() == JobStatus.RUNNING
        return running

    def cancelled(self) -> bool:
        """Whether the job was cancelled."""
        cancelled: bool = self.status() == JobStatus.CANCELLED
        return cancelled

    def in_final_state(self) -> bool:
        """Whether the job is DONE, ERROR or CANCELLED."""
        return self.status() in JOB_FINAL_STATES

    def cancel(self) -> bool:
        """Cancel the job if its work has not started; return whether it will not run."""
        return self._job.cancel()

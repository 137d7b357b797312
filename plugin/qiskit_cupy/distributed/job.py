"""CupyDistributedJob: a job run as sub-jobs on an executor or a Dask cluster.

Each sub-job (``subjobs.py``) is submitted as one task; the job's status, ``cancel()``,
``wait_for_final_state()`` and ``result()`` act on those tasks, and the results are
merged back in job order. Every task yields exactly one output, whichever worker it
last ran on, so a task that Dask ran again after its worker was lost is counted once.

Ownership: the job owns its task futures from ``submit()`` on; each sub-job's device
buffers belong to the worker backend's job that ran it, never to this process.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Sequence
from typing import Any

from qiskit.providers import BackendV2, JobError, JobStatus, JobTimeoutError
from qiskit.result import Result
from qiskit.result.models import ExperimentResult

from qiskit_cupy.distributed.subjobs import SubJob, merge_shot_ranges
from qiskit_cupy.distributed.worker import SubJobOutput, run_subjob
from qiskit_cupy.job import FinalStateWaiter
from qiskit_cupy.options import is_dask_client
from qiskit_cupy.runtime.progress import progress_bar


class CupyDistributedJob(FinalStateWaiter):
    """A job whose sub-jobs run on an executor's workers.

    Args:
        backend: The backend that made the job.
        job_id: A unique identifier.
        subjobs: The sub-jobs, in job order.
        executor: A ``dask.distributed.Client`` or a ``concurrent.futures.Executor``.
        progress: ``result()`` may show a bar over the sub-jobs (the ``progress`` option).
    """

    _async = True

    def __init__(
        self,
        backend: BackendV2,
        job_id: str,
        subjobs: Sequence[SubJob],
        executor: Any,
        progress: bool = False,
    ) -> None:
        super().__init__(backend, job_id)
        self._progress = progress
        self._subjobs = list(subjobs)
        self._executor = executor
        self._futures: list[Any] = []
        self._result: Result | None = None

    def submit(self) -> None:
        """Send every sub-job to the executor.

        Raises:
            JobError: The job was submitted before.
        """
        if self._futures:
            raise JobError(f"job {self.job_id()} has already been submitted")
        if is_dask_client(self._executor):
            self._futures = [
                self._executor.submit(
                    run_subjob,
                    subjob,
                    type(self.backend()),
                    pure=False,
                    key=f"qiskit-cupy-{self.job_id()}-{subjob.number}",
                )
                for subjob in self._subjobs
            ]
        else:  # threads of this process run sub-jobs on this backend, not one of their own
            in_process = isinstance(self._executor, concurrent.futures.ThreadPoolExecutor)
            runner = self.backend() if in_process else type(self.backend())
            self._futures = [self._executor.submit(run_subjob, subjob, runner) for subjob in self._subjobs]

    @property
    def subjobs(self) -> list[SubJob]:
        """The sub-jobs, in job order."""
        return list(self._subjobs)

    @property
    def futures(self) -> list[Any]:
        """The sub-jobs' futures, in job order (empty before submit); with Dask, for
        ``distributed.progress(job.futures)`` or the dashboard's task keys."""
        return list(self._futures)

    def status(self) -> JobStatus:
        """Return the job's status from its sub-jobs' without blocking.

        Returns:
            INITIALIZING before submit; DONE once ``result()`` returned (a closed Dask
            client cancels the futures it held, not the work they did); ERROR once a
            sub-job failed; CANCELLED once one was cancelled; DONE when all are done;
            RUNNING while one runs (or, on Dask, which does not say whether a task has
            started, while any is unfinished); QUEUED otherwise.
        """
        if not self._futures:
            return JobStatus.INITIALIZING
        if self._result is not None:
            return JobStatus.DONE
        if any(future.cancelled() for future in self._futures):
            return JobStatus.CANCELLED
        finished = [future for future in self._futures if future.done()]
        if any(future.exception() is not None for future in finished):
            return JobStatus.ERROR
        if len(finished) == len(self._futures):
            return JobStatus.DONE
        running = [getattr(future, "running", lambda: True)() for future in self._futures]
        return JobStatus.RUNNING if finished or any(running) else JobStatus.QUEUED

    def cancel(self) -> bool:
        """Cancel every sub-job that has not finished.

        Returns:
            True if no sub-job will run to the end (each was cancelled before it
            started, or on Dask, whose workers drop a cancelled task's result).
        """
        if not self._futures:
            return False
        if is_dask_client(self._executor):
            self._executor.cancel(self._futures)
            return True
        cancelled = [future.cancel() for future in self._futures]
        return all(cancelled)

    def result(self, timeout: float | None = None) -> Result:
        """Wait for every sub-job, then return the merged Result.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.

        Raises:
            JobTimeoutError: The sub-jobs did not all finish within ``timeout``.
            JobError: A sub-job was cancelled or failed; the message names the sub-job
                and, where known, its worker; the cause is chained.
        """
        if not self._futures:
            raise JobError(f"job {self.job_id()} has not been submitted")
        if self._result is not None:
            return self._result
        deadline = None if timeout is None else time.monotonic() + timeout
        outputs = []
        description = f"job {self.job_id()[:8]}"
        with progress_bar(len(self._subjobs), description, self._progress, unit="sub-job") as bar:
            for subjob, future in zip(self._subjobs, self._futures):
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                outputs.append(self._output(subjob, future, remaining, timeout))
                bar.update(1)
        self._result = _merge(self, self._subjobs, outputs)
        return self._result

    def _output(
        self, subjob: SubJob, future: Any, remaining: float | None, timeout: float | None
    ) -> SubJobOutput:
        """One sub-job's output, or the JobError that names it."""
        if future.cancelled():
            raise JobError(f"job {self.job_id()}: {subjob.describe()} was cancelled")
        try:
            output: SubJobOutput = future.result(remaining)
            return output
        except TimeoutError as error:  # concurrent.futures' and Dask's are this one
            raise JobTimeoutError(f"job {self.job_id()} did not finish in {timeout} s") from error
        except concurrent.futures.CancelledError as error:
            raise JobError(f"job {self.job_id()}: {subjob.describe()} was cancelled") from error
        except Exception as error:
            raise JobError(f"job {self.job_id()}: {_failure(subjob, error)}") from error

    def _wait_a_while(self, seconds: float) -> None:
        """Block up to ``seconds`` until every sub-job is done."""
        if is_dask_client(self._executor):
            from distributed import wait

            try:
                wait(self._futures, timeout=seconds)
            except TimeoutError:
                return
        else:
            concurrent.futures.wait(self._futures, timeout=seconds)


def _failure(subjob: SubJob, error: BaseException) -> str:
    """Say what failed: the sub-job, and the worker a lost task last ran on."""
    last_worker = getattr(error, "last_worker", None)
    if last_worker is not None:  # Dask's KilledWorker: its retries are exhausted
        address = getattr(last_worker, "address", last_worker)
        return f"{subjob.describe()} was lost with worker {address} too many times ({error})"
    text = str(error)
    return text if subjob.describe() in text else f"{subjob.describe()} failed: {text}"


def _merge(job: CupyDistributedJob, subjobs: Sequence[SubJob], outputs: Sequence[SubJobOutput]) -> Result:
    """One Result from the sub-jobs' outputs, in job order; shot ranges merged."""
    results = []
    ranges: list[ExperimentResult] = []
    for subjob, output in zip(subjobs, outputs):
        if subjob.pieces[0].shots:
            ranges.extend(output.results)
            last = subjob.pieces[0].first_shot + subjob.pieces[0].shots
            if last == subjob.options["shots"]:
                results.append(merge_shot_ranges(ranges))
                ranges = []
            continue
        results.extend(output.results)
    return Result(
        backend_name=job.backend().name,
        backend_version=job.backend().backend_version,
        job_id=job.job_id(),
        success=True,
        results=results,
        status="COMPLETED",
        metadata={
            "sub_jobs": [
                {
                    "sub_job": subjob.number,
                    "description": subjob.describe(),
                    "worker": output.worker,
                    "pid": output.pid,
                }
                for subjob, output in zip(subjobs, outputs)
            ],
        },
    )

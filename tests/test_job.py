"""CupyJob: submission, status from the device event, results, cancellation, timeouts, errors.

Device-independent job behaviour runs on every device of the conftest (the GPU device on
the CuPy stand-in included); the injected CPU failure stays on the CPU, and the GPU's
device faults are tested in ``tests/devices/test_gpu_device.py``.
"""

from __future__ import annotations

import concurrent.futures
import threading

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction
from qiskit.providers import JobError, JobStatus, JobTimeoutError

from qiskit_cupy import CupyJob, CupySimulator, UnsupportedInstructionError
from qiskit_cupy.devices.cpu import CpuDevice


def ghz(width: int) -> QuantumCircuit:
    circuit = QuantumCircuit(width)
    circuit.h(0)
    for qubit in range(width - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


@pytest.fixture
def blocked_executor():
    """A one-worker executor whose worker is held until the test releases it."""
    release = threading.Event()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    executor.submit(release.wait)
    yield executor, release
    release.set()
    executor.shutdown(wait=True)


def test_run_returns_a_submitted_job_that_finishes(backend: CupySimulator) -> None:
    job = backend.run(ghz(3), shots=100, seed_simulator=1)
    assert isinstance(job, CupyJob)
    assert job.backend() is backend
    assert job.status() in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DONE)
    result = job.result(timeout=60)
    assert job.status() is JobStatus.DONE
    assert job.done() and job.in_final_state() and not job.running() and not job.cancelled()
    assert set(result.get_counts()) == {"000", "111"}
    assert result.job_id == job.job_id()
    assert job.result() is result


def test_job_ids_are_unique(backend: CupySimulator) -> None:
    jobs = [backend.run(ghz(2), shots=1) for _ in range(5)]
    assert len({job.job_id() for job in jobs}) == 5


def test_submit_twice_raises(backend: CupySimulator) -> None:
    job = backend.run(ghz(2), shots=1)
    with pytest.raises(JobError, match="already been submitted"):
        job.submit()


def test_queued_job_can_be_cancelled(backend: CupySimulator, blocked_executor) -> None:
    executor, release = blocked_executor
    job = backend.run(ghz(2), shots=10, executor=executor)
    assert job.status() is JobStatus.QUEUED
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    assert job.cancelled() and job.in_final_state()
    release.set()
    with pytest.raises(JobError, match="cancelled"):
        job.result()


def test_finished_job_cannot_be_cancelled(backend: CupySimulator) -> None:
    job = backend.run(ghz(2), shots=10)
    job.result()
    assert job.cancel() is False
    assert job.status() is JobStatus.DONE


def test_result_and_wait_time_out_on_a_queued_job(backend: CupySimulator, blocked_executor) -> None:
    executor, release = blocked_executor
    job = backend.run(ghz(2), shots=10, executor=executor)
    with pytest.raises(JobTimeoutError):
        job.result(timeout=0.05)
    reports = []
    with pytest.raises(JobTimeoutError):
        job.wait_for_final_state(timeout=0.2, wait=0.05, callback=lambda *args: reports.append(args))
    assert reports, "the callback is called while the job is not final"
    job_id, status, reported_job = reports[0]
    assert job_id == job.job_id() and status is JobStatus.QUEUED and reported_job is job
    release.set()
    job.wait_for_final_state(timeout=60, wait=0.01)
    assert job.status() is JobStatus.DONE


def test_wait_for_final_state_returns_as_soon_as_done(backend: CupySimulator) -> None:
    job = backend.run(ghz(12), shots=10)
    job.wait_for_final_state(timeout=60, wait=60)
    assert job.status() is JobStatus.DONE


def test_what_lowering_refuses_is_refused_at_run(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1, name="measured_early")
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.append(Instruction("opaque_in_a_block", 1, 0, []), [0])
    with pytest.raises(UnsupportedInstructionError) as raised:
        cpu_backend.run(circuit)
    assert "circuit 0 ('measured_early')" in str(raised.value)
    assert "opaque_in_a_block" in str(raised.value)
    assert cpu_backend.run(ghz(2), shots=5).result().get_counts()


class _FailingDevice(CpuDevice):
    """A CPU device whose kernels fail on the stream, as a device fault would."""

    def run_program(self, stream, states, num_qubits, batch, program, condition=None) -> None:
        def fail() -> None:
            raise RuntimeError("kernel fault")

        stream.enqueue(fail)


def test_failure_on_the_device_is_an_error_with_its_cause(cpu_backend: CupySimulator) -> None:
    failing = _FailingDevice()
    cpu_backend._devices[(("CPU", 0), 0)] = failing
    job = cpu_backend.run(ghz(3), shots=10)
    job.wait_for_final_state(timeout=60, wait=0.01)
    assert job.status() is JobStatus.ERROR
    with pytest.raises(JobError, match="kernel fault") as raised:
        job.result()
    assert isinstance(raised.value.__cause__, RuntimeError)
    cpu_backend._devices[(("CPU", 0), 0)] = CpuDevice()
    assert set(cpu_backend.run(ghz(3), shots=50).result().get_counts()) == {"000", "111"}


def test_many_jobs_in_flight_complete_in_any_order(backend: CupySimulator) -> None:
    jobs = [backend.run(ghz(2 + index % 5), shots=64, seed_simulator=index) for index in range(20)]
    for index, job in reversed(list(enumerate(jobs))):
        counts = job.result(timeout=60).get_counts()
        width = 2 + index % 5
        assert set(counts) <= {"0" * width, "1" * width}
        assert sum(counts.values()) == 64


def test_time_taken_is_reported(backend: CupySimulator) -> None:
    result = backend.run([ghz(10), ghz(4)], shots=10).result()
    assert result.time_taken >= 0
    for experiment in result.results:
        assert experiment.time_taken >= 0
    assert np.isfinite(result.time_taken)


def test_small_jobs_enqueue_inline_only_when_the_host_worker_is_idle() -> None:
    from qiskit_cupy.runtime.host_executors import BackendHostExecutor

    executor = BackendHostExecutor()
    caller = threading.current_thread()
    ran_in: list[threading.Thread] = []
    release = threading.Event()

    def record() -> str:
        ran_in.append(threading.current_thread())
        return "done"

    assert executor.submit_job(record, small=True).result() == "done"
    assert ran_in[-1] is caller
    assert executor.submit_job(record, small=False).result(timeout=10) == "done"
    assert ran_in[-1] is not caller
    blocker = executor.submit(release.wait)
    queued = executor.submit_job(record, small=True)
    assert not queued.done()
    release.set()
    assert queued.result(timeout=10) == "done" and blocker.result(timeout=10)
    assert ran_in[-1] is not caller
    failing = executor.submit_job(lambda: 1 / 0, small=True)
    assert isinstance(failing.exception(), ZeroDivisionError)
    executor.shutdown()

"""Tiny jobs that run whole on the caller's thread (``runtime/host_executors.py::runs_inline``).

A job whose kernels cost less than a thread hand-off runs in ``run()`` itself: on the
CPU its kernels run on an inline stream of its own, on a GPU they are launched
asynchronously as always. These tests check the rule that picks such jobs; that their
results (counts for a seed, memory, saved statevectors, metadata) are those of the same
job forced through the stream path; that hundreds of them from 16 threads at once, mixed
with jobs that take the stream path, each give what the same job gives run alone; that
``status()``, ``cancel()``, ``result()`` and ``wait_for_final_state()`` keep their
meaning; that failures are ERROR and ``JobError``; and that on a GPU the host never
waits while a tiny job is enqueued. No test times anything.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.providers import JobError, JobStatus
from qiskit.quantum_info import Statevector
from qiskit.result import Result

import qiskit_cupy.backend
from gpu_host.cupy_standin.machine import Machine
from qiskit_cupy import CupyJob, CupySimulator
from qiskit_cupy.devices.cpu import CpuDevice
from qiskit_cupy.devices.cpu_streams import CpuInlineStream
from qiskit_cupy.options import validate_options
from qiskit_cupy.runtime import host_executors
from qiskit_cupy.runtime.host_executors import BackendHostExecutor, runs_inline
from random_circuits import measured_randomly, random_circuit, random_dynamic_circuit

#: Seconds any wait in these tests may take before it counts as a hang.
DEADLINE = 120

#: Tiny jobs submitted from many threads at once.
NUM_CONCURRENT_JOBS = 480


def tiny_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.measure_all()
    return circuit


def tiny_job(rng: np.random.Generator, index: int) -> tuple[list[QuantumCircuit], dict[str, Any]]:
    """A random job that the inline rule takes: 1-3 circuits of 1-6 qubits, few gates,
    up to 600 shots each; saved states, memory, single precision and parameter binds
    now and then."""
    options: dict[str, Any] = {
        "shots": int(rng.integers(1, 600)),
        "seed_simulator": int(rng.integers(1 << 40)),
        "memory": bool(rng.random() < 0.3),
        "precision": "single" if rng.random() < 0.2 else "double",
        "save_statevector": bool(rng.random() < 0.3),
    }
    if rng.random() < 0.15:
        theta = Parameter(f"theta_{index}")
        circuit = QuantumCircuit(2, name=f"bound_{index}")
        circuit.ry(theta, 0)
        circuit.cx(0, 1)
        circuit.rz(2 * theta, 1)
        circuit.measure_all()
        options["parameter_binds"] = [{theta: list(rng.uniform(-np.pi, np.pi, int(rng.integers(1, 4))))}]
        return [circuit], options
    while True:  # a few random gates (a wide diagonal, say) lower to many ops: draw again
        circuits = []
        for _ in range(int(rng.integers(1, 4))):
            width = int(rng.integers(1, 7))
            circuit = random_circuit(width, int(rng.integers(1, 6)), int(rng.integers(1 << 30)))
            circuits.append(measured_randomly(circuit, rng))
        if runs_inline(_requests(circuits, **options)):
            return circuits, options


def larger_job(rng: np.random.Generator) -> tuple[list[QuantumCircuit], dict[str, Any]]:
    """A job the rule leaves on the stream path: 11-12 qubits."""
    circuit = random_circuit(int(rng.integers(11, 13)), 12, int(rng.integers(1 << 30)))
    options = {"shots": int(rng.integers(1, 600)), "seed_simulator": int(rng.integers(1 << 40))}
    return [measured_randomly(circuit, rng)], options


def summary(result: Result) -> list[tuple[Any, ...]]:
    """What an inline job must share with the same job run otherwise: each experiment's
    counts, memory, saved state, header and metadata (not its time)."""
    rows = []
    for experiment in result.results:
        data = experiment.data.to_dict()
        state = data.get("statevector")
        rows.append(
            (
                data.get("counts"),
                data.get("memory"),
                None if state is None else np.asarray(state).tobytes(),
                experiment.header.to_dict() if hasattr(experiment.header, "to_dict") else experiment.header,
                experiment.metadata,
                experiment.shots,
                experiment.seed_simulator,
            )
        )
    return rows


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch):
    """Call to force every later job of the test through the stream path."""

    def force() -> None:
        monkeypatch.setattr(qiskit_cupy.backend, "runs_inline", lambda requests: False)

    return force


# The rule.


def _requests(circuits: list[QuantumCircuit], **options: Any) -> list:
    backend = CupySimulator(device="CPU")
    return backend.prepare_requests(circuits, validate_options(options, backend._run_options))


def _ghz(width: int, extra_gates: int = 0) -> QuantumCircuit:
    circuit = QuantumCircuit(width)
    circuit.h(0)
    for qubit in range(width - 1):
        circuit.cx(qubit, qubit + 1)
    for _ in range(extra_gates):
        circuit.x(0)
    circuit.measure_all()
    return circuit


def test_the_rule_bounds_each_buffer_by_amplitudes() -> None:
    assert host_executors.INLINE_MAX_AMPLITUDES == 1 << 10
    assert runs_inline(_requests([_ghz(10)], shots=1))
    assert not runs_inline(_requests([_ghz(11)], shots=1))


def test_the_rule_bounds_shots() -> None:
    most = host_executors.INLINE_MAX_SHOTS
    assert runs_inline(_requests([tiny_circuit()], shots=most))
    assert not runs_inline(_requests([tiny_circuit()], shots=most + 1))
    assert not runs_inline(_requests([tiny_circuit(), tiny_circuit()], shots=most // 2 + 1))


def test_the_rule_bounds_steps_and_amplitude_updates() -> None:
    most_steps = host_executors.INLINE_MAX_STEPS
    # 2 qubits: h, x..., measure = extra + 2 steps, plus 1 for the experiment
    assert runs_inline(_requests([_ghz(2, most_steps - 4)]))
    assert not runs_inline(_requests([_ghz(2, most_steps - 3)]))
    # 10 qubits: 1024 amplitudes x (steps + 2) updates; h, 9 cx and measure are 11 steps
    steps = host_executors.INLINE_MAX_AMPLITUDE_PASSES // 1024 - 2
    assert runs_inline(_requests([_ghz(10, steps - 11)]))
    assert not runs_inline(_requests([_ghz(10, steps - 10)]))


def test_the_rule_counts_a_batch_of_bound_states() -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(8)
    circuit.ry(theta, 0)
    circuit.measure_all()
    assert runs_inline(_requests([circuit], parameter_binds=[{theta: [0.1, 0.2, 0.3, 0.4]}], shots=1))
    assert not runs_inline(
        _requests([circuit], parameter_binds=[{theta: [0.1, 0.2, 0.3, 0.4, 0.5]}], shots=1)
    )


def test_the_rule_never_takes_a_dynamic_circuit() -> None:
    circuit = random_dynamic_circuit(3, 2, 3)
    assert not runs_inline(_requests([circuit], shots=1))


# Results: the same as through the streams.


def test_inline_jobs_give_what_the_stream_path_gives(device_name: str, streamed) -> None:
    rng = np.random.default_rng(1501)
    jobs = [tiny_job(rng, index) for index in range(60)]
    backend = CupySimulator(device=device_name)
    inline = []
    for circuits, options in jobs:
        job = backend.run(circuits, **options)
        assert job.inline, "the workload is meant to be tiny"
        inline.append(summary(job.result(timeout=DEADLINE)))
    streamed()
    for index, (circuits, options) in enumerate(jobs):
        job = backend.run(circuits, **options)
        assert not job.inline
        assert summary(job.result(timeout=DEADLINE)) == inline[index], f"job {index}"


def test_inline_saved_states_are_those_of_statevector(cpu_backend: CupySimulator) -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        width = int(rng.integers(1, 7))
        circuit = QuantumCircuit(width, global_phase=float(rng.uniform(-np.pi, np.pi)))
        for _ in range(6):
            circuit.u(*rng.uniform(-np.pi, np.pi, size=3), int(rng.integers(width)))
            if width > 1:
                circuit.cx(*(int(q) for q in rng.permutation(width)[:2]))
        job = cpu_backend.run(circuit, shots=1, save_statevector=True)
        assert job.inline
        np.testing.assert_allclose(
            np.asarray(job.result().data(0)["statevector"]), Statevector(circuit).data, atol=1e-12
        )


def test_many_tiny_jobs_from_sixteen_threads_match_lone_runs(device_name: str) -> None:
    """480 jobs (tiny ones, and one in eight a larger one on the stream path) submitted
    from 16 threads at once, each identical to the same job run alone."""
    rng = np.random.default_rng(20261504)
    jobs = [
        larger_job(rng) if index % 8 == 7 else tiny_job(rng, index) for index in range(NUM_CONCURRENT_JOBS)
    ]
    backend = CupySimulator(device=device_name, max_parallel_experiments=0)
    alone = [summary(backend.run(circuits, **options).result(timeout=DEADLINE)) for circuits, options in jobs]
    barrier = threading.Barrier(16)

    def submit(index: int) -> tuple[bool, list]:
        if index < 16:
            barrier.wait(timeout=DEADLINE)
        circuits, options = jobs[index]
        job = backend.run(circuits, **options)
        return job.inline, summary(job.result(timeout=DEADLINE))

    with concurrent.futures.ThreadPoolExecutor(16) as threads:
        outcomes = list(threads.map(submit, range(len(jobs)), timeout=4 * DEADLINE))
    assert sum(inline for inline, _ in outcomes) >= NUM_CONCURRENT_JOBS * 3 // 4
    assert not any(inline for index, (inline, _) in enumerate(outcomes) if index % 8 == 7)
    for index, (_inline, concurrent_summary) in enumerate(outcomes):
        assert concurrent_summary == alone[index], f"job {index} differs from its lone run"


# Job states.


class _RecordingDevice(CpuDevice):
    """A CPU device that records the thread each state preparation ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def set_zero_state(self, stream, states, num_qubits, batch) -> None:
        stream.enqueue(lambda: self.threads.append(threading.current_thread()))
        super().set_zero_state(stream, states, num_qubits, batch)


def test_an_inline_job_runs_on_the_callers_thread_and_is_done_when_run_returns(
    cpu_backend: CupySimulator, streamed
) -> None:
    device = _RecordingDevice()
    cpu_backend._devices[(("CPU", 0), 0)] = device
    job = cpu_backend.run(tiny_circuit(), shots=10, seed_simulator=3)
    assert isinstance(job, CupyJob) and job.inline
    assert device.threads == [threading.current_thread()]
    assert job.status() is JobStatus.DONE
    assert job.done() and job.in_final_state() and not job.running() and not job.cancelled()
    streamed()
    queued = cpu_backend.run(tiny_circuit(), shots=10, seed_simulator=3)
    assert not queued.inline
    assert queued.result(timeout=DEADLINE).get_counts() == job.result().get_counts()
    assert device.threads[-1] is not threading.current_thread()  # a stream's worker


def test_cancel_result_and_waits_of_an_inline_job(cpu_backend: CupySimulator) -> None:
    job = cpu_backend.run(tiny_circuit(), shots=100, seed_simulator=5)
    assert job.status() is JobStatus.DONE
    assert job.cancel() is False  # finished: as for any finished job
    assert job.status() is JobStatus.DONE and not job.cancelled()
    result = job.result(timeout=0)
    assert job.result() is result
    assert sum(result.get_counts().values()) == 100
    assert result.job_id == job.job_id()
    reports: list[object] = []
    job.wait_for_final_state(timeout=0, wait=0.01, callback=lambda *args: reports.append(args))
    assert reports == []  # final at once: never reported as pending
    with pytest.raises(JobError, match="already been submitted"):
        job.submit()


def test_inline_jobs_skip_the_queue_of_a_busy_host_worker(cpu_backend: CupySimulator) -> None:
    release = threading.Event()
    blocker = cpu_backend._host_executor.submit(release.wait, DEADLINE)
    try:
        tiny = cpu_backend.run(tiny_circuit(), shots=5, seed_simulator=1)
        small = cpu_backend.run(tiny_circuit(), shots=5000, seed_simulator=1)  # not tiny: queued
        assert tiny.inline and tiny.status() is JobStatus.DONE
        assert not small.inline and small.status() is JobStatus.QUEUED
    finally:
        release.set()
    assert blocker.result(timeout=DEADLINE)
    assert sum(small.result(timeout=DEADLINE).get_counts().values()) == 5000


def test_the_host_executor_runs_an_inline_job_on_the_caller_even_when_busy() -> None:
    executor = BackendHostExecutor()
    release = threading.Event()
    blocker = executor.submit(release.wait, DEADLINE)
    ran_in: list[threading.Thread] = []
    future = executor.submit_job(lambda: ran_in.append(threading.current_thread()), small=False, inline=True)
    assert future.done() and ran_in == [threading.current_thread()]
    release.set()
    assert blocker.result(timeout=DEADLINE)
    executor.shutdown()


# Failures.


class _FailingKernelDevice(CpuDevice):
    """A CPU device whose programs fail on the stream, as a device fault would."""

    def run_program(self, stream, states, num_qubits, batch, program, condition=None) -> None:
        def fail() -> None:
            raise RuntimeError("kernel fault")

        stream.enqueue(fail)


class _FailingHostDevice(CpuDevice):
    """A CPU device whose allocation fails while the job's work is enqueued."""

    def allocate_states(self, stream, amplitudes, precision):
        raise MemoryError("no room for the states")


def test_a_kernel_failure_of_an_inline_job_is_an_error(cpu_backend: CupySimulator) -> None:
    cpu_backend._devices[(("CPU", 0), 0)] = _FailingKernelDevice()
    job = cpu_backend.run(tiny_circuit(), shots=10)
    assert job.inline
    assert job.status() is JobStatus.ERROR  # already, when run() returns
    job.wait_for_final_state(timeout=0)
    for _ in range(2):
        with pytest.raises(JobError, match="kernel fault") as raised:
            job.result()
        assert isinstance(raised.value.__cause__, RuntimeError)
    assert job.cancel() is False


def test_a_host_failure_of_an_inline_job_is_an_error(cpu_backend: CupySimulator) -> None:
    cpu_backend._devices[(("CPU", 0), 0)] = _FailingHostDevice()
    job = cpu_backend.run(tiny_circuit(), shots=10)
    assert job.inline and job.status() is JobStatus.ERROR
    with pytest.raises(JobError, match="no room for the states") as raised:
        job.result()
    assert isinstance(raised.value.__cause__, MemoryError)


def test_an_inline_stream_keeps_the_stream_semantics() -> None:
    stream = CpuInlineStream()
    ran: list[int] = []
    stream.enqueue(lambda: ran.append(1))
    first = stream.record_event()
    assert ran == [1] and first.done and first.error is None and first.synchronize(0)
    stream.enqueue(lambda: 1 / 0)
    stream.enqueue(lambda: ran.append(2))  # skipped: the stream failed since the last event
    failed = stream.record_event()
    assert ran == [1] and failed.done and isinstance(failed.error, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        failed.synchronize()
    stream.enqueue(lambda: ran.append(3))  # the event cleared the failure
    assert ran == [1, 3] and stream.record_event().error is None
    assert failed.elapsed_since(first) >= 0

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # reaches the caller, as Ctrl-C should
        stream.enqueue(interrupt)


# The GPU stays asynchronous.


def test_a_tiny_job_on_a_gpu_is_launched_without_waiting(standin: Machine) -> None:
    backend = CupySimulator(device="GPU")
    backend.run(tiny_circuit(), shots=1).result(timeout=DEADLINE)  # modules compiled, streams made
    standin.host_waits.clear()
    launched_before = len(standin.launches)
    standin.pause()
    try:
        job = backend.run(tiny_circuit(), shots=50, seed_simulator=9)
        assert job.inline  # enqueued on this thread...
        assert job.status() is JobStatus.RUNNING  # ...and the device has run nothing yet
        assert standin.host_waits == []
        assert len(standin.launches) > launched_before
    finally:
        standin.resume()
    cpu = CupySimulator(device="CPU").run(tiny_circuit(), shots=50, seed_simulator=9).result()
    assert job.result(timeout=DEADLINE).get_counts() == cpu.get_counts()

"""What only the GPU device does, on the CuPy stand-in: devices, streams, staging, faults.

The device-parametrized suite already runs every job path on the stand-in as
device="GPU"; these tests check what it cannot see from results alone: the host never
waits on the device while a job is enqueued; staging buffers outlive their copies;
the device named by ``target_gpus`` gets every launch and allocation; a device fault is
a failed job, not a crash; launch sizes past 2**31 - 1 items; op rows checked before any
launch; no work on a null stream. Each compares with the CPU fallback or Statevector.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.providers import JobStatus
from qiskit.providers.exceptions import JobError, JobTimeoutError
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.library import SaveExpectationValue, SaveStatevector

from conftest import use_standin
from gpu_host.cupy_standin.machine import DeviceSpec, Machine
from qiskit_cupy import CupyJob, CupySimulator, DeviceUnavailableError, InvalidOptionError
from qiskit_cupy.compiler.op_registry import OP_LAYOUT
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices import gpu, launches
from random_circuits import random_circuit

DEADLINE = 120


def _marginal(num_qubits: int, seed: int) -> QuantumCircuit:
    """A random circuit measuring two of its qubits (the marginal sampling path)."""
    measured = QuantumCircuit(num_qubits, 2)
    measured.compose(random_circuit(num_qubits, 20, seed), inplace=True)
    measured.measure([num_qubits - 1, 0], [0, 1])
    return measured


def _circuits() -> list[QuantumCircuit]:
    """Saved states, full and marginal measurements, over programs of many sizes."""
    circuits = []
    for index in range(12):
        circuit = random_circuit(3 + index % 8, 10 + 3 * index, 500 + index)
        if index % 3 == 0:
            circuit.append(SaveStatevector(circuit.num_qubits), circuit.qubits)
        elif index % 3 == 1:
            circuit.measure_all()
        else:
            circuit = _marginal(3 + index % 8, 900 + index)
        circuits.append(circuit)
    return circuits


def _assert_same_as_cpu(result, circuits: list[QuantumCircuit], **options: object) -> None:
    """Saved states within 1e-10 (single precision: 1e-5) of the CPU fallback's; counts
    equal to its, seed for seed.

    The sampler is the same kernel on both devices: counts differ only if an |a|^2
    differing in its last bit moves a draw across a bucket edge (about 1e-16 per shot).
    """
    cpu = CupySimulator(device="CPU").run(circuits, **options).result()
    tolerance = 1e-5 if options.get("precision") == "single" else 1e-10
    for index in range(len(circuits)):
        data = result.data(index)
        if "statevector" in data:
            np.testing.assert_allclose(
                np.asarray(data["statevector"]),
                np.asarray(cpu.data(index)["statevector"]),
                rtol=0,
                atol=tolerance,
            )
        else:
            assert result.get_counts(index) == cpu.get_counts(index)


def test_the_host_never_waits_while_a_job_is_enqueued(standin: Machine) -> None:
    """With every stream held, the job's whole enqueue completes: nothing waited on the device."""
    circuits = _circuits()
    backend = CupySimulator(device="GPU", max_parallel_experiments=3)
    backend.run(circuits[:1], shots=10).result()  # modules compiled, streams made
    standin.host_waits.clear()
    launched_before = len(standin.launches)
    standin.pause()
    try:
        job = backend.run(circuits, shots=300, seed_simulator=11)
        job._future.result(timeout=30)  # the host side is done...
        assert job.status() is JobStatus.RUNNING  # ...and the device has run nothing
        assert standin.host_waits == []
        assert len(standin.launches) > launched_before + len(circuits)
    finally:
        standin.resume()
    _assert_same_as_cpu(job.result(timeout=DEADLINE), circuits, shots=300, seed_simulator=11)


def test_staging_buffers_outlive_their_copies(standin: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held streams, then many same-size uploads: each arrives intact (the pinned pool
    reuses a dropped block at once, so a staging buffer freed early would be overwritten)."""
    device = gpu.GpuDevice()
    (stream,) = device.streams(1)
    arrays = [np.full(1000, index, dtype=np.int64) for index in range(20)]
    enqueued: list = []

    def enqueue() -> None:
        uploaded = [device._upload(stream, array) for array in arrays]
        enqueued.append([device.copy_to_host(stream, array) for array in uploaded])
        enqueued.append(device.record_event(stream))

    standin.pause()
    try:
        worker = threading.Thread(target=enqueue, daemon=True)
        worker.start()
        worker.join(30)
        assert not worker.is_alive(), "the host waited on a held stream"
    finally:
        standin.resume()
    copies, event = enqueued
    assert event.synchronize(DEADLINE)
    for array, copy in zip(arrays, copies):
        np.testing.assert_array_equal(copy.array, array)


def test_target_gpus_picks_the_device_that_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = use_standin(monkeypatch, [DeviceSpec(), DeviceSpec(name="second stand-in")])
    circuit = random_circuit(6, 30, 7)
    circuit.measure_all()
    circuits = [circuit, _marginal(7, 3)]
    backend = CupySimulator(device="GPU", target_gpus=[1])
    result = backend.run(circuits, shots=500, seed_simulator=5).result()
    assert {launch.device_id for launch in machine.launches} == {1}
    assert "GPU 1" in result.results[0].metadata["device_description"]
    assert machine.devices[0].pool.total == 0 and machine.devices[1].pool.total > 0
    _assert_same_as_cpu(result, circuits, shots=500, seed_simulator=5)


def test_free_memory_is_that_of_the_device_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """CuPy's pool answers for the current device: GPU 1's free memory ignores GPU 0's pool."""
    machine = use_standin(monkeypatch, [DeviceSpec(memory_bytes=1 << 30), DeviceSpec(memory_bytes=1 << 30)])
    first, second = gpu.GpuDevice(0), gpu.GpuDevice(1)
    held = [device.pool.total for device in machine.devices]  # each device's one-slot rows
    (stream,) = first.streams(1)
    block = first.allocate_states(stream, 1 << 20, "double")
    del block  # back to GPU 0's pool, free
    assert machine.devices[0].pool.total == held[0] + (16 << 20)
    assert second.free_memory() == (1 << 30) - held[1]
    assert first.free_memory() == (1 << 30) - held[0]


@pytest.mark.parametrize("target", [[2], [5]])
def test_a_missing_gpu_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch, target: list[int]) -> None:
    use_standin(monkeypatch, [DeviceSpec(), DeviceSpec()])
    backend = CupySimulator(device="GPU", target_gpus=target)
    with pytest.raises(DeviceUnavailableError, match=f"GPU {target[0]} does not exist: CUDA lists 2"):
        backend.run(QuantumCircuit(1))
    assert backend.run(QuantumCircuit(1), target_gpus=[1]).result().success


@pytest.mark.parametrize("value", [[0, 0], [], [-1], ["0"], 0, "0", [True]])
def test_bad_target_gpus_are_refused(value: object) -> None:
    with pytest.raises(InvalidOptionError, match="target_gpus"):
        CupySimulator(target_gpus=value)


def _faulting_job(standin: Machine, num_qubits: int) -> CupyJob:
    """A sampling job whose qc_sample launch faults on the device."""
    circuit = QuantumCircuit(num_qubits)
    circuit.h(range(num_qubits))
    circuit.measure_all()
    standin.failing_kernels.add("qc_sample")
    return CupySimulator(device="GPU").run(circuit, shots=10)


def test_a_device_fault_fails_the_job_with_the_cuda_error(standin: Machine) -> None:
    job = _faulting_job(standin, 4)
    with pytest.raises(JobError, match="failed on the device: cudaErrorLaunchFailure") as raised:
        job.result()  # no timeout: cudaEventSynchronize raises the fault
    assert "CUDARuntimeError" in type(raised.value.__cause__).__name__
    assert job.status() is JobStatus.ERROR


def test_a_fault_before_a_branching_wait_fails_the_job(standin: Machine) -> None:
    """The host waits to split branches: a fault before that wait fails the job with it."""
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(1)
    circuit.measure(1, 1)
    standin.failing_kernels.add("qc_marginal_partials<double>")
    job = CupySimulator(device="GPU").run(circuit, shots=10)
    with pytest.raises(JobError, match="cudaErrorLaunchFailure"):
        job.result()
    assert job.status() is JobStatus.ERROR


def test_launches_past_two_to_the_31_items_are_sized_and_passed_in_64_bits(standin: Machine) -> None:
    """A launch of 2**33 items: a full grid of 256-thread blocks, num_items as 64 bits
    (queued under a fault so that it never runs on the small array it is given)."""
    device = gpu.GpuDevice()
    (stream,) = device.streams(1)
    states = device.allocate_states(stream, 8, "double")
    standin.failing_kernels.add("qc_set_zero_state<double>")
    device._run(
        stream,
        launches.Launch("qc_set_zero_state<double>", 2**33, (states, np.int32(33), np.int64(2**33))),
        "double",
    )
    (launch,) = [launch for launch in standin.launches if launch.name == "qc_set_zero_state<double>"]
    attributes = standin.devices[0].spec.attributes()
    assert launch.block == gpu.BLOCK_SIZE
    assert launch.grid == attributes["MultiProcessorCount"] * gpu.BLOCKS_PER_MULTIPROCESSOR
    assert launches.set_zero_state(states, 3, 1, "double").arguments[2] == 8


def test_a_bad_op_row_is_refused_before_anything_is_launched(standin: Machine) -> None:
    device = gpu.GpuDevice()
    (stream,) = device.streams(1)
    states = device.allocate_states(stream, 1 << 4, "double")
    encoded = encode_program([GateOp(OpKind.DENSE, (1,), np.eye(2))], 1)
    encoded.rows[0, OP_LAYOUT["kTargets"]] = 4
    program = device.upload_program(stream, encoded, "double")
    before = len(standin.launches)
    with pytest.raises(ValueError, match="op target out of range"):
        device.run_program(stream, states, 4, 1, program)
    assert len(standin.launches) == before


def test_no_work_goes_to_a_null_stream(standin: Machine) -> None:
    theta = Parameter("t")
    circuit = QuantumCircuit(5)
    circuit.ry(theta, range(5))
    circuit.cx(0, 4)
    circuit.measure_all()
    backend = CupySimulator(device="GPU", max_parallel_experiments=0)
    options = {"shots": 64, "seed_simulator": 2, "parameter_binds": [{theta: [0.1, 0.2]}] * 3}
    result = backend.run([circuit] * 3, **options).result()
    assert standin.null_stream_work == 0
    _assert_same_as_cpu(result, [circuit] * 3, **options)


def test_a_failed_cuda_initialization_is_reported(standin: Machine) -> None:
    standin.init_error = "cudaErrorInitializationError"
    reason = gpu.gpu_unavailable_reason()
    assert reason.startswith("the CUDA runtime cannot be initialized (cudaErrorInitializationError")
    with pytest.raises(DeviceUnavailableError, match="cannot be initialized"):
        gpu.GpuDevice()


def test_no_device_is_reported_and_auto_falls_back_to_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    use_standin(monkeypatch, [])
    assert gpu.gpu_unavailable_reason().startswith("no CUDA device is present")
    with pytest.raises(DeviceUnavailableError, match="device='GPU' cannot be used: no CUDA device"):
        CupySimulator(device="GPU").run(QuantumCircuit(1))
    with pytest.warns(UserWarning, match="CPU fallback: no CUDA device"):
        result = CupySimulator(device="auto").run(QuantumCircuit(1)).result()
    assert result.results[0].metadata["device"] == "CPU"


@pytest.mark.parametrize("precision", ["double", "single"])
def test_every_kernel_instantiation_runs_on_the_stand_in(standin: Machine, precision: str) -> None:
    """Circuits that take every kernel: dense and diagonal blocks of 1..5 qubits, a wide
    diagonal, permutations, a blocked run, full and marginal (chunked) sampling, a dynamic
    circuit, a Kraus channel and a density matrix; each result checked against the CPU's."""
    from qiskit.circuit.library import UnitaryGate
    from qiskit.quantum_info import Kraus, random_unitary

    from qiskit_cupy.devices.kernel_source import name_expressions

    rng = np.random.default_rng(4)
    circuit = QuantumCircuit(10)
    for k in range(1, 6):
        circuit.append(UnitaryGate(random_unitary(1 << k, seed=k)), list(range(k, 0, -1)))
        circuit.unitary(np.diag(np.exp(1j * rng.uniform(-3, 3, 1 << k))), list(range(9, 9 - k, -1)))
    circuit.unitary(np.diag(np.exp(1j * rng.uniform(-3, 3, 1 << 7))), list(range(7)))
    circuit.x(3)
    circuit.swap(2, 8)
    full = circuit.measure_all(inplace=False)
    marginal = circuit.copy()
    marginal.add_register(type(full.cregs[0])(2, "m"))
    marginal.measure([7, 1], [0, 1])
    unchunked = QuantumCircuit(17, 16)  # 16 measured: marginal sums without a reduction
    unchunked.h(range(3))  # a blocked run: consecutive ops below the block, states wider
    unchunked.cx(0, 2)
    unchunked.compose(random_circuit(17, 12, 6), inplace=True)
    unchunked.measure(list(range(16, 0, -1)), list(range(16)))
    saved = circuit.copy()
    saved.append(SaveStatevector(10), saved.qubits)
    dynamic = QuantumCircuit(3, 3)  # classical programs, draws, collapse, branches
    dynamic.h([0, 1])
    dynamic.measure(0, 0)
    with dynamic.if_test((dynamic.clbits[0], 1)):
        dynamic.x(2)
    dynamic.reset(1)
    dynamic.append(SaveExpectationValue(SparsePauliOp(["XZ", "YY"], [0.5, 1.0])), [0, 2])
    dynamic.measure([1, 2], [1, 2])
    circuits = [saved, full, marginal, unchunked, dynamic]
    backend = CupySimulator(device="GPU", precision=precision, fusion_enable=False)
    result = backend.run(circuits, shots=200, seed_simulator=8).result()
    np.testing.assert_allclose(
        np.asarray(result.data(0)["statevector"]),
        Statevector(circuit).data,
        atol=1e-10 if precision == "double" else 1e-5,
    )
    one_each = backend.run(dynamic, shots=50, seed_simulator=8, shot_branching_enable=False).result()
    cpu = CupySimulator(device="CPU", precision=precision, fusion_enable=False)
    expected = cpu.run(dynamic, shots=50, seed_simulator=8, shot_branching_enable=False).result()
    assert one_each.get_counts() == expected.get_counts()  # draws on the device, per state
    noisy = QuantumCircuit(2)  # a Kraus map: choose_kraus and scale_states per trajectory
    noisy.h(0)
    noisy.cx(0, 1)
    gamma = 0.3
    noisy.append(
        Kraus([np.array([[1, 0], [0, np.sqrt(1 - gamma)]]), np.array([[0, np.sqrt(gamma)], [0, 0]])]), [1]
    )
    noisy.measure_all()
    for method in ("statevector", "density_matrix"):  # density_diagonal for the second
        on_gpu = backend.run(noisy, shots=100, seed_simulator=3, method=method).result().get_counts()
        assert on_gpu == cpu.run(noisy, shots=100, seed_simulator=3, method=method).result().get_counts()
    launched = {launch.name for launch in standin.launches}
    assert set(name_expressions(precision)) <= launched, set(name_expressions(precision)) - launched
    _assert_same_as_cpu(
        result, circuits, shots=200, seed_simulator=8, precision=precision, fusion_enable=False
    )
    reductions = [launch for launch in standin.launches if launch.name == "qc_reduce_partials"]
    assert len(reductions) == 1  # the 2-qubit marginal is chunked, the 16-qubit one is not


def test_a_result_timeout_on_a_held_device_is_a_timeout_not_a_failure(standin: Machine) -> None:
    backend = CupySimulator(device="GPU")
    backend.run(QuantumCircuit(2), shots=1).result()
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.measure_all()
    standin.pause()
    try:
        job = backend.run(circuit, shots=10)
        with pytest.raises(JobTimeoutError):
            job.result(timeout=0.5)
        assert job.status() is JobStatus.RUNNING
    finally:
        standin.resume()
    assert sum(job.result(timeout=DEADLINE).get_counts().values()) == 10


def test_a_dropped_devices_busy_streams_are_kept_until_idle(standin: Machine) -> None:
    """The driver reuses a destroyed stream's handle and CuPy's pool keys arenas by it, so
    a dropped device's streams must live until their work is done."""
    import gc

    backend = CupySimulator(device="GPU", max_parallel_experiments=2)
    backend.run([QuantumCircuit(3)] * 2, shots=1).result()
    old = {stream.ptr for stream in backend.device()._pool}
    circuit = random_circuit(8, 40, 2)
    circuit.measure_all()
    standin.pause()
    try:
        backend.run([circuit] * 2, shots=20)._future.result(30)
        del backend
        gc.collect()
        fresh = gpu.GpuDevice().streams(2)
        assert old.isdisjoint(stream.ptr for stream in fresh)
    finally:
        standin.resume()


def test_a_fault_is_seen_by_status_without_a_blocking_wait(standin: Machine) -> None:
    """CuPy's Event.done is False after a fault: the device reads the raw status instead."""
    job = _faulting_job(standin, 3)
    deadline = time.monotonic() + DEADLINE
    while job.status() is not JobStatus.ERROR:
        assert time.monotonic() < deadline, "the fault was never reported"
        time.sleep(0.01)
    with pytest.raises(JobError, match="cudaErrorLaunchFailure"):
        job.result(timeout=DEADLINE)

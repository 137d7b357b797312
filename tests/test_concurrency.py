"""Many jobs from many threads: each result is the one the same job gives when run alone.

A mixed workload of 400 jobs (tiny jobs that take the inline path, random circuits of
2 to 20 qubits, jobs of up to 50 circuits, parameter_binds batches, saved
statevectors, dynamic circuits with per-shot memory, branched or not) is first run job
by job; then it is submitted from 8 threads at once,
and through a user ``executor`` of 8 threads from one thread, for
``max_parallel_experiments`` 1, 0 and 4. Every job's counts (and memory) must be identical to its
lone run with the same seed, and every saved statevector must equal Qiskit's
``Statevector``. A global deadline turns a deadlock into a failure.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Statevector
from qiskit.result import Result

from conftest import STANDIN, device_param
from qiskit_cupy import CupySimulator
from random_circuits import measured_randomly, random_circuit, random_dynamic_circuit

#: Seconds the whole of one concurrent run may take before it counts as a deadlock.
DEADLINE_SECONDS = 600.0

#: Jobs in the workload.
NUM_JOBS = 400

#: Widest circuit whose saved states are compared with Statevector.
WIDEST_SAVED = 12


@dataclass
class JobSpec:
    """One job: its circuits and run options, and the states it must save."""

    circuits: list[QuantumCircuit]
    options: dict
    expected_states: list[np.ndarray] = field(default_factory=list)


def _tiny(rng: np.random.Generator, index: int) -> list[QuantumCircuit]:
    circuit = QuantumCircuit(2, name=f"tiny_{index}")
    circuit.h(0)
    if rng.random() < 0.5:
        circuit.cx(0, 1)
    circuit.rz(float(rng.uniform(-3, 3)), 1)
    circuit.measure_all()
    return [circuit]


def _random_circuits(rng: np.random.Generator, count: int, low: int, high: int) -> list[QuantumCircuit]:
    circuits = []
    for _ in range(count):
        width = int(rng.integers(low, high + 1))
        circuit = random_circuit(width, int(rng.integers(4, 24)), int(rng.integers(1 << 30)))
        circuits.append(measured_randomly(circuit, rng))
    return circuits


def _layered_circuit(rng: np.random.Generator, width: int) -> QuantumCircuit:
    """A wide circuit of rotation layers and CX chains (cheap to build at 20 qubits).

    The workload draws widths up to 17 and now and then 20: all past the fusion threshold
    and the GPU's blocks, and few of the widest, which the CuPy stand-in runs slowly
    (its cooperative blocks are coroutines on the host)."""
    circuit = QuantumCircuit(width, name=f"layers_{width}")
    for _ in range(2):
        for qubit in range(width):
            circuit.u(*rng.uniform(-np.pi, np.pi, size=3), qubit)
        for qubit in rng.permutation(width - 1):
            circuit.cx(int(qubit), int(qubit) + 1)
    return measured_randomly(circuit, rng)


def _bound_ansatz(rng: np.random.Generator, index: int) -> tuple[QuantumCircuit, dict]:
    width = int(rng.integers(2, 7))
    theta = ParameterVector(f"t{index}", 2 * width)
    circuit = QuantumCircuit(width, name=f"ansatz_{index}")
    for qubit in range(width):
        circuit.ry(theta[qubit], qubit)
    for qubit in range(width - 1):
        circuit.cx(qubit, qubit + 1)
    for qubit in range(width):
        circuit.rz(2 * theta[width + qubit] - 0.25, qubit)
    circuit.measure_all()
    values = rng.uniform(-np.pi, np.pi, size=(int(rng.integers(1, 20)), len(theta)))
    return circuit, {parameter: values[:, i] for i, parameter in enumerate(theta)}


def _expected_states(spec: JobSpec) -> list[np.ndarray]:
    """Statevector of each experiment of a job that saves its final states."""
    states = []
    binds = spec.options.get("parameter_binds")
    for position, circuit in enumerate(spec.circuits):
        unmeasured = circuit.remove_final_measurements(inplace=False)
        if binds is None:
            states.append(Statevector(unmeasured).data)
            continue
        bind = binds[position]
        for entry in range(len(next(iter(bind.values())))):
            values = {parameter: float(column[entry]) for parameter, column in bind.items()}
            states.append(Statevector(unmeasured.assign_parameters(values)).data)
    return states


def workload(seed: int = 20261203) -> list[JobSpec]:
    """The mixed workload: tiny, small, wide, many-circuit and parameter-bound jobs."""
    rng = np.random.default_rng(seed)
    specs = []
    for index in range(NUM_JOBS):
        kind = rng.choice(
            ["tiny", "small", "wide", "many", "binds", "dynamic"], p=[0.4, 0.25, 0.05, 0.1, 0.1, 0.1]
        )
        options: dict = {"shots": int(rng.integers(1, 300)), "seed_simulator": int(rng.integers(1 << 40))}
        if kind == "tiny":
            circuits = _tiny(rng, index)
        elif kind == "small":
            circuits = _random_circuits(rng, int(rng.integers(1, 6)), 2, 10)
        elif kind == "wide":
            width = rng.choice([14, 15, 16, 17, 20], p=[0.3, 0.25, 0.2, 0.15, 0.1])
            circuits = [_layered_circuit(rng, int(width))]
        elif kind == "many":
            circuits = _random_circuits(rng, int(rng.integers(20, 51)), 2, 6)
        elif kind == "dynamic":
            circuits = [
                random_dynamic_circuit(
                    int(rng.integers(1 << 30)), int(rng.integers(2, 6)), int(rng.integers(4, 16))
                )
                for _ in range(int(rng.integers(1, 4)))
            ]
            options["shot_branching_enable"] = bool(rng.random() < 0.7)
            options["memory"] = True
        else:
            pairs = [_bound_ansatz(rng, index * 10 + i) for i in range(int(rng.integers(1, 4)))]
            circuits = [circuit for circuit, _ in pairs]
            options["parameter_binds"] = [bind for _, bind in pairs]
        spec = JobSpec(circuits, options)
        small = max(c.num_qubits for c in circuits) <= WIDEST_SAVED
        if kind not in ("tiny", "dynamic") and small and rng.random() < 0.4:
            spec.options["save_statevector"] = True
            spec.expected_states = _expected_states(spec)
        specs.append(spec)
    return specs


def _summary(result: Result) -> list:
    """What must not depend on concurrency: each experiment's counts and saved state."""
    summary = []
    for experiment in result.results:
        data = experiment.data.to_dict()
        state = data.get("statevector")
        counts = (data.get("counts"), data.get("memory"))
        summary.append((counts, None if state is None else np.asarray(state)))
    return summary


def _assert_same(spec_index: int, alone: list, concurrent: list, spec: JobSpec) -> None:
    assert len(alone) == len(concurrent), f"job {spec_index}: experiment counts differ"
    for position, ((counts, _state), (concurrent_counts, concurrent_state)) in enumerate(
        zip(alone, concurrent)
    ):
        assert concurrent_counts == counts, (
            f"job {spec_index} experiment {position}: counts {concurrent_counts} run "
            f"concurrently, {counts} run alone"
        )
        if spec.expected_states:
            np.testing.assert_allclose(
                concurrent_state,
                spec.expected_states[position],
                atol=1e-9,
                err_msg=f"job {spec_index} experiment {position}: saved statevector",
            )


@pytest.fixture(scope="module")
def specs() -> list[JobSpec]:
    return workload()


@pytest.fixture(scope="module")
def lone_results(specs: list[JobSpec]) -> dict[str, list]:
    """Each job run alone, one after another, per device name (filled on first use)."""
    return {}


def _alone(request: pytest.FixtureRequest, specs: list[JobSpec], cache: dict[str, list]) -> list:
    key = device_param(request)
    if key not in cache:
        backend = CupySimulator(device="GPU" if key == STANDIN else key)
        cache[key] = [_summary(backend.run(spec.circuits, **spec.options).result()) for spec in specs]
        for index, (spec, summary) in enumerate(zip(specs, cache[key])):
            if spec.expected_states:
                states = [state for _, state in summary]
                for position, (state, expected) in enumerate(zip(states, spec.expected_states)):
                    np.testing.assert_allclose(
                        state,
                        expected,
                        atol=1e-9,
                        err_msg=f"job {index} experiment {position} run alone",
                    )
    return cache[key]


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        pytest.fail(f"the concurrent run passed its {DEADLINE_SECONDS:.0f} s deadline: deadlock?")
    return left


def test_workload_is_mixed(specs: list[JobSpec]) -> None:
    """The workload holds every kind of job the acceptance asks for."""
    widths = [c.num_qubits for spec in specs for c in spec.circuits]
    sizes = [len(spec.circuits) for spec in specs]
    assert len(specs) >= 400
    assert min(widths) == 2 and max(widths) == 20
    assert min(sizes) == 1 and max(sizes) >= 45
    assert sum(sum(len(c.data) for c in spec.circuits) <= 256 for spec in specs) >= 150
    assert sum("parameter_binds" in spec.options for spec in specs) >= 30
    assert sum(bool(spec.expected_states) for spec in specs) >= 30


@pytest.mark.parametrize("max_parallel_experiments", [1, 0, 4])
def test_jobs_from_eight_threads_match_lone_runs(
    device_name: str,
    specs: list[JobSpec],
    lone_results: dict,
    max_parallel_experiments: int,
    request: pytest.FixtureRequest,
) -> None:
    alone = _alone(request, specs, lone_results)
    backend = CupySimulator(device=device_name, max_parallel_experiments=max_parallel_experiments)
    deadline = time.monotonic() + DEADLINE_SECONDS
    results: dict[int, list] = {}
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)

    def submit_share(worker: int) -> None:
        try:
            barrier.wait(timeout=60)
            jobs = [
                (index, backend.run(specs[index].circuits, **specs[index].options))
                for index in range(worker, len(specs), 8)
            ]
            for index, job in jobs:
                results[index] = _summary(job.result(timeout=max(0.0, deadline - time.monotonic())))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=submit_share, args=(worker,), daemon=True) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_remaining(deadline))
        assert not thread.is_alive(), "a submitting thread is stuck: deadlock?"
    assert not failures, f"{len(failures)} submitting threads failed: {failures[0]!r}"
    for index, spec in enumerate(specs):
        _assert_same(index, alone[index], results[index], spec)


@pytest.mark.parametrize("max_parallel_experiments", [1, 0, 4])
def test_jobs_through_a_thread_pool_executor_match_lone_runs(
    device_name: str,
    specs: list[JobSpec],
    lone_results: dict,
    max_parallel_experiments: int,
    request: pytest.FixtureRequest,
) -> None:
    alone = _alone(request, specs, lone_results)
    backend = CupySimulator(device=device_name, max_parallel_experiments=max_parallel_experiments)
    deadline = time.monotonic() + DEADLINE_SECONDS
    with concurrent.futures.ThreadPoolExecutor(8) as executor:
        jobs = [backend.run(spec.circuits, executor=executor, **spec.options) for spec in specs]
        results = [_summary(job.result(timeout=_remaining(deadline))) for job in jobs]
    for index, spec in enumerate(specs):
        _assert_same(index, alone[index], results[index], spec)

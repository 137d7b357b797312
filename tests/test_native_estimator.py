"""The native EstimatorV2 against Qiskit's exact references.

References: ``qiskit.primitives.StatevectorEstimator`` for Pauli observables (and str /
dict observables), and ``Statevector(bound).expectation_value(SparsePauliOp
.from_sparse_observable(obs))`` for SparseObservables with projectors, which
StatevectorEstimator cannot take.

Bounds:

* double precision: |ev - exact| <= 1e-10 (absolute; the coefficients here are O(1));
* single precision: |ev - exact| <= 1e-5 * sum(|coefficients|) of the observable;
* precision p > 0 (Gaussian noise N(exact, p)), over N values: the sample mean of the
  noise within 6 p / sqrt(N) of 0 and the sample standard deviation s within
  |s / p - 1| <= 6 / sqrt(2 N) (six standard errors each; the relative standard error of
  a Gaussian sample standard deviation is 1 / sqrt(2 (N - 1))); with the fixed seeds used
  here the outcome is deterministic, and a correct estimator fails either bound with
  probability below 1e-8 for any seed;
* values of jobs run concurrently, of a parameter set alone or in a batch, and of
  batches split into several requests: bit-for-bit equal (``assert_array_equal``), since
  each state's reductions do not depend on what else the job holds.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import efficient_su2, n_local
from qiskit.primitives import PrimitiveResult, StatevectorEstimator
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.quantum_info import (
    SparseObservable,
    SparsePauliOp,
    Statevector,
    random_pauli_list,
)

import qiskit_cupy.primitives.estimator as estimator_module
from qiskit_cupy import CupySimulator
from qiskit_cupy.errors import InvalidCircuitError, InvalidOptionError
from qiskit_cupy.primitives import CupyPrimitiveJob, EstimatorV2
from random_circuits import random_circuit

#: Absolute tolerance of double-precision values.
DOUBLE_ATOL = 1e-10

#: Tolerance of single-precision values, per unit of the observable's coefficient norm.
SINGLE_RTOL = 1e-5

#: Keys of every PubResult's metadata.
METADATA_KEYS = {"target_precision", "circuit_metadata", "simulator_metadata"}


def random_ansatz(num_qubits: int, seed: int) -> QuantumCircuit:
    """A parametrized circuit: random fixed gates, then an n_local ansatz with random
    blocks and entanglement, then a gate whose angle is a parameter expression."""
    rng = np.random.default_rng(seed)
    rotations = [str(name) for name in rng.choice(["rx", "ry", "rz", "p"], size=2, replace=False)]
    entangler = str(rng.choice(["cx", "cz", "crx", "rzz"]))
    entanglement = str(rng.choice(["linear", "full", "circular", "reverse_linear"]))
    ansatz = n_local(num_qubits, rotations, entangler, entanglement=entanglement, reps=2)
    circuit = random_circuit(num_qubits, 2 * num_qubits, seed=seed + 1000)
    circuit.name = f"ansatz_{num_qubits}_{seed}"
    circuit.compose(ansatz, inplace=True)
    first, second = sorted(circuit.parameters, key=lambda p: p.name)[:2]
    circuit.cry(2 * first - second, 0, num_qubits - 1)
    return circuit


def random_observable(num_qubits: int, terms: int, rng: np.random.Generator) -> SparsePauliOp:
    """A Hermitian SparsePauliOp of random Paulis with real random coefficients."""
    paulis = random_pauli_list(num_qubits, terms, seed=int(rng.integers(1 << 30)), phase=False)
    return SparsePauliOp(paulis, coeffs=rng.normal(size=terms))


def observable_array(num_qubits: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """An object array of random SparsePauliOps of the given shape."""
    array = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        array[index] = random_observable(num_qubits, int(rng.integers(1, 6)), rng)
    return array


def coefficient_norms(observables: np.ndarray) -> np.ndarray:
    """Sum of |coefficients| of each observable of an object array."""
    norms = np.empty(observables.shape)
    for index in np.ndindex(observables.shape):
        norms[index] = np.abs(observables[index].coeffs).sum()
    return norms


def random_pub(
    num_qubits: int, parameter_shape: tuple[int, ...], observable_shape: tuple[int, ...], seed: int
) -> tuple[QuantumCircuit, Any, np.ndarray]:
    """A random PUB (circuit, observables, parameter values)."""
    rng = np.random.default_rng(seed)
    circuit = random_ansatz(num_qubits, seed)
    values = rng.uniform(-np.pi, np.pi, size=(*parameter_shape, circuit.num_parameters))
    observables = observable_array(num_qubits, observable_shape, rng)
    return circuit, observables if observable_shape else observables[()], values


def exact_evs(pub: tuple) -> np.ndarray:
    """The expectation values of a PUB from StatevectorEstimator."""
    return np.asarray(StatevectorEstimator().run([pub]).result()[0].data.evs)


def projector_reference(circuit: QuantumCircuit, observables: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Expectation values of SparseObservables broadcast against parameter sets, from
    Statevector on each bound circuit."""
    shape = np.broadcast_shapes(observables.shape, values.shape[:-1])
    observables = np.broadcast_to(observables, shape)
    values = np.broadcast_to(values, (*shape, values.shape[-1]))
    reference = np.empty(shape)
    for index in np.ndindex(shape):
        state = Statevector(circuit.assign_parameters(values[index]))
        operator = SparsePauliOp.from_sparse_observable(observables[index])
        reference[index] = state.expectation_value(operator).real
    return reference


def object_array(items: list) -> np.ndarray:
    """A 1-d object array of ``items`` (np.array would iterate SparseObservables' terms)."""
    array = np.empty(len(items), dtype=object)
    for index, item in enumerate(items):
        array[index] = item
    return array


def bell(name: str = "bell") -> QuantumCircuit:
    circuit = QuantumCircuit(2, name=name)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit


def assert_still_works(estimator: EstimatorV2) -> None:
    """A good run after a bad input gives exact values."""
    circuit = random_ansatz(3, seed=99)
    values = np.random.default_rng(99).uniform(-np.pi, np.pi, size=(2, circuit.num_parameters))
    pub = (circuit, SparsePauliOp.from_list([("ZXY", 0.5), ("IIZ", -1.0)]), values)
    result = estimator.run([pub]).result()
    np.testing.assert_allclose(result[0].data.evs, exact_evs(pub), rtol=0, atol=DOUBLE_ATOL)


# --- 1. random PUBs against StatevectorEstimator -------------------------------------

#: (qubits, parameter values' shape, observables' shape), broadcast together.
RANDOM_SHAPES = [
    (3, (), ()),
    (3, (), (4,)),
    (4, (3,), (3,)),
    (5, (2, 3), (2, 1)),
    (6, (2, 3), ()),
    (4, (2, 3), (3,)),
    (3, (3,), (2, 1)),
    (5, (1, 3), (2, 1)),
]


@pytest.mark.parametrize(("num_qubits", "parameter_shape", "observable_shape"), RANDOM_SHAPES)
def test_random_pubs_match_statevector_estimator(
    backend: CupySimulator,
    num_qubits: int,
    parameter_shape: tuple[int, ...],
    observable_shape: tuple[int, ...],
) -> None:
    seed = 10 * num_qubits + len(parameter_shape) + 3 * len(observable_shape)
    pub = random_pub(num_qubits, parameter_shape, observable_shape, seed)
    result = EstimatorV2(backend=backend).run([pub]).result()[0]
    shape = np.broadcast_shapes(parameter_shape, observable_shape)
    assert result.data.evs.shape == shape
    assert result.data.stds.shape == shape
    assert result.data.shape == shape
    np.testing.assert_allclose(result.data.evs, exact_evs(pub), rtol=0, atol=DOUBLE_ATOL)
    np.testing.assert_array_equal(result.data.stds, np.zeros(shape))
    assert result.metadata["simulator_metadata"]["precision"] == "double"


def test_single_precision_on_cpu_matches_to_its_rounding() -> None:
    estimator = EstimatorV2(options={"backend_options": {"device": "CPU", "precision": "single"}})
    pubs = [random_pub(5, (2, 3), (2, 1), seed=61), random_pub(4, (3,), (3,), seed=62)]
    result = estimator.run(pubs).result()
    for pub, got in zip(pubs, result):
        assert got.metadata["simulator_metadata"]["precision"] == "single"
        assert got.metadata["simulator_metadata"]["device"] == "CPU"
        norms = np.broadcast_to(coefficient_norms(pub[1]), got.data.evs.shape)
        error = np.abs(got.data.evs - exact_evs(pub))
        assert np.all(error <= SINGLE_RTOL * norms), error / norms


def test_backend_options_override_the_given_backend(backend: CupySimulator) -> None:
    pub = random_pub(4, (3,), (), seed=63)
    estimator = EstimatorV2(backend=backend, options={"backend_options": {"precision": "single"}})
    result = estimator.run([pub]).result()[0]
    assert result.metadata["simulator_metadata"]["precision"] == "single"
    norm = np.abs(pub[1].coeffs).sum()
    assert np.all(np.abs(result.data.evs - exact_evs(pub)) <= SINGLE_RTOL * norm)


def test_from_backend_takes_the_constructor_options(backend: CupySimulator) -> None:
    estimator = EstimatorV2.from_backend(backend, options={"default_precision": 0.125})
    assert estimator.backend is backend
    assert estimator.options.default_precision == 0.125
    result = estimator.run([(bell(), "ZZ")]).result()[0]
    assert result.metadata["target_precision"] == 0.125
    assert float(result.data.stds) == 0.125


def test_str_and_dict_observables_and_dict_bindings(backend: CupySimulator) -> None:
    a, b = Parameter("a"), Parameter("b")
    circuit = QuantumCircuit(3, name="expressions")
    circuit.rx(2 * a + b, 0)
    circuit.cry(a * b, 0, 1)
    circuit.rz(a - 3 * b, 1)
    circuit.h(2)
    circuit.rzz(b, 1, 2)
    circuit.cx(1, 2)
    values = np.random.default_rng(5).uniform(-2, 2, size=(4, 2))
    observables = [["XZY"], [{"ZZI": 1.0, "IXX": -0.5, "III": 0.25}]]
    estimator = EstimatorV2(backend=backend)
    # The same parameter sets, as an array in circuit order and as a dict in reverse order.
    by_array = (circuit, observables, values)
    by_dict = (circuit, observables, BindingsArray({(b, a): values[:, ::-1]}))
    result = estimator.run([by_array, by_dict]).result()
    reference = exact_evs(by_array)
    assert result[0].data.evs.shape == (2, 4)
    np.testing.assert_allclose(result[0].data.evs, reference, rtol=0, atol=DOUBLE_ATOL)
    np.testing.assert_array_equal(result[1].data.evs, result[0].data.evs)


def test_parameter_free_circuit_with_empty_parameter_sets_broadcasts(backend: CupySimulator) -> None:
    circuit = random_circuit(4, 12, seed=21)
    observables = [random_observable(4, 3, np.random.default_rng(k)) for k in range(2)]
    pub = (circuit, [observables], np.empty((3, 1, 0)))
    result = EstimatorV2(backend=backend).run([pub]).result()[0]
    assert result.data.evs.shape == (3, 2)
    np.testing.assert_allclose(result.data.evs, exact_evs(pub), rtol=0, atol=DOUBLE_ATOL)


# --- 2. SparseObservables with projectors --------------------------------------------


def projector_observables() -> np.ndarray:
    """SparseObservables on 7 qubits using every letter, on non-contiguous qubits."""
    first = SparseObservable.from_sparse_list(
        [
            ("0+rX", [0, 2, 4, 5], 0.7),
            ("1-lY", [5, 1, 3, 0], -0.4),
            ("Z+", [1, 4], 0.3),
            ("rlr", [0, 3, 6], 1.1),
            ("", [], 0.25),
            ("01", [6, 2], -0.8),
        ],
        num_qubits=7,
    )
    second = SparseObservable.from_sparse_list(
        [
            # Six expanding letters: 64 pieces, several passes per flip pattern.
            ("+-rl+-1", [6, 0, 5, 1, 4, 2, 3], 0.9),
            ("XYZ", [0, 3, 6], 0.6),
            ("ll", [2, 5], -0.35),
            ("-", [4], 0.5),
            ("0", [1], 1.5),
        ],
        num_qubits=7,
    )
    third = SparseObservable.from_sparse_list(
        [("r+X", [6, 3, 1], 0.45), ("1Y0l", [0, 2, 4, 5], -1.2), ("Z", [3], 0.2)], num_qubits=7
    )
    return object_array([first, second, third])


def test_projector_observables_match_statevector(backend: CupySimulator) -> None:
    circuit = random_ansatz(7, seed=71)
    values = np.random.default_rng(71).uniform(-np.pi, np.pi, size=(2, 1, circuit.num_parameters))
    observables = projector_observables()
    pub = (circuit, list(observables), values)
    result = EstimatorV2(backend=backend).run([pub]).result()[0]
    assert result.data.evs.shape == (2, 3)
    reference = projector_reference(circuit, observables, values)
    np.testing.assert_allclose(result.data.evs, reference, rtol=0, atol=DOUBLE_ATOL)
    assert result.metadata["simulator_metadata"]["num_pieces"] > 64


@pytest.mark.parametrize("letter", list("01+-rlXYZ"))
def test_each_letter_alone_on_each_qubit(backend: CupySimulator, letter: str) -> None:
    circuit = random_circuit(4, 16, seed=ord(letter))
    observables = object_array(
        [SparseObservable.from_sparse_list([(letter, [q], 1.0)], num_qubits=4) for q in range(4)]
    )
    result = EstimatorV2(backend=backend).run([(circuit, list(observables))]).result()[0]
    reference = projector_reference(circuit, observables, np.empty((0,)))
    np.testing.assert_allclose(result.data.evs, reference, rtol=0, atol=DOUBLE_ATOL)


# --- 3. several PUBs in one run ------------------------------------------------------


def test_several_pubs_in_order_with_shapes_and_metadata(backend: CupySimulator, device_name: str) -> None:
    pubs: list[tuple] = []
    for k, (qubits, parameter_shape, observable_shape) in enumerate(RANDOM_SHAPES[:6]):
        circuit, observables, values = random_pub(qubits, parameter_shape, observable_shape, 200 + k)
        circuit.metadata = {"index": k, "tag": f"pub{k}"}
        pubs.append((circuit, observables, values))
    pubs.append((bell("bell_pub"), ["ZZ", "XX", "YY"]))
    pubs.append((*pubs[2], 0.05))  # a PUB with its own precision
    estimator = EstimatorV2(backend=backend, options={"run_options": {"seed_simulator": 3}})
    result = estimator.run(pubs).result()
    assert isinstance(result, PrimitiveResult)
    assert result.metadata == {"version": 2}
    assert len(result) == len(pubs)
    for index, (pub, got) in enumerate(zip(pubs, result)):
        shape = np.broadcast_shapes(
            np.shape(pub[2])[:-1] if len(pub) > 2 else (), ObservablesArray.coerce(pub[1]).shape
        )
        assert got.data.evs.shape == shape, index
        assert got.data.stds.shape == shape, index
        assert set(got.metadata) == METADATA_KEYS
        assert got.metadata["circuit_metadata"] == pub[0].metadata
        assert got.metadata["simulator_metadata"]["device"] == device_name
        precision = pub[3] if len(pub) > 3 else 0.0
        assert got.metadata["target_precision"] == precision
        np.testing.assert_array_equal(got.data.stds, np.full(shape, precision))
        tolerance = 8 * precision if precision else DOUBLE_ATOL
        np.testing.assert_allclose(got.data.evs, exact_evs(pub[:3]), rtol=0, atol=tolerance)
    np.testing.assert_allclose(result[-1].data.evs, result[2].data.evs, rtol=0, atol=8 * 0.05)
    assert not np.array_equal(result[-1].data.evs, result[2].data.evs)


# --- 4. precision > 0 ----------------------------------------------------------------


def noisy_pub(sets: int, seed: int) -> tuple[QuantumCircuit, SparsePauliOp, np.ndarray]:
    circuit = efficient_su2(2, reps=1)
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(sets, circuit.num_parameters))
    return circuit, SparsePauliOp.from_list([("ZX", 0.8), ("YI", -0.6)]), values


def seeded(backend: CupySimulator, seed: int | None, **options: Any) -> EstimatorV2:
    run_options = {} if seed is None else {"seed_simulator": seed}
    return EstimatorV2(backend=backend, options={"run_options": run_options, **options})


def test_noise_has_the_stated_mean_and_spread(backend: CupySimulator) -> None:
    sets, precision = 2000, 0.01
    pub = noisy_pub(sets, seed=41)
    result = seeded(backend, 5).run([pub], precision=precision).result()[0]
    np.testing.assert_array_equal(result.data.stds, np.full(sets, precision))
    assert result.metadata["target_precision"] == precision
    noise = result.data.evs - exact_evs(pub)
    assert abs(noise.mean()) <= 6 * precision / np.sqrt(sets)
    assert abs(noise.std(ddof=1) / precision - 1) <= 6 / np.sqrt(2 * sets)


def test_same_seed_same_values_and_other_seed_other_values(backend: CupySimulator) -> None:
    pub = noisy_pub(50, seed=42)
    first = seeded(backend, 7).run([pub], precision=0.02).result()[0].data.evs
    again = seeded(backend, 7).run([pub], precision=0.02).result()[0].data.evs
    other = seeded(backend, 8).run([pub], precision=0.02).result()[0].data.evs
    np.testing.assert_array_equal(first, again)
    assert np.all(first != other)
    exact = exact_evs(pub)
    assert np.all(np.abs(first - exact) <= 6 * 0.02)
    assert np.all(first != exact)


def test_unseeded_runs_differ(backend: CupySimulator) -> None:
    pub = noisy_pub(20, seed=43)
    estimator = seeded(backend, None, default_precision=0.02)
    first = estimator.run([pub]).result()[0].data.evs
    second = estimator.run([pub]).result()[0].data.evs
    assert np.all(first != second)


def test_noise_of_a_pub_depends_on_the_seed_and_its_index_only(backend: CupySimulator) -> None:
    pub = noisy_pub(30, seed=44)
    other = random_pub(3, (4,), (2, 1), seed=45)
    estimator = seeded(backend, 11)
    alone = estimator.run([pub], precision=0.03).result()[0].data.evs
    with_others = estimator.run([pub, other, pub], precision=0.03).result()
    np.testing.assert_array_equal(with_others[0].data.evs, alone)
    # The same PUB at another index gets noise of its own.
    assert np.all(with_others[2].data.evs != alone)


def test_precision_from_default_run_and_pub(backend: CupySimulator) -> None:
    pub = noisy_pub(10, seed=46)
    by_default = seeded(backend, 12, default_precision=0.04).run([pub]).result()[0]
    by_run = seeded(backend, 12).run([pub], precision=0.04).result()[0]
    by_pub = seeded(backend, 12, default_precision=0.5).run([(*pub, 0.04)], precision=0.3).result()[0]
    for result in (by_default, by_run, by_pub):
        assert result.metadata["target_precision"] == 0.04
        np.testing.assert_array_equal(result.data.stds, np.full(10, 0.04))
        np.testing.assert_array_equal(result.data.evs, by_default.data.evs)
    exact = seeded(backend, 12, default_precision=0.5).run([(*pub, 0.0)]).result()[0]
    np.testing.assert_allclose(exact.data.evs, exact_evs(pub), rtol=0, atol=DOUBLE_ATOL)
    np.testing.assert_array_equal(exact.data.stds, np.zeros(10))


# --- 5. job semantics and concurrency ------------------------------------------------


def test_job_status_result_and_final_state(backend: CupySimulator) -> None:
    pub = random_pub(4, (3,), (), seed=51)
    job = EstimatorV2(backend=backend).run([pub])
    assert isinstance(job, CupyPrimitiveJob)
    assert isinstance(job.status(), JobStatus)
    assert isinstance(job.job_id(), str)
    result = job.result(timeout=60)
    assert isinstance(result, PrimitiveResult)
    assert job.status() == JobStatus.DONE
    assert job.done()
    assert job.in_final_state()
    assert not job.running()
    assert not job.cancelled()
    assert job.cancel() is False
    assert job.done()
    np.testing.assert_allclose(result[0].data.evs, exact_evs(pub), rtol=0, atol=DOUBLE_ATOL)
    np.testing.assert_array_equal(job.result()[0].data.evs, result[0].data.evs)
    other = EstimatorV2(backend=backend).run([pub])
    assert other.job_id() != job.job_id()
    other.result()


def test_concurrent_jobs_equal_the_same_jobs_alone(backend: CupySimulator) -> None:
    estimator = EstimatorV2(backend=backend)
    shapes = [((5,), ()), ((2, 3), (2, 1)), ((3,), (3,)), ((), (4,))]
    pubs = [
        [random_pub(3 + k % 4, *shapes[k % 4], seed=300 + k), random_pub(3, (2,), (), seed=400 + k)]
        for k in range(16)
    ]
    alone = [estimator.run(job_pubs).result() for job_pubs in pubs]
    for job_pubs, result in zip(pubs, alone):
        for pub, got in zip(job_pubs, result):
            np.testing.assert_allclose(got.data.evs, exact_evs(pub), rtol=0, atol=DOUBLE_ATOL)

    def run(job_pubs: list[tuple]) -> PrimitiveResult:
        return estimator.run(job_pubs).result(timeout=120)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(run, pubs))
    for lone, concurrent_result in zip(alone, together):
        assert len(concurrent_result) == len(lone)
        for expected, got in zip(lone, concurrent_result):
            np.testing.assert_array_equal(got.data.evs, expected.data.evs)
            np.testing.assert_array_equal(got.data.stds, expected.data.stds)


# --- 6. batch independence -----------------------------------------------------------


def test_a_parameter_set_alone_or_in_a_batch_gives_the_same_values(backend: CupySimulator) -> None:
    circuit = random_ansatz(4, seed=81)
    rng = np.random.default_rng(81)
    values = rng.uniform(-np.pi, np.pi, size=(40, circuit.num_parameters))
    observables = [random_observable(4, 4, rng) for _ in range(2)]
    estimator = EstimatorV2(backend=backend)
    batch = estimator.run([(circuit, [[o] for o in observables], values)]).result()[0].data.evs
    assert batch.shape == (2, 40)
    for k in (0, 1, 17, 38, 39):
        alone = estimator.run([(circuit, [[o] for o in observables], values[k])]).result()[0].data.evs
        np.testing.assert_array_equal(alone[:, 0], batch[:, k])
    np.testing.assert_allclose(
        batch, exact_evs((circuit, [[o] for o in observables], values)), rtol=0, atol=DOUBLE_ATOL
    )


def test_batches_split_into_requests_give_the_same_values(
    backend: CupySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    circuit = random_ansatz(4, seed=82)
    rng = np.random.default_rng(82)
    values = rng.uniform(-np.pi, np.pi, size=(3, 7, circuit.num_parameters))
    pubs = [(circuit, random_observable(4, 5, rng), values), random_pub(3, (5,), (5,), seed=83)]
    estimator = EstimatorV2(backend=backend)
    whole = estimator.run(pubs).result()
    # 64 amplitudes a request: 4 parameter sets of 4 qubits, 8 of 3 qubits.
    monkeypatch.setattr(estimator_module, "MAX_BATCH_AMPLITUDES", 64)
    split = estimator.run(pubs).result()
    for pub, one, other in zip(pubs, whole, split):
        np.testing.assert_array_equal(other.data.evs, one.data.evs)
        np.testing.assert_allclose(other.data.evs, exact_evs(pub), rtol=0, atol=DOUBLE_ATOL)


# --- 7. bad inputs -------------------------------------------------------------------


def final_measure() -> QuantumCircuit:
    circuit = bell("measured")
    circuit.measure_all()
    return circuit


def mid_measure() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 1, name="mid_measure")
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.cx(0, 1)
    return circuit


def mid_reset() -> QuantumCircuit:
    circuit = QuantumCircuit(2, name="mid_reset")
    circuit.h(0)
    circuit.reset(0)
    circuit.h(1)
    return circuit


def control_flow() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 1, name="branching")
    circuit.h(0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(1)
    return circuit


def parametrized(name: str = "rotations") -> QuantumCircuit:
    a, b = Parameter("a"), Parameter("b")
    circuit = QuantumCircuit(2, name=name)
    circuit.ry(a, 0)
    circuit.rx(b, 1)
    circuit.cx(0, 1)
    return circuit


def coefficient_observable(coefficient: float) -> SparseObservable:
    return SparseObservable.from_sparse_list([("ZZ", [0, 1], coefficient), ("X", [0], 1.0)], 2)


#: (id, PUBs, run's precision, error type, message fragments).
BAD_RUNS: list[tuple[str, Callable[[], list], float | None, type[Exception], tuple[str, ...]]] = [
    (
        "final measure",
        lambda: [(bell(), "ZZ"), (final_measure(), "ZZ")],
        None,
        InvalidCircuitError,
        ("PUB 1 (circuit 'measured')", "without measurements"),
    ),
    (
        "mid-circuit measure",
        lambda: [(mid_measure(), "ZZ")],
        None,
        InvalidCircuitError,
        ("PUB 0 (circuit 'mid_measure')", "measurements"),
    ),
    (
        "reset",
        lambda: [(bell(), "XX"), (bell(), "ZZ"), (mid_reset(), "ZZ")],
        None,
        InvalidCircuitError,
        ("PUB 2 (circuit 'mid_reset')", "resets"),
    ),
    (
        "control flow",
        lambda: [(control_flow(), "ZZ")],
        None,
        InvalidCircuitError,
        ("PUB 0 (circuit 'branching')", "control flow"),
    ),
    (
        "NaN parameter",
        lambda: [(parametrized(), "ZZ", [[0.1, 0.2], [np.nan, 0.3]])],
        None,
        InvalidCircuitError,
        ("PUB 0 (circuit 'rotations')", "finite"),
    ),
    (
        "infinite parameter",
        lambda: [(bell(), "ZZ"), (parametrized("inf"), "ZZ", [np.inf, 0.3])],
        None,
        InvalidCircuitError,
        ("PUB 1 (circuit 'inf')", "finite"),
    ),
    (
        "NaN coefficient",
        lambda: [(bell("nan_obs"), coefficient_observable(np.nan))],
        None,
        InvalidCircuitError,
        ("PUB 0 (circuit 'nan_obs')", "coefficient", "nan"),
    ),
    (
        "infinite coefficient",
        lambda: [(bell("inf_obs"), coefficient_observable(np.inf))],
        None,
        InvalidCircuitError,
        ("PUB 0 (circuit 'inf_obs')", "coefficient", "inf"),
    ),
    (
        "too many projectors",
        lambda: [(QuantumCircuit(13, name="wide"), SparseObservable("+" * 13))],
        None,
        InvalidCircuitError,
        ("PUB 0 (circuit 'wide')", "13 of the projectors"),
    ),
    ("negative precision", lambda: [(bell(), "ZZ")], -0.5, InvalidOptionError, ("precision", "-0.5")),
    ("NaN precision", lambda: [(bell(), "ZZ")], float("nan"), InvalidOptionError, ("precision", "nan")),
    ("infinite precision", lambda: [(bell(), "ZZ")], float("inf"), InvalidOptionError, ("precision", "inf")),
    (
        "NaN PUB precision",
        lambda: [(bell(), "XX"), (bell(), "ZZ", None, float("nan"))],
        None,
        InvalidOptionError,
        ("the precision of PUB 1", "nan"),
    ),
]


@pytest.mark.parametrize(
    ("pubs", "precision", "error", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_RUNS],
)
def test_bad_runs_raise_typed_errors_and_the_estimator_still_works(
    backend: CupySimulator,
    pubs: Callable[[], list],
    precision: float | None,
    error: type[Exception],
    fragments: tuple[str, ...],
) -> None:
    estimator = EstimatorV2(backend=backend)
    with pytest.raises(error) as raised:
        estimator.run(pubs(), precision=precision)
    for fragment in fragments:
        assert fragment in str(raised.value), (fragment, str(raised.value))
    assert_still_works(estimator)


def test_negative_pub_precision_is_an_invalid_option(cpu_backend: CupySimulator) -> None:
    estimator = EstimatorV2(backend=cpu_backend)
    with pytest.raises(InvalidOptionError, match="precision"):
        estimator.run([(bell(), "ZZ", None, -0.1)])
    assert_still_works(estimator)


def test_sparse_pauli_op_with_nan_coefficient_is_refused(cpu_backend: CupySimulator) -> None:
    estimator = EstimatorV2(backend=cpu_backend)
    with pytest.raises(ValueError):
        estimator.run([(bell(), SparsePauliOp(["ZZ", "XX"], [np.nan, 1.0]))])
    assert_still_works(estimator)


#: (id, constructor keyword arguments, message fragments); all raise InvalidOptionError.
BAD_OPTIONS: list[tuple[str, Callable[[], dict], tuple[str, ...]]] = [
    ("negative default precision", lambda: {"options": {"default_precision": -1.0}}, ("default_precision",)),
    (
        "NaN default precision",
        lambda: {"options": {"default_precision": float("nan")}},
        ("default_precision",),
    ),
    ("shots run option", lambda: {"options": {"run_options": {"shots": 100}}}, ("shots",)),
    (
        "parameter_binds run option",
        lambda: {"options": {"run_options": {"parameter_binds": [{}]}}},
        ("parameter_binds",),
    ),
    ("shots backend option", lambda: {"options": {"backend_options": {"shots": 100}}}, ("shots",)),
    ("unknown option", lambda: {"options": {"shots": 100}}, ("unknown estimator option",)),
    ("foreign backend", lambda: {"backend": BasicSimulator()}, ("CupySimulator", "BasicSimulator")),
    ("not a backend", lambda: {"backend": object()}, ("CupySimulator",)),
]


@pytest.mark.parametrize(
    ("arguments", "fragments"), [pytest.param(*case[1:], id=case[0]) for case in BAD_OPTIONS]
)
def test_bad_options_raise_invalid_option_error(
    arguments: Callable[[], dict], fragments: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidOptionError) as raised:
        EstimatorV2(**arguments())
    for fragment in fragments:
        assert fragment in str(raised.value), (fragment, str(raised.value))
    assert_still_works(EstimatorV2(options={"backend_options": {"device": "CPU"}}))


# --- empty inputs --------------------------------------------------------------------


def test_no_pubs_give_an_empty_result(backend: CupySimulator) -> None:
    reference = StatevectorEstimator().run([]).result()
    estimator = EstimatorV2(backend=backend)
    result = estimator.run([]).result()
    assert isinstance(result, PrimitiveResult)
    assert len(result) == len(reference) == 0
    assert result.metadata == {"version": 2}
    assert_still_works(estimator)


@pytest.mark.parametrize("with_other_pub", [False, True], ids=["alone", "after_another_pub"])
def test_a_pub_without_parameter_sets_gives_empty_values(
    backend: CupySimulator, with_other_pub: bool
) -> None:
    empty = (parametrized("empty"), "ZZ", np.empty((0, 2)))
    pubs = [(bell(), "XX"), empty] if with_other_pub else [empty]
    expected = StatevectorEstimator().run(pubs).result()
    estimator = EstimatorV2(backend=backend)
    result = estimator.run(pubs).result()
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        assert got.data.evs.shape == want.data.evs.shape
        assert got.data.stds.shape == want.data.evs.shape
        np.testing.assert_allclose(got.data.evs, want.data.evs, rtol=0, atol=DOUBLE_ATOL)
    assert_still_works(estimator)

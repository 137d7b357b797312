"""pytest-benchmark suites of the native estimator, side by side with its peers.

- 1,000 parameter sets of a 12-qubit, 4-layer hardware-efficient ansatz with a 20-term
  Pauli observable: qiskit-cupy's ``EstimatorV2`` (CPU fallback here; the GPU where one
  is usable) against Qiskit Aer's ``EstimatorV2``.
- 100 parameter sets of a 16-qubit ansatz with a 50-term ``SparseObservable`` that has
  projector terms: qiskit-cupy natively against Qiskit's ``StatevectorEstimator`` on the
  same observable expanded into Paulis (no peer takes projectors).

Each group's table shows the ratio. Off by default; run them with::

    python -m pytest tests/benchmarks/test_bench_primitives.py -o addopts=-ra \
        --benchmark-only --benchmark-group-by=group

Before timing, every peer's values are checked against qiskit-cupy's (1e-8).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparseObservable, SparsePauliOp

from qiskit_cupy.devices.gpu import gpu_unavailable_reason
from qiskit_cupy.primitives import EstimatorV2

aer_primitives = pytest.importorskip("qiskit_aer.primitives", reason="Aer is the peer")

#: The devices qiskit-cupy's estimator runs on here.
DEVICES = ["CPU"] + (["GPU"] if gpu_unavailable_reason() is None else [])


def ansatz(width: int, layers: int) -> QuantumCircuit:
    """A hardware-efficient ansatz: RY and RZ on every qubit, then a CX chain, per layer."""
    theta = ParameterVector("theta", 2 * width * layers)
    circuit = QuantumCircuit(width)
    for layer in range(layers):
        for qubit in range(width):
            circuit.ry(theta[2 * (layer * width + qubit)], qubit)
            circuit.rz(theta[2 * (layer * width + qubit) + 1], qubit)
        for qubit in range(width - 1):
            circuit.cx(qubit, qubit + 1)
    return circuit


def pauli_observable(width: int, terms: int, seed: int) -> SparsePauliOp:
    """Random Pauli strings with random real coefficients."""
    rng = np.random.default_rng(seed)
    labels = ["".join(rng.choice(list("IXYZ"), width)) for _ in range(terms)]
    return SparsePauliOp(labels, rng.normal(size=terms))


def projector_observable(width: int, terms: int, seed: int) -> SparseObservable:
    """Terms of two to four factors, a third of them with projectors 0, 1, +, -, r, l."""
    rng = np.random.default_rng(seed)
    sparse = []
    for term in range(terms):
        qubits = sorted(rng.choice(width, size=int(rng.integers(2, 5)), replace=False).tolist())
        letters = "XYZ01+-rl" if term % 3 == 0 else "XYZ"
        sparse.append(("".join(rng.choice(list(letters), len(qubits))), qubits, rng.normal()))
    return SparseObservable.from_sparse_list(sparse, width)


ESTIMATORS: dict[str, Callable[[], object]] = {
    **{
        f"cupy-{device.lower()}": (lambda d=device: EstimatorV2(options={"backend_options": {"device": d}}))
        for device in DEVICES
    },
    "aer": lambda: aer_primitives.EstimatorV2(),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_hea_parameter_sets(benchmark, name: str) -> None:
    circuit = ansatz(12, 4)
    observable = pauli_observable(12, 20, seed=3)
    values = np.random.default_rng(7).uniform(-np.pi, np.pi, size=(1000, circuit.num_parameters))
    estimator = ESTIMATORS[name]()
    reference = EstimatorV2(options={"backend_options": {"device": "CPU"}})
    expected = reference.run([(circuit, observable, values)]).result()[0].data.evs
    benchmark.group = "estimator: 1000 parameter sets, 12 qubits, 4 layers, 20 Pauli terms"

    def run() -> np.ndarray:
        return estimator.run([(circuit, observable, values)]).result()[0].data.evs

    evs = benchmark.pedantic(run, warmup_rounds=1, rounds=3, iterations=1)
    np.testing.assert_allclose(evs, expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", [f"cupy-{device.lower()}" for device in DEVICES] + ["statevector"])
def test_projector_observable(benchmark, name: str) -> None:
    circuit = ansatz(16, 2)
    observable = projector_observable(16, 50, seed=5)
    values = np.random.default_rng(9).uniform(-np.pi, np.pi, size=(100, circuit.num_parameters))
    reference = EstimatorV2(options={"backend_options": {"device": "CPU"}})
    expected = reference.run([(circuit, observable, values)]).result()[0].data.evs
    if name == "statevector":
        estimator, pub_observable = StatevectorEstimator(), SparsePauliOp.from_sparse_observable(observable)
    else:
        device = name.removeprefix("cupy-").upper()
        estimator = EstimatorV2(options={"backend_options": {"device": device}})
        pub_observable = observable
    benchmark.group = "estimator: 100 parameter sets, 16 qubits, 50-term SparseObservable"

    def run() -> np.ndarray:
        return estimator.run([(circuit, pub_observable, values)]).result()[0].data.evs

    evs = benchmark.pedantic(run, warmup_rounds=0, rounds=1, iterations=1)
    np.testing.assert_allclose(evs, expected, rtol=0, atol=1e-8)

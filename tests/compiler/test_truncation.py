"""Idle qubits are removed as Aer's truncation removes them, and nothing else changes.

References: qiskit.quantum_info.Statevector of the full circuit (the truncated state
placed on the used qubits, the others |0>), and StatevectorEstimator/StatevectorSampler
semantics for circuits too wide for any state.
"""

from __future__ import annotations

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_cupy.compiler.truncation import truncate_idle_qubits
from qiskit_cupy.primitives import EstimatorV2, SamplerV2


def _sparse_circuit(width: int) -> QuantumCircuit:
    """H on 1, RY(theta) on 4, CX 1 -> 4, a barrier over every qubit, a delay on qubit 0."""
    circuit = QuantumCircuit(width, name="sparse")
    circuit.h(1)
    circuit.ry(Parameter("theta"), 4)
    circuit.barrier()
    circuit.delay(10, 0)
    circuit.cx(1, 4)
    return circuit


def test_the_truncated_state_is_the_full_state_on_the_used_qubits() -> None:
    circuit = _sparse_circuit(6).assign_parameters([0.7])
    smaller, positions = truncate_idle_qubits(circuit)
    assert smaller.num_qubits == 2
    assert positions == [-1, 0, -1, -1, 1, -1]
    full = Statevector(circuit).data
    expected = np.zeros_like(full)
    for index, amplitude in enumerate(Statevector(smaller).data):
        expected[((index & 1) << 1) | ((index >> 1) << 4)] = amplitude
    np.testing.assert_allclose(full, expected, atol=1e-12)


def test_kept_qubits_stay_and_a_fully_used_circuit_is_returned_as_it_is() -> None:
    circuit = _sparse_circuit(6)
    smaller, positions = truncate_idle_qubits(circuit, keep=[5])
    assert smaller.num_qubits == 3 and positions == [-1, 0, -1, -1, 1, 2]
    dense = QuantumCircuit(2)
    dense.cx(0, 1)
    assert truncate_idle_qubits(dense) == (dense, [0, 1])


def test_the_estimator_runs_a_wide_transpiled_circuit_on_its_used_qubits() -> None:
    wide = _sparse_circuit(80)
    observable = SparsePauliOp.from_sparse_list(
        [("ZZ", [1, 4], 1.0), ("Z", [70], 0.5), ("XX", [1, 4], -0.25)], 80
    )
    values = np.linspace(-2, 2, 5)
    evs = (
        EstimatorV2(options={"backend_options": {"device": "CPU"}})
        .run([(wide, observable, values[:, None])])
        .result()[0]
        .data.evs
    )
    small = _sparse_circuit(5)
    reference = SparsePauliOp.from_sparse_list([("ZZ", [1, 4], 1.0), ("XX", [1, 4], -0.25)], 5)
    for value, ev in zip(values, evs):
        exact = Statevector(small.assign_parameters([value])).expectation_value(reference).real
        np.testing.assert_allclose(ev, exact + 0.5, atol=1e-10)  # Z on an idle |0> is +1


def test_the_sampler_keeps_every_classical_bit_in_its_place() -> None:
    qubits, low, high = QuantumRegister(90), ClassicalRegister(2, "low"), ClassicalRegister(3, "high")
    circuit = QuantumCircuit(qubits, low, high)
    circuit.x(60)
    circuit.measure(60, high[2])
    circuit.measure(7, low[1])
    data = (
        SamplerV2(seed=1, options={"backend_options": {"device": "CPU"}})
        .run([circuit], shots=20)
        .result()[0]
        .data
    )
    assert data.high.get_counts() == {"100": 20}
    assert data.low.get_counts() == {"00": 20}

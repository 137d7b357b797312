"""Matrix operations wider than the dense kernels (6-10 qubits) run through each device's BLAS."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import Statevector, random_unitary

from qiskit_cupy import CupySimulator

TOLERANCE = {"double": 1e-10, "single": 2e-5}


def _prepared(width: int, rng: np.random.Generator) -> QuantumCircuit:
    circuit = QuantumCircuit(width)
    for qubit in range(width):
        circuit.u(*rng.uniform(-np.pi, np.pi, size=3), qubit)
    return circuit


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("size", [6, 7, 8, 9, 10])
def test_wide_unitary_matches_statevector(backend, size: int, precision: str) -> None:
    rng = np.random.default_rng(size)
    circuit = _prepared(size + 2, rng)
    targets = [int(q) for q in rng.permutation(size + 2)[:size]]
    circuit.append(UnitaryGate(random_unitary(1 << size, seed=size)), targets)
    circuit.cx(0, size + 1)
    state = backend.run(circuit, save_statevector=True, precision=precision).result().get_statevector()
    np.testing.assert_allclose(state.data, Statevector(circuit).data, atol=TOLERANCE[precision])


@pytest.mark.parametrize("precision", ["double", "single"])
def test_controlled_wide_unitary_matches_statevector(backend, precision: str) -> None:
    rng = np.random.default_rng(3)
    circuit = _prepared(9, rng)
    block = random_unitary(1 << 6, seed=4).data
    # a 7-qubit matrix that acts on its top qubit as a control held at 0
    controlled = np.eye(1 << 7, dtype=complex)
    controlled[: 1 << 6, : 1 << 6] = block
    circuit.append(UnitaryGate(controlled), [5, 0, 7, 2, 8, 3, 6])
    state = backend.run(circuit, save_statevector=True, precision=precision).result().get_statevector()
    np.testing.assert_allclose(state.data, Statevector(circuit).data, atol=TOLERANCE[precision])


def test_wide_unitary_with_measurements_and_bindings(backend) -> None:
    theta = Parameter("theta")
    rng = np.random.default_rng(5)
    circuit = _prepared(8, rng)
    circuit.ry(theta, 0)
    circuit.append(UnitaryGate(random_unitary(1 << 6, seed=6)), [7, 1, 2, 3, 4, 5])
    values = [0.1, 1.3, -2.0]
    result = backend.run(circuit, parameter_binds=[{theta: values}], save_statevector=True).result()
    for entry, value in enumerate(values):
        expected = Statevector(circuit.assign_parameters({theta: value})).data
        np.testing.assert_allclose(result.get_statevector(entry).data, expected, atol=1e-10)


@pytest.mark.parametrize("ctrl_state", [0, 1])
def test_controlled_wide_unitary_runs_by_its_base_matrix(ctrl_state: int) -> None:
    """A controlled 6-qubit unitary (the narrowest the kernels leave to BLAS) is applied
    from its base matrix, not its synthesis."""
    circuit = QuantumCircuit(9)
    circuit.h(range(9))
    base = random_unitary(2**6, seed=11).data
    circuit.append(UnitaryGate(base).control(1, ctrl_state=ctrl_state), range(7))
    # The reference builds the controlled matrix itself (qubit 0, the control, is bit 0)
    # rather than evolve through the gate's synthesized definition.
    controlled = np.zeros((2**7, 2**7), dtype=complex)
    controlled[ctrl_state::2, ctrl_state::2] = base
    controlled[1 - ctrl_state :: 2, 1 - ctrl_state :: 2] = np.eye(2**6)
    expected = Statevector.from_label("+" * 9).evolve(controlled, qargs=list(range(7))).data
    result = CupySimulator(device="CPU").run(circuit, save_statevector=True).result()
    np.testing.assert_allclose(result.get_statevector().data, expected, atol=1e-10)

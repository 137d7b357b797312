"""Final states against qiskit.quantum_info.Statevector on random circuits.

Tolerances: double precision amplitudes agree within 1e-10; single precision within
5e-5 (float32 rounding of ~1e-7 per op, accumulated over up to ~60 ops).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import Statevector

from conftest import STANDIN, blocked_run_launches, device_param
from random_circuits import STANDARD_GATES, low_heavy_circuit, random_circuit

TOLERANCE = {"double": 1e-10, "single": 5e-5}

#: 300 random circuits: widths 1..12, 4 to 60 gates each.
CASES = [(1 + index % 12, 4 + (index * 7) % 57, 1000 + index) for index in range(300)]


def final_state(backend, circuit: QuantumCircuit, precision: str) -> np.ndarray:
    result = backend.run(circuit, save_statevector=True, precision=precision).result()
    return np.asarray(result.get_statevector(0))


@pytest.mark.parametrize("precision", ["double", "single"])
def test_random_circuits_match_statevector(backend, precision: str) -> None:
    circuits = [random_circuit(n, gates, seed) for n, gates, seed in CASES]
    result = backend.run(circuits, save_statevector=True, precision=precision).result()
    for index, circuit in enumerate(circuits):
        expected = Statevector(circuit).data
        actual = np.asarray(result.get_statevector(index))
        np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[precision], err_msg=circuit.name)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_circuits_wider_than_a_gpu_block_match_statevector(
    backend, precision: str, request: pytest.FixtureRequest
) -> None:
    """A state of 13 qubits, most gates on the 8 lowest: on a GPU, runs of them are applied
    in shared-memory blocks (qc_apply_blocked_run), the others op by op."""
    circuits = [low_heavy_circuit(13, 24, 71)]
    before = blocked_run_launches(precision)
    result = backend.run(circuits, save_statevector=True, precision=precision).result()
    for index, circuit in enumerate(circuits):
        expected = Statevector(circuit).data
        actual = np.asarray(result.get_statevector(index))
        np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[precision], err_msg=circuit.name)
    if device_param(request) == STANDIN:
        assert blocked_run_launches(precision) > before


def test_every_standard_gate_is_exercised() -> None:
    used = set()
    for n, gates, seed in CASES:
        used.update(instruction.operation.name for instruction in random_circuit(n, gates, seed).data)
    assert set(STANDARD_GATES) <= used


@pytest.mark.parametrize("name", sorted(STANDARD_GATES))
def test_each_standard_gate_on_reversed_qubits(backend, name: str) -> None:
    gate = STANDARD_GATES[name]
    rng = np.random.default_rng(len(name))
    gate = gate.base_class(*rng.uniform(-3, 3, size=len(gate.params))) if gate.params else gate.base_class()
    width = gate.num_qubits + 2
    circuit = QuantumCircuit(width)
    for qubit in range(width):
        circuit.ry(0.3 + 0.4 * qubit, qubit)
        circuit.rz(0.2 * qubit - 0.5, qubit)
    circuit.append(gate, list(range(width - 1, width - 1 - gate.num_qubits, -1)))
    np.testing.assert_allclose(
        final_state(backend, circuit, "double"), Statevector(circuit).data, rtol=0, atol=1e-12
    )


def test_save_statevector_instruction_mid_circuit(backend) -> None:
    from qiskit_aer.library import SaveStatevector

    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 2)
    circuit.append(SaveStatevector(3, label="middle"), [0, 1, 2])
    circuit.ry(0.7, 1)
    circuit.append(SaveStatevector(3), [0, 1, 2])
    data = backend.run(circuit).result().data(0)
    middle = circuit.copy()
    middle.data = middle.data[:2]
    np.testing.assert_allclose(data["middle"].data, Statevector(middle).data, atol=1e-12)
    final = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name != "save_statevector":
            final.append(instruction)
    np.testing.assert_allclose(data["statevector"].data, Statevector(final).data, atol=1e-12)


def test_wide_diagonal_is_split_exactly(backend) -> None:
    from qiskit.circuit.library import DiagonalGate

    rng = np.random.default_rng(5)
    circuit = QuantumCircuit(8)
    circuit.h(range(8))
    circuit.unitary(np.diag(np.exp(1j * rng.uniform(-np.pi, np.pi, 1 << 7))), [6, 0, 3, 1, 7, 2, 5])
    circuit.append(DiagonalGate(list(np.exp(1j * rng.uniform(-1, 1, 4)))), [4, 2])
    np.testing.assert_allclose(final_state(backend, circuit, "double"), Statevector(circuit).data, atol=1e-12)

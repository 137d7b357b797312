"""Memory accounting: what an experiment needs, wide-matrix temporaries included."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import random_unitary

from qiskit_cupy.compiler.lowering import lower_circuit
from qiskit_cupy.devices.cpu import CpuDevice
from qiskit_cupy.errors import InsufficientMemoryError
from qiskit_cupy.runtime.memory import required_bytes, usable_streams, wide_matrix_bytes


def test_state_only_circuit_needs_its_state() -> None:
    circuit = QuantumCircuit(10)
    circuit.h(range(10))
    lowered = lower_circuit(circuit)
    assert required_bytes(lowered, 1, "double") == 16 << 10
    assert required_bytes(lowered, 1, "single", batch=3) == 3 * (8 << 10)


def test_measurements_add_probabilities_and_samples() -> None:
    circuit = QuantumCircuit(10)
    circuit.h(range(10))
    circuit.measure_all()
    lowered = lower_circuit(circuit)
    needed = required_bytes(lowered, 100, "double")
    assert needed >= (16 << 10) + 8 * (1 << 10) + 8 * 100


def test_wide_matrices_add_their_gather_product_and_matrix() -> None:
    """A 7-qubit unitary on 9 qubits: the gathered rows, their product, and the matrix."""
    circuit = QuantumCircuit(9)
    circuit.append(UnitaryGate(random_unitary(2**7, seed=3)), range(7))
    lowered = lower_circuit(circuit)
    wide = wide_matrix_bytes(lowered, "double", 1)
    assert wide == 2 * (16 << 9) + 16 * 4**7
    assert required_bytes(lowered, 1, "double") == (16 << 9) + wide


class _SmallDevice(CpuDevice):
    """A CPU device that reports a fixed amount of free memory."""

    def __init__(self, free: int) -> None:
        super().__init__(1)
        self._free = free

    def free_memory(self) -> int:
        return self._free


def test_usable_streams_are_bounded_by_free_memory() -> None:
    device = _SmallDevice(free=1 << 30)
    assert usable_streams(device, 1 << 28, 8) == 4
    assert usable_streams(device, 1 << 10, 8) == 8


def test_a_stream_that_cannot_fit_is_refused_with_both_sizes() -> None:
    device = _SmallDevice(free=1 << 27)
    with pytest.raises(InsufficientMemoryError, match=str(1 << 28)) as raised:
        usable_streams(device, 1 << 28, 1)
    assert str(1 << 27) in str(raised.value)

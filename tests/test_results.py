"""Result contents: counts and memory in hex, registers, header, statevector, metadata."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.quantum_info import Statevector


def test_counts_into_several_registers_and_arbitrary_clbits(backend) -> None:
    qubits = QuantumRegister(4, "q")
    low, high = ClassicalRegister(2, "low"), ClassicalRegister(3, "high")
    circuit = QuantumCircuit(qubits, low, high, name="registers")
    circuit.x([0, 2])
    circuit.measure(0, high[2])
    circuit.measure(1, low[0])
    circuit.measure(2, low[1])
    circuit.measure(3, high[0])
    result = backend.run(circuit, shots=50, memory=True).result()
    assert result.get_counts() == {"100 10": 50}
    assert result.get_memory() == ["100 10"] * 50
    raw = result.results[0].data.counts
    assert raw == {hex(0b10010): 50}
    header = result.results[0].header
    assert header["creg_sizes"] == [["low", 2], ["high", 3]]
    assert header["memory_slots"] == 5
    assert header["name"] == "registers"


def test_last_measurement_into_a_clbit_wins_and_one_qubit_feeds_two_clbits(backend) -> None:
    circuit = QuantumCircuit(2, 3)
    circuit.x(1)
    circuit.measure(0, 0)
    circuit.measure(1, 0)
    circuit.measure(1, 2)
    assert backend.run(circuit, shots=7).result().get_counts() == {"101": 7}


def test_unmeasured_clbits_read_zero_and_circuit_without_measurement_has_no_counts(backend) -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.x(0)
    circuit.measure(0, 1)
    assert backend.run(circuit, shots=3).result().get_counts() == {"10": 3}
    bare = QuantumCircuit(2)
    bare.h(0)
    data = backend.run(bare, shots=3).result().data(0)
    assert "counts" not in data


def test_memory_matches_counts(backend) -> None:
    circuit = QuantumCircuit(3)
    circuit.h(range(3))
    circuit.measure_all()
    result = backend.run(circuit, shots=500, memory=True, seed_simulator=11).result()
    memory = result.get_memory()
    assert len(memory) == 500
    recount: dict[str, int] = {}
    for bits in memory:
        recount[bits] = recount.get(bits, 0) + 1
    assert recount == result.get_counts()


def test_statevector_option_and_metadata(backend, device_name: str) -> None:
    circuit = QuantumCircuit(3, name="sv")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.ry(0.4, 2)
    circuit.measure_all()
    result = backend.run(circuit, shots=10, save_statevector=True, seed_simulator=5).result()
    expected = Statevector(circuit.remove_final_measurements(inplace=False))
    np.testing.assert_allclose(result.get_statevector().data, expected.data, atol=1e-12)
    experiment = result.results[0]
    assert experiment.seed_simulator == 5
    assert experiment.metadata["device"] == device_name
    assert experiment.metadata["precision"] == "double"
    assert experiment.metadata["measured_qubits"] == [0, 1, 2]
    assert result.backend_name == "cupy_simulator"
    assert result.success


def test_single_precision_statevector_is_returned_as_complex128(backend) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    state = backend.run(circuit, precision="single", save_statevector=True).result().get_statevector()
    assert state.data.dtype == np.complex128
    np.testing.assert_allclose(state.data, [2**-0.5, 2**-0.5, 0, 0], atol=1e-7)


@pytest.mark.parametrize("width", [0, 1])
def test_tiny_circuits(backend, width: int) -> None:
    circuit = QuantumCircuit(width, width)
    if width:
        circuit.x(0)
        circuit.measure(0, 0)
    result = backend.run(circuit, shots=4, save_statevector=True).result()
    assert result.get_statevector().data.shape == (2**width,)
    if width:
        assert result.get_counts() == {"1": 4}

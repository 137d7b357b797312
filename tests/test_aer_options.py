"""Aer's spellings and values of options that mean the same thing here (``method``,
``fusion_max_qubit``, shots given as an integral float, ``max_memory_mb``,
``fusion_verbose``), Aer's ``save_state`` and ``set_statevector`` instructions, and the
result metadata under Aer's keys. References: ``qiskit.quantum_info`` states."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction
from qiskit.quantum_info import DensityMatrix, Statevector, random_statevector
from qiskit_aer.library import SaveState, SetStatevector
from qiskit_aer.noise import NoiseModel, depolarizing_error

from qiskit_cupy import CupySimulator, InvalidOptionError
from qiskit_cupy.errors import InsufficientMemoryError, InvalidCircuitError, UnsupportedInstructionError
from random_circuits import random_circuit
from test_bad_input import assert_still_usable, bell


@pytest.mark.parametrize("method", ["automatic", "statevector", "Statevector"])
def test_statevector_methods_run_as_the_default(cpu_backend: CupySimulator, method: str) -> None:
    default = cpu_backend.run(bell(), shots=200, seed_simulator=5).result()
    chosen = cpu_backend.run(bell(), shots=200, seed_simulator=5, method=method).result()
    assert chosen.get_counts() == default.get_counts()
    assert chosen.results[0].metadata["method"] == "statevector"


@pytest.mark.parametrize("method", ["stabilizer", "matrix_product_state", "unitary", "extended_stabilizer"])
def test_other_aer_methods_are_refused_by_name(cpu_backend: CupySimulator, method: str) -> None:
    with pytest.raises(InvalidOptionError, match=f"method '{method}' is not supported"):
        cpu_backend.run(bell(), method=method)
    with pytest.raises(InvalidOptionError, match=method):
        cpu_backend.set_options(method=method)
    with pytest.raises(InvalidOptionError, match="method must be one of automatic, statevector"):
        cpu_backend.run(bell(), method="quantum")
    assert_still_usable(cpu_backend)


def test_fusion_max_qubit_is_read_as_fusion_max_qubits() -> None:
    circuit = random_circuit(8, 60, seed=3)
    circuit.measure_all()
    for size in (1, 3):
        ours = CupySimulator(device="CPU", fusion_threshold=1, fusion_max_qubits=size)
        aers = CupySimulator(device="CPU", fusion_threshold=1, fusion_max_qubit=size)
        assert aers.options.fusion_max_qubits == size
        expected = ours.run(circuit, shots=100, seed_simulator=2).result()
        given = aers.run(circuit, shots=100, seed_simulator=2).result()
        assert given.results[0].metadata["num_ops"] == expected.results[0].metadata["num_ops"]
        assert given.get_counts() == expected.get_counts()
    backend = CupySimulator(device="CPU")
    backend.set_options(fusion_max_qubit=2)
    assert backend.options.fusion_max_qubits == 2
    with pytest.raises(InvalidOptionError, match="fusion_max_qubits must be at least 1 and at most 5"):
        backend.run(circuit, fusion_max_qubit=9)
    with pytest.raises(InvalidOptionError, match="not both"):
        backend.run(circuit, fusion_max_qubit=2, fusion_max_qubits=3)
    assert_still_usable(backend)


def test_shots_as_an_integral_float(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1)
    circuit.h(0)
    circuit.measure_all()
    result = cpu_backend.run(circuit, shots=1e3, seed_simulator=1).result()
    assert sum(result.get_counts().values()) == 1000
    assert result.results[0].shots == 1000
    for bad in (1000.5, math.nan, math.inf, -3.0, 0.0):
        with pytest.raises(InvalidOptionError, match="shots"):
            cpu_backend.run(circuit, shots=bad)
    assert_still_usable(cpu_backend)


# -- Aer's instructions and result metadata ---------------------------------------------


def test_save_state_saves_the_methods_state(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.append(SaveState(2), [0, 1])
    expected = Statevector(np.array([1, 0, 0, 1]) / np.sqrt(2))
    vector = cpu_backend.run(circuit).result().data(0)["statevector"]
    assert vector.equiv(expected)
    rho = cpu_backend.run(circuit, method="density_matrix").result().data(0)["density_matrix"]
    assert isinstance(rho, DensityMatrix)
    np.testing.assert_allclose(rho.data, DensityMatrix(expected).data, atol=1e-12)


def test_set_statevector_replaces_the_state_anywhere_before_measurements(backend: CupySimulator) -> None:
    state = random_statevector(8, seed=3)
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.append(SetStatevector(state), [0, 1, 2])
    circuit.cx(0, 2)
    circuit.save_statevector()
    after = QuantumCircuit(3)
    after.cx(0, 2)
    result = backend.run(circuit).result()
    np.testing.assert_allclose(result.get_statevector().data, state.evolve(after).data, atol=1e-12)
    assert isinstance(result.get_statevector(), Statevector)


@pytest.mark.parametrize(
    ("amplitudes", "message"),
    [([1, 1, 0, 0], "norm"), ([np.nan, 1, 0, 0], "not finite"), ([1, 0], "needs 4 amplitudes")],
    ids=["norm", "nan", "size"],
)
def test_a_bad_set_statevector_is_refused(cpu_backend: CupySimulator, amplitudes: list, message: str) -> None:
    circuit = QuantumCircuit(2)
    circuit.append(Instruction("set_statevector", 2, 0, [np.array(amplitudes, dtype=complex)]), [0, 1])
    with pytest.raises(InvalidCircuitError, match=message):
        cpu_backend.run(circuit)


def test_set_statevector_in_a_dynamic_circuit_is_refused_by_name(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    circuit.append(SetStatevector([0, 1]), [0])
    circuit.measure(0, 0)
    with pytest.raises(UnsupportedInstructionError, match="set_statevector"):
        cpu_backend.run(circuit)


def test_result_metadata_uses_aers_keys(cpu_backend: CupySimulator) -> None:
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.1, 1), ["h"])
    circuit = QuantumCircuit(1)
    circuit.h(0)
    circuit.measure_all()
    cases = [
        ({}, "statevector", "ideal", True),
        ({"noise_model": model}, "statevector", "circuit", False),
        ({"method": "density_matrix"}, "density_matrix", "ideal", True),
        ({"method": "density_matrix", "noise_model": model}, "density_matrix", "superop", True),
    ]
    for options, method, noise, sampling in cases:
        result = cpu_backend.run(circuit, shots=10, max_memory_mb=64, fusion_verbose=True, **options).result()
        metadata = result.results[0].metadata
        assert (metadata["method"], metadata["noise"], metadata["measure_sampling"]) == (
            method,
            noise,
            sampling,
        )
        assert metadata["num_qubits"] == 1 and metadata["max_memory_mb"] == 64
        assert metadata["fusion"]["max_fused_qubits"] == 5 and metadata["fusion"]["threshold"] == 14
        assert metadata["fusion"]["output_ops"] == metadata["num_ops"]
        assert result.results[0].time_taken >= 0


def test_max_memory_mb_refuses_a_job_that_needs_more(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(20)  # 16 MiB of double amplitudes
    circuit.h(0)
    with pytest.raises(InsufficientMemoryError, match="max_memory_mb=8"):
        cpu_backend.run(circuit, max_memory_mb=8)
    assert cpu_backend.run(circuit, max_memory_mb=64, shots=1).result().success

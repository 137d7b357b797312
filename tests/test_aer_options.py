"""Aer's spellings and values of options that mean the same thing here: ``method``,
``fusion_max_qubit`` and shots given as an integral float."""

from __future__ import annotations

import math

import pytest
from qiskit import QuantumCircuit

from qiskit_cupy import CupySimulator, InvalidOptionError
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

"""The provider is found through its installed entry point and hands out the backend."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from qiskit.circuit.library import get_standard_gate_name_mapping

from qiskit_cupy import CupyProvider, CupySimulator, CupySimulatorError
from qiskit_cupy.discovery import (
    PROVIDER_GROUP,
    load_provider,
    load_providers,
    provider_entry_points,
)


def test_entry_point_is_installed() -> None:
    names = {entry.name: entry.value for entry in entry_points(group="qiskit.providers")}
    assert names["cupy"] == "qiskit_cupy.provider:CupyProvider"
    assert PROVIDER_GROUP == "qiskit.providers"
    assert "cupy" in provider_entry_points()


def test_load_provider_through_entry_point() -> None:
    provider = load_provider("cupy")
    assert isinstance(provider, CupyProvider)
    assert isinstance(load_providers()["cupy"], CupyProvider)
    backend = provider.get_backend("cupy_simulator", device="CPU")
    assert isinstance(backend, CupySimulator)
    assert backend.options.device == "CPU"
    assert [b.name for b in provider.backends()] == ["cupy_simulator"]
    assert provider.backends(name="nothing") == []


def test_unknown_names_raise() -> None:
    with pytest.raises(CupySimulatorError, match="no provider named 'nope'.*cupy"):
        load_provider("nope")
    with pytest.raises(CupySimulatorError, match="no backend named"):
        CupyProvider().get_backend("other")


def test_backend_target_and_defaults() -> None:
    backend = CupySimulator()
    assert backend.target.num_qubits is None
    assert backend.max_circuits is None
    names = set(backend.target.operation_names)
    assert set(get_standard_gate_name_mapping()) <= names
    assert {
        "unitary",
        "measure",
        "reset",
        "delay",
        "barrier",
        "if_else",
        "while_loop",
        "for_loop",
        "switch_case",
        "break_loop",
        "continue_loop",
        "box",
        "store",
    } <= names
    assert {
        "save_statevector",
        "save_statevector_dict",
        "save_probabilities",
        "save_probabilities_dict",
        "save_amplitudes",
        "save_amplitudes_sq",
        "save_expval",
        "save_expval_var",
        "save_density_matrix",
    } <= names
    options = backend.options
    assert options.shots == 1024 and options.seed_simulator is None and options.memory is False
    assert options.precision == "double" and options.device == "auto"
    assert options.max_parallel_experiments == 1


def test_transpile_to_target_then_run(cpu_backend: CupySimulator) -> None:
    from qiskit import QuantumCircuit, transpile
    from qiskit.circuit.library import QFTGate

    circuit = QuantumCircuit(4)
    circuit.x(0)
    circuit.append(QFTGate(4), range(4))
    circuit.append(QFTGate(4).inverse(), range(4))
    circuit.measure_all()
    direct = cpu_backend.run(circuit, shots=20).result().get_counts()
    transpiled = cpu_backend.run(transpile(circuit, cpu_backend), shots=20).result().get_counts()
    assert direct == transpiled == {"0001": 20}

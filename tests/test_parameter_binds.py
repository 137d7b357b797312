"""parameter_binds: many bindings of one circuit run as one batch of states."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Statevector

from conftest import STANDIN, blocked_run_launches, device_param
from qiskit_cupy import InvalidOptionError

PARAMETRIC_GATES = sorted(
    name for name, gate in get_standard_gate_name_mapping().items() if gate.params and name != "delay"
)


def hea(width: int, layers: int) -> tuple[QuantumCircuit, ParameterVector]:
    theta = ParameterVector("t", 2 * width * layers)
    circuit = QuantumCircuit(width)
    index = 0
    for _ in range(layers):
        for qubit in range(width):
            circuit.ry(theta[index], qubit)
            circuit.rz(2 * theta[index + 1] + 0.5, qubit)
            index += 2
        for qubit in range(width - 1):
            circuit.cx(qubit, qubit + 1)
    return circuit, theta


@pytest.mark.parametrize("precision", ["double", "single"])
def test_bound_states_match_statevector(backend, precision: str) -> None:
    circuit, theta = hea(5, 2)
    circuit.global_phase = theta[0] / 3
    values = np.random.default_rng(1).uniform(-np.pi, np.pi, size=(7, len(theta)))
    binds = [{parameter: values[:, i] for i, parameter in enumerate(theta)}]
    result = backend.run(circuit, parameter_binds=binds, save_statevector=True, precision=precision).result()
    assert len(result.results) == 7
    tolerance = 1e-10 if precision == "double" else 5e-5
    for entry in range(7):
        expected = Statevector(circuit.assign_parameters(values[entry])).data
        np.testing.assert_allclose(result.get_statevector(entry).data, expected, atol=tolerance)
        assert result.results[entry].metadata["batch_size"] == 7


@pytest.mark.parametrize("precision", ["double", "single"])
def test_bindings_of_a_state_wider_than_a_gpu_block(backend, precision: str, request) -> None:
    """13 qubits: on a GPU the layers on the low qubits run as blocked runs, whose ops
    hold one matrix per binding (data per batch entry)."""
    circuit, theta = hea(13, 1)
    values = np.random.default_rng(2).uniform(-np.pi, np.pi, size=(3, len(theta)))
    binds = [{parameter: values[:, i] for i, parameter in enumerate(theta)}]
    before = blocked_run_launches(precision)
    result = backend.run(circuit, parameter_binds=binds, save_statevector=True, precision=precision).result()
    tolerance = 1e-10 if precision == "double" else 5e-5
    for entry in range(3):
        expected = Statevector(circuit.assign_parameters(values[entry])).data
        np.testing.assert_allclose(result.get_statevector(entry).data, expected, atol=tolerance)
    if device_param(request) == STANDIN:
        assert blocked_run_launches(precision) > before


@pytest.mark.parametrize("name", PARAMETRIC_GATES)
def test_every_parametric_standard_gate_binds(cpu_backend, name: str) -> None:
    gate = get_standard_gate_name_mapping()[name]
    parameters = [Parameter(f"p{i}") for i in range(len(gate.params))]
    bound_gate = gate.copy()
    bound_gate.params = [parameter * 1.5 - 0.2 for parameter in parameters]
    circuit = QuantumCircuit(gate.num_qubits + 1)
    circuit.h(range(circuit.num_qubits))
    circuit.append(
        bound_gate, list(range(gate.num_qubits, 0, -1))[: gate.num_qubits] if gate.num_qubits else []
    )
    values = np.random.default_rng(len(name)).uniform(-3, 3, size=(4, len(parameters)))
    binds = [{parameter: values[:, i] for i, parameter in enumerate(parameters)}]
    result = cpu_backend.run(circuit, parameter_binds=binds, save_statevector=True).result()
    for entry in range(4):
        expected = Statevector(circuit.assign_parameters(dict(zip(parameters, values[entry])))).data
        np.testing.assert_allclose(result.get_statevector(entry).data, expected, atol=1e-10)


def test_counts_per_binding_and_seeds(backend) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1)
    circuit.rx(theta, 0)
    circuit.measure_all()
    angles = [0.0, np.pi, np.pi / 2]
    result = backend.run(circuit, parameter_binds=[{theta: angles}], shots=4000, seed_simulator=3).result()
    assert result.get_counts(0) == {"0": 4000}
    assert result.get_counts(1) == {"1": 4000}
    half = result.get_counts(2)
    assert abs(half.get("0", 0) - 2000) <= 6 * np.sqrt(1000)
    again = backend.run(circuit.assign_parameters({theta: np.pi / 2}), shots=4000, seed_simulator=3).result()
    assert again.get_counts() == half


def test_binds_mix_with_plain_circuits_and_split_into_batches(cpu_backend, monkeypatch) -> None:
    from qiskit_cupy import backend as backend_module

    monkeypatch.setattr(backend_module, "MAX_BATCH_AMPLITUDES", 1 << 4)
    circuit, theta = hea(3, 1)
    circuit.measure_all()
    plain = QuantumCircuit(2)
    plain.x(0)
    plain.measure_all()
    values = np.random.default_rng(2).uniform(-1, 1, size=(5, len(theta)))
    binds = [{}, {parameter: values[:, i] for i, parameter in enumerate(theta)}]
    result = cpu_backend.run([plain, circuit], parameter_binds=binds, shots=100, seed_simulator=1).result()
    assert len(result.results) == 6
    assert result.get_counts(0) == {"01": 100}
    assert [r.metadata["batch_size"] for r in result.results[1:]] == [2, 2, 2, 2, 1]


@pytest.mark.parametrize(
    "binds",
    [
        [{}],
        [{Parameter("other"): [1.0]}],
        "theta",
        [[1.0, 2.0]],
    ],
)
def test_bad_binds_are_explained(cpu_backend, binds) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1)
    circuit.rx(theta, 0)
    with pytest.raises(InvalidOptionError, match="parameter_binds"):
        cpu_backend.run(circuit, parameter_binds=binds)


def test_uneven_value_lists_are_explained(cpu_backend) -> None:
    a, b = Parameter("a"), Parameter("b")
    circuit = QuantumCircuit(1)
    circuit.rx(a, 0)
    circuit.ry(b, 0)
    with pytest.raises(InvalidOptionError, match="same number"):
        cpu_backend.run(circuit, parameter_binds=[{a: [1.0, 2.0], b: [1.0]}])
    with pytest.raises(InvalidOptionError, match="one dict per circuit"):
        cpu_backend.run([circuit, circuit], parameter_binds=[{a: [1.0], b: [1.0]}])

"""Bad input gives a clear exception, never a crash or a hang, and the backend stays usable."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction, Parameter

from qiskit_cupy import (
    CupySimulator,
    CupySimulatorError,
    DeviceUnavailableError,
    InsufficientMemoryError,
    InvalidCircuitError,
    InvalidOptionError,
    UnsupportedInstructionError,
)
from qiskit_cupy.devices import gpu
from qiskit_cupy.devices.gpu import gpu_unavailable_reason


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def assert_still_usable(backend: CupySimulator) -> None:
    counts = backend.run(bell(), shots=200, seed_simulator=3).result().get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 200


def test_circuit_wider_than_memory(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(45)
    circuit.h(0)
    circuit.measure_all()
    with pytest.raises(InsufficientMemoryError) as raised:
        cpu_backend.run(circuit)
    message = str(raised.value)
    required, free = (int(number) for number in re.findall(r"(\d+) bytes", message))
    assert required >= 16 * 2**45 and free < required
    assert_still_usable(cpu_backend)


def test_unsupported_instruction_is_named(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(2)
    circuit.append(Instruction("my_opaque_op", 1, 0, []), [0])
    with pytest.raises(UnsupportedInstructionError, match="my_opaque_op"):
        cpu_backend.run(circuit)
    assert_still_usable(cpu_backend)


def test_an_unsupported_instruction_inside_control_flow_is_named(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.append(Instruction("opaque_in_if", 1, 0, []), [0])
    with pytest.raises(UnsupportedInstructionError, match="opaque_in_if"):
        cpu_backend.run(circuit)
    assert_still_usable(cpu_backend)


def test_a_nan_angle_inside_control_flow_is_refused(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.rx(float("nan"), 0)
    with pytest.raises(InvalidCircuitError, match="nan|finite"):
        cpu_backend.run(circuit)
    assert_still_usable(cpu_backend)


def test_reset_of_a_used_qubit_runs(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.reset(0)
    circuit.x(0)
    circuit.measure(0, 0)
    assert cpu_backend.run(circuit, shots=10).result().get_counts() == {"1": 10}
    circuit.reset(0)
    circuit.measure(0, 0)
    assert cpu_backend.run(circuit, shots=10).result().get_counts() == {"0": 10}


def test_unbound_parameters_are_named(cpu_backend: CupySimulator) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1)
    circuit.rx(theta, 0)
    with pytest.raises(InvalidCircuitError, match="theta"):
        cpu_backend.run(circuit)
    assert_still_usable(cpu_backend)


@pytest.mark.parametrize("shots", [0, -5, 1.5, "100", True, None])
def test_bad_shots(cpu_backend: CupySimulator, shots: object) -> None:
    with pytest.raises(InvalidOptionError, match="shots"):
        cpu_backend.run(bell(), shots=shots)
    assert_still_usable(cpu_backend)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("precision", "quad"),
        ("precision", 64),
        ("device", "TPU"),
        ("seed_simulator", -1),
        ("seed_simulator", 2**64),
        ("memory", "yes"),
        ("max_parallel_experiments", -1),
        ("max_parallel_threads", 2.0),
        ("executor", "threads"),
    ],
)
def test_bad_option_values_are_named(cpu_backend: CupySimulator, name: str, value: object) -> None:
    with pytest.raises(InvalidOptionError, match=name):
        cpu_backend.run(bell(), **{name: value})
    with pytest.raises(InvalidOptionError, match=name):
        cpu_backend.set_options(**{name: value})
    assert_still_usable(cpu_backend)


def test_unknown_option_lists_the_known_ones(cpu_backend: CupySimulator) -> None:
    with pytest.raises(InvalidOptionError, match="shotz.*shots"):
        cpu_backend.run(bell(), shotz=10)


def test_option_names_are_case_insensitive_for_choices(cpu_backend: CupySimulator) -> None:
    result = cpu_backend.run(bell(), device="cpu", precision="SINGLE", shots=10).result()
    assert result.results[0].metadata["precision"] == "single"
    assert result.results[0].metadata["device"] == "CPU"


def test_empty_list_of_circuits(cpu_backend: CupySimulator) -> None:
    with pytest.raises(InvalidCircuitError, match="empty"):
        cpu_backend.run([])


@pytest.mark.parametrize("run_input", ["OPENQASM 2.0;", 42, [bell(), "x"], {"a": bell()}])
def test_non_circuit_input(cpu_backend: CupySimulator, run_input: object) -> None:
    with pytest.raises(InvalidCircuitError, match="QuantumCircuit"):
        cpu_backend.run(run_input)
    assert_still_usable(cpu_backend)


def test_errors_share_one_root_type() -> None:
    for error in (
        InvalidOptionError,
        InvalidCircuitError,
        UnsupportedInstructionError,
        InsufficientMemoryError,
        DeviceUnavailableError,
    ):
        assert issubclass(error, CupySimulatorError)


@pytest.mark.skipif(gpu_unavailable_reason() is None, reason="a usable GPU is present")
def test_gpu_request_without_gpu_says_why() -> None:
    with pytest.raises(DeviceUnavailableError, match="device='GPU' cannot be used: .+") as raised:
        CupySimulator(device="GPU").run(bell())
    assert gpu_unavailable_reason() in str(raised.value)


@pytest.mark.skipif(gpu_unavailable_reason() is None, reason="a usable GPU is present")
def test_auto_falls_back_to_cpu_with_one_warning() -> None:
    backend = CupySimulator()
    with pytest.warns(UserWarning, match="CPU fallback") as warnings_seen:
        first = backend.run(bell(), shots=10).result()
        backend.run(bell(), shots=10).result()
    assert len([w for w in warnings_seen if "CPU fallback" in str(w.message)]) == 1
    assert first.results[0].metadata["device"] == "CPU"


def test_missing_cupy_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert "CuPy is not installed" in gpu.gpu_unavailable_reason()
    with pytest.raises(DeviceUnavailableError, match="CuPy is not installed"):
        gpu.GpuDevice()


def _rx(angle: float) -> QuantumCircuit:
    circuit = QuantumCircuit(2, name="rotated")
    circuit.rx(angle, 0)
    circuit.measure_all()
    return circuit


@pytest.mark.parametrize("angle", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_gate_parameters_are_refused_at_run(cpu_backend, angle: float) -> None:
    with pytest.raises(InvalidCircuitError, match=r"circuit 0 \('rotated'\).*finite"):
        cpu_backend.run(_rx(angle))
    assert_still_usable(cpu_backend)


def test_non_finite_global_phase_is_refused_at_run(cpu_backend) -> None:
    circuit = bell()
    circuit.global_phase = float("nan")
    with pytest.raises(InvalidCircuitError, match="global phase"):
        cpu_backend.run([bell(), circuit])
    assert_still_usable(cpu_backend)


@pytest.mark.parametrize("values", [["a"], [object()], [float("nan")], [1.0, float("inf")]])
def test_bad_parameter_bind_values_are_refused(cpu_backend, values: list) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, name="bound")
    circuit.rx(theta, 0)
    circuit.measure_all()
    with pytest.raises(InvalidOptionError, match=r"circuit 0 \('bound'\).*theta"):
        cpu_backend.run(circuit, parameter_binds=[{theta: values}])
    assert_still_usable(cpu_backend)


def test_non_unitary_matrix_is_refused_at_run(cpu_backend) -> None:
    from qiskit.circuit.library import UnitaryGate

    circuit = QuantumCircuit(1, name="skewed")
    circuit.append(UnitaryGate([[1, 1], [0, 1]], check_input=False), [0])
    with pytest.raises(InvalidCircuitError, match="not unitary"):
        cpu_backend.run(circuit)
    assert_still_usable(cpu_backend)


def test_repeated_qubits_and_missing_clbits_are_refused(cpu_backend) -> None:
    from qiskit.circuit import CircuitInstruction
    from qiskit.circuit.library import CXGate, Measure

    repeated = QuantumCircuit(2, name="repeated")
    repeated._append(CircuitInstruction(CXGate(), (repeated.qubits[0], repeated.qubits[0]), ()))
    with pytest.raises(InvalidCircuitError, match="more than once"):
        cpu_backend.run(repeated)
    no_clbit = QuantumCircuit(1, 1, name="no_clbit")
    no_clbit._append(CircuitInstruction(Measure(), (no_clbit.qubits[0],), ()))
    with pytest.raises(InvalidCircuitError, match="0 clbits"):
        cpu_backend.run(no_clbit)
    assert_still_usable(cpu_backend)


def test_multi_qubit_measure_has_aers_meaning(cpu_backend) -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.x([0, 2])
    circuit.append(Instruction("measure", 3, 3, []), [0, 1, 2], [2, 1, 0])
    assert cpu_backend.run(circuit, shots=50).result().get_counts() == {"101": 50}
    circuit = QuantumCircuit(2, 2)
    circuit.x(1)
    circuit.append(Instruction("measure", 2, 2, []), [0, 1], [0, 1])
    assert cpu_backend.run(circuit, shots=50).result().get_counts() == {"10": 50}


def test_a_gate_that_only_shares_a_standard_name_runs_by_its_own_definition(cpu_backend) -> None:
    from qiskit.circuit import Gate
    from qiskit.quantum_info import Statevector

    definition = QuantumCircuit(3)
    definition.x(2)
    impostor = Gate("cx", 3, [])
    impostor.definition = definition
    circuit = QuantumCircuit(3)
    circuit.append(impostor, [0, 1, 2])
    state = cpu_backend.run(circuit, save_statevector=True).result().get_statevector()
    np.testing.assert_allclose(state.data, Statevector(circuit).data, atol=1e-12)


def _one_parameter_circuit() -> tuple[QuantumCircuit, Parameter]:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, name="swept")
    circuit.rx(theta, 0)
    circuit.measure_all()
    return circuit, theta


def _bad_binds(kind: str) -> tuple[list[QuantumCircuit], object]:
    circuit, theta = _one_parameter_circuit()
    other = Parameter("other")
    binds = {
        "not_a_list": {theta: [1.0]},
        "too_many": [{theta: [1.0]}, {theta: [2.0]}],
        "unknown": [{theta: [1.0], other: [2.0]}],
        "missing": [{}],
        "empty": [{theta: []}],
        "two_dimensional": [{theta: [[1.0, 2.0], [3.0, 4.0]]}],
        "complex": [{theta: [1j]}],
    }[kind]
    return [circuit], binds


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("not_a_list", "one dict per circuit"),
        ("too_many", "2 entries for 1 circuits"),
        ("unknown", "unknown: \\['other'\\]"),
        ("missing", "missing: \\['theta'\\]"),
        ("empty", "same number"),
        ("two_dimensional", "same number"),
        ("complex", "real numbers"),
    ],
)
def test_malformed_parameter_binds_are_refused(cpu_backend, kind: str, message: str) -> None:
    circuits, binds = _bad_binds(kind)
    with pytest.raises(InvalidOptionError, match=message):
        cpu_backend.run(circuits, parameter_binds=binds)
    assert_still_usable(cpu_backend)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fusion_max_qubits", 6),
        ("fusion_max_qubits", 0),
        ("fusion_threshold", 0),
        ("fusion_enable", "yes"),
        ("save_statevector", 1),
        ("shots", "100"),
        ("seed_simulator", 1.5),
        ("max_parallel_threads", -1),
    ],
)
def test_more_bad_option_values_are_named(cpu_backend, name: str, value: object) -> None:
    with pytest.raises(InvalidOptionError, match=name):
        cpu_backend.run(bell(), **{name: value})
    assert_still_usable(cpu_backend)


def test_non_finite_matrix_is_refused(cpu_backend) -> None:
    from qiskit.circuit.library import UnitaryGate

    circuit = QuantumCircuit(1, name="broken")
    circuit.append(UnitaryGate([[np.nan, 0], [0, 1]], check_input=False), [0])
    with pytest.raises(InvalidCircuitError, match="not finite"):
        cpu_backend.run(circuit)
    assert_still_usable(cpu_backend)


def test_the_bad_circuit_of_a_list_is_named_by_index(cpu_backend) -> None:
    bad = _rx(float("inf"))
    bad.name = "second"
    with pytest.raises(InvalidCircuitError, match=r"circuit 1 \('second'\)"):
        cpu_backend.run([bell(), bad, bell()])
    assert_still_usable(cpu_backend)

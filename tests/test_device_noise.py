"""``CupySimulator.from_backend``: a device's Target and the noise it reports, without Aer.

References: Qiskit Aer's own ``thermal_relaxation_error`` (its superoperator),
``qiskit.quantum_info.average_gate_fidelity`` for the gate errors, and
``AerSimulator.from_backend`` counts of the same transpiled circuits (chi-square bound
of ``count_statistics.py``), on Qiskit's ``GenericBackendV2``.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.quantum_info import Kraus, SuperOp, average_gate_fidelity
from qiskit_aer import AerSimulator
from qiskit_aer.noise import thermal_relaxation_error

from count_statistics import P_VALUE, chi_square_same
from qiskit_cupy import CupySimulator
from qiskit_cupy.compiler.device_noise import noise_from_target, thermal_relaxation_kraus
from qiskit_cupy.errors import InvalidOptionError

DEVICE = GenericBackendV2(num_qubits=5, seed=42)


def _channel_superop(error: object, num_qubits: int) -> SuperOp:
    """The superoperator of one of the table's errors, from its branches' own channels."""
    total = SuperOp(np.zeros((4**num_qubits, 4**num_qubits)))
    for probability, circuit in zip(error.probabilities, error.circuits):  # type: ignore[attr-defined]
        total = total + probability * SuperOp(circuit)
    return total


@pytest.mark.parametrize(
    ("t1", "t2", "time"), [(50e-6, 70e-6, 1e-6), (80e-6, 30e-6, 5e-6), (40e-6, 100e-6, 2e-6)]
)
def test_thermal_relaxation_is_aers(t1: float, t2: float, time: float) -> None:
    ours = SuperOp(Kraus(list(thermal_relaxation_kraus(t1, t2, time))))
    theirs = SuperOp(thermal_relaxation_error(t1, min(t2, 2 * t1), time).to_quantumchannel())
    np.testing.assert_allclose(ours.data, theirs.data, atol=1e-12)


def _relaxation_infidelity(qargs: tuple[int, ...], duration: float) -> float:
    """1 - the average gate fidelity of Aer's relaxation of the qubits over ``duration``."""
    channel = None
    for qubit in qargs:
        properties = DEVICE.target.qubit_properties[qubit]
        one = SuperOp(
            thermal_relaxation_error(properties.t1, min(properties.t2, 2 * properties.t1), duration)
        )
        channel = one if channel is None else one.tensor(channel)
    return 1 - average_gate_fidelity(channel)


def test_each_gate_error_has_the_reported_infidelity() -> None:
    """Depolarizing tops the relaxation up to the reported error (relaxation alone where it
    is already worse, as Aer does)."""
    table = noise_from_target(DEVICE.target)
    topped_up = 0
    for name in ("sx", "x", "cx"):
        for qargs, properties in DEVICE.target[name].items():
            error = table.error_for(name, qargs)
            assert error is not None
            channel = _channel_superop(error, len(qargs))
            assert channel.is_cptp()
            relaxation = _relaxation_infidelity(qargs, properties.duration)
            expected = max(properties.error, relaxation)
            assert 1 - average_gate_fidelity(channel) == pytest.approx(expected, rel=1e-6, abs=1e-12)
            topped_up += properties.error > relaxation
    assert topped_up > 5


def test_measurements_get_the_reported_readout_error() -> None:
    table = noise_from_target(DEVICE.target)
    for (qubit,), properties in DEVICE.target["measure"].items():
        matrix = table.readout_for(qubit)
        np.testing.assert_allclose(
            matrix, [[1 - properties.error, properties.error], [properties.error, 1 - properties.error]]
        )


def test_the_target_is_the_devices_plus_the_simulators_instructions() -> None:
    simulator = CupySimulator.from_backend(DEVICE, device="CPU")
    assert simulator.target.build_coupling_map() == DEVICE.target.build_coupling_map()
    assert set(DEVICE.target.operation_names) <= set(simulator.target.operation_names)
    assert {"save_statevector", "kraus", "if_else"} <= set(simulator.target.operation_names)
    assert simulator.name == f"cupy_simulator({DEVICE.name})"
    assert DEVICE.target.num_qubits == simulator.target.num_qubits


@pytest.mark.parametrize("method", ["statevector", "density_matrix"])
def test_counts_agree_with_aers_from_backend(method: str) -> None:
    simulator = CupySimulator.from_backend(DEVICE, device="CPU")
    circuit = QuantumCircuit(4)
    circuit.h(0)
    for qubit in range(3):
        circuit.cx(qubit, qubit + 1)
    circuit.rx(0.7, 2)
    circuit.measure_all()
    transpiled = transpile(circuit, simulator, seed_transpiler=3)
    ours = simulator.run(transpiled, shots=8000, seed_simulator=4, method=method).result().get_counts()
    aer = AerSimulator.from_backend(DEVICE)
    theirs = aer.run(transpiled, shots=8000, seed_simulator=4).result().get_counts()
    assert chi_square_same(ours, theirs) > P_VALUE
    ideal = CupySimulator(device="CPU").run(transpiled, shots=8000, seed_simulator=4).result().get_counts()
    assert set(ours) - set(ideal), "the device's noise reaches outcomes the ideal circuit never gives"


def test_from_backend_does_not_import_qiskit_aer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "qiskit_aer", None)
    simulator = CupySimulator.from_backend(DEVICE, device="CPU")
    circuit = transpile(
        QuantumCircuit.from_qasm_str(
            'OPENQASM 2.0;include "qelib1.inc";qreg q[1];creg c[1];x q[0];measure q[0] -> c[0];'
        ),
        simulator,
    )
    counts = simulator.run(circuit, shots=200, seed_simulator=1).result().get_counts()
    assert counts.get("1", 0) > 150


def test_a_given_noise_model_replaces_the_devices_and_a_backend_without_target_is_refused() -> None:
    ideal = CupySimulator.from_backend(DEVICE, device="CPU", noise_model=None)
    circuit = transpile(QuantumCircuit(2), ideal)
    circuit.measure_all()
    assert ideal.run(circuit, shots=100).result().get_counts() == {"00000"[: circuit.num_clbits]: 100}
    with pytest.raises(InvalidOptionError, match="Target"):
        CupySimulator.from_backend(object())

"""Executor steps: instructions become steps, gate runs join, every other kind is a boundary."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qiskit_cupy.compiler.fusion import Fuser, FusionSettings
from qiskit_cupy.compiler.lowering import MeasureTerminal, SaveStatevector, lower_circuit
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.devices.cpu import CpuDevice
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.runtime.steps import (
    GateRun,
    SampleMeasurements,
    SaveState,
    StepContext,
    build_steps,
)

X = GateOp(OpKind.PERMUTATION, (0,), np.ones(2), permutation=(1, 0))
H = GateOp(OpKind.DENSE, (1,), np.array([[1, 1], [1, -1]]) / np.sqrt(2))


def test_consecutive_gate_ops_join_one_run_and_boundaries_split_them() -> None:
    steps = build_steps([X, H, SaveStatevector("a"), H, SaveStatevector("b"), MeasureTerminal((0, 1))])
    assert [type(step) for step in steps] == [GateRun, SaveState, GateRun, SaveState, SampleMeasurements]
    assert steps[0].ops == (X, H)
    assert steps[2].ops == (H,)
    assert [steps[1].label, steps[3].label] == ["a", "b"]
    assert steps[4].qubits == (0, 1)


def test_adjacent_boundaries_stay_separate_steps() -> None:
    steps = build_steps([SaveStatevector("a"), SaveStatevector("b")])
    assert [step.label for step in steps] == ["a", "b"]


def test_an_instruction_no_step_handles_is_refused_by_name() -> None:
    with pytest.raises(CupySimulatorError, match="no executor step runs a str"):
        build_steps([X, "reset"])


def _context(num_qubits: int) -> StepContext:
    device = CpuDevice(1)
    stream = device.streams(1)[0]
    states = device.allocate_states(stream, 1 << num_qubits, "double")
    device.set_zero_state(stream, states, num_qubits, 1)
    fuser = Fuser(FusionSettings(threshold=1))
    return StepContext(device, stream, states, num_qubits, 1, "double", fuser, 64, (5,))


def test_each_step_enqueues_itself_and_leaves_its_results_in_the_context() -> None:
    """A lowered circuit's steps, enqueued one by one, save the right state and sample."""
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 2)
    circuit.rz(0.3, 2)
    expected = Statevector(circuit).data
    circuit.measure_all()
    lowered = lower_circuit(circuit, save_final_state=True)
    context = _context(3)
    for step in build_steps(lowered.steps):
        step.enqueue(context)
    context.device.record_event(context.stream).synchronize()
    ((label, saved),) = context.saved
    assert label == "statevector"
    np.testing.assert_allclose(saved.array, expected, atol=1e-12)
    outcomes = context.outcomes.array.ravel()
    assert outcomes.shape == (64,)
    assert set(np.unique(outcomes)) <= {0b000, 0b101}
    assert context.num_ops >= 1

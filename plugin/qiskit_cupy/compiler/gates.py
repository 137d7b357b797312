"""The one gate table: which instructions the simulator accepts and how each is treated.

Lowering (``lowering.py``) and the backend's ``Target`` (``backend.py``) both read
this table, so the instructions a Target advertises are exactly those lowering
accepts.
"""

from __future__ import annotations

import enum

from qiskit.circuit import Barrier, Delay, Measure
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping
from qiskit.transpiler import Target


class Treatment(enum.Enum):
    """What lowering does with an instruction."""

    MATRIX = "matrix"  # apply the instruction's matrix
    MEASURE = "measure"  # a terminal measurement, sampled from the final state
    RESET = "reset"  # accepted only where the qubit is still |0>, where it does nothing
    GLOBAL_PHASE = "global_phase"  # a phase on the whole state
    SAVE_STATEVECTOR = "save_statevector"  # Aer's save instruction: keep a copy of the state
    NO_OP = "no_op"  # nothing to simulate


_NON_GATE_TREATMENTS: dict[str, Treatment] = {
    "measure": Treatment.MEASURE,
    "reset": Treatment.RESET,
    "global_phase": Treatment.GLOBAL_PHASE,
    "save_statevector": Treatment.SAVE_STATEVECTOR,
    "barrier": Treatment.NO_OP,
    "delay": Treatment.NO_OP,
    "id": Treatment.NO_OP,
}

#: Every instruction name lowering handles directly, with its treatment. Any other
#: instruction that is a gate with a definition or a matrix is accepted too, through
#: its definition or matrix.
INSTRUCTION_TREATMENTS: dict[str, Treatment] = {
    **{name: Treatment.MATRIX for name in get_standard_gate_name_mapping()},
    "unitary": Treatment.MATRIX,
    **_NON_GATE_TREATMENTS,
}

#: Control-flow operations, which need per-shot execution (not supported yet).
CONTROL_FLOW_NAMES: frozenset[str] = frozenset(
    {"if_else", "while_loop", "for_loop", "switch_case", "break_loop", "continue_loop"}
)

#: Names the Target leaves out although lowering accepts some uses of them: a reset is
#: accepted only where it does nothing, so the transpiler must not produce one.
_TARGET_EXCLUDED: frozenset[str] = frozenset({"reset", "save_statevector"})


def build_target(description: str) -> Target:
    """Build the backend's Target: every standard gate, unitary, measure, delay, barrier.

    Args:
        description: The Target's description.

    Returns:
        A Target with ``num_qubits=None`` and no instruction properties.
    """
    target = Target(description=description, num_qubits=None)
    for name, gate in get_standard_gate_name_mapping().items():
        if name in _TARGET_EXCLUDED or name in ("measure", "delay"):
            continue
        target.add_instruction(gate, properties=None, name=name)
    target.add_instruction(UnitaryGate, name="unitary")
    target.add_instruction(Measure(), properties=None, name="measure")
    target.add_instruction(Delay, name="delay")
    target.add_instruction(Barrier, name="barrier")
    return target

"""The one gate table: which instructions the simulator accepts and how each is treated.

Lowering (``lowering.py``) and the backend's ``Target`` (``backend.py``) both read
this table, so the instructions a Target advertises are exactly those lowering
accepts.
"""

from __future__ import annotations

import enum

from qiskit.circuit import (
    Barrier,
    BoxOp,
    BreakLoopOp,
    ContinueLoopOp,
    Delay,
    ForLoopOp,
    IfElseOp,
    Instruction,
    Measure,
    Reset,
    Store,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping
from qiskit.transpiler import Target


class Treatment(enum.Enum):
    """What lowering does with an instruction."""

    MATRIX = "matrix"  # apply the instruction's matrix
    MEASURE = "measure"  # a measurement: sampled at the end, or collapsed mid-circuit
    RESET = "reset"  # nothing on a qubit still in |0>, else a collapse and a flip
    GLOBAL_PHASE = "global_phase"  # a phase on the whole state
    SAVE_STATEVECTOR = "save_statevector"  # Aer's save instruction: keep a copy of the state
    SAVE = "save"  # Aer's other save instructions (``runtime/saved_data.py``)
    SET_STATE = "set_state"  # Aer's set_statevector: the state replaced (static circuits)
    NO_OP = "no_op"  # nothing to simulate
    CHANNEL = "channel"  # a quantum channel (``channels.py``): run as trajectories
    READOUT = "readout"  # a readout error on a measured clbit (``noise.py``): trajectories


_NON_GATE_TREATMENTS: dict[str, Treatment] = {
    "measure": Treatment.MEASURE,
    "reset": Treatment.RESET,
    "global_phase": Treatment.GLOBAL_PHASE,
    "save_statevector": Treatment.SAVE_STATEVECTOR,
    "save_state": Treatment.SAVE_STATEVECTOR,
    "set_statevector": Treatment.SET_STATE,
    **{
        name: Treatment.SAVE
        for name in (
            "save_statevector_dict",
            "save_probabilities",
            "save_probabilities_dict",
            "save_amplitudes",
            "save_amplitudes_sq",
            "save_expval",
            "save_expval_var",
            "save_density_matrix",
        )
    },
    "kraus": Treatment.CHANNEL,
    "superop": Treatment.CHANNEL,
    "quantum_channel": Treatment.CHANNEL,
    "roerror": Treatment.READOUT,
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

#: Control flow and real-time classical stores: they run as trajectories
#: (``dynamic.py``), wherever they appear.
DYNAMIC_NAMES: frozenset[str] = frozenset(
    {"if_else", "while_loop", "for_loop", "switch_case", "break_loop", "continue_loop", "box", "store"}
)

#: Aer's save instructions, which lowering matches by name.
SAVE_NAMES: tuple[str, ...] = tuple(
    name
    for name, treatment in INSTRUCTION_TREATMENTS.items()
    if treatment in (Treatment.SAVE, Treatment.SAVE_STATEVECTOR)
)


class SaveInstructionEntry(Instruction):  # type: ignore[misc]  # qiskit is untyped: Instruction is Any
    """The Target's entry for each of Aer's save instructions: on any number of qubits.

    Qiskit Aer's own classes are not imported (qiskit-aer is no run-time dependency);
    the Target needs only a name and an operation class, as Aer's Target lists them.
    """


class ChannelInstructionEntry(Instruction):  # type: ignore[misc]  # qiskit is untyped: Instruction is Any
    """The Target's entry for each channel instruction (``kraus``, ``superop``,
    ``quantum_channel``): on any number of qubits, as Aer's Target lists them."""


class SetInstructionEntry(Instruction):  # type: ignore[misc]  # qiskit is untyped: Instruction is Any
    """The Target's entry for Aer's ``set_statevector``: on every qubit of a circuit."""


#: Channel instructions, which the Target lists by name.
CHANNEL_INSTRUCTION_NAMES: tuple[str, ...] = tuple(
    name for name, treatment in INSTRUCTION_TREATMENTS.items() if treatment is Treatment.CHANNEL
)


#: The operation class of each dynamic instruction, as the Target lists them.
_DYNAMIC_OPERATIONS: dict[str, type] = {
    "if_else": IfElseOp,
    "while_loop": WhileLoopOp,
    "for_loop": ForLoopOp,
    "switch_case": SwitchCaseOp,
    "break_loop": BreakLoopOp,
    "continue_loop": ContinueLoopOp,
    "box": BoxOp,
    "store": Store,
}


def build_target(description: str) -> Target:
    """Build the backend's Target: every standard gate, unitary, measure, reset, delay,
    barrier, the control-flow operations, Store, Aer's save instructions and the
    channel instructions.

    Args:
        description: The Target's description.

    Returns:
        A Target with ``num_qubits=None`` and no instruction properties.
    """
    target = Target(description=description, num_qubits=None)
    for name, gate in get_standard_gate_name_mapping().items():
        if name in ("measure", "delay", "reset"):
            continue
        target.add_instruction(gate, properties=None, name=name)
    target.add_instruction(UnitaryGate, name="unitary")
    target.add_instruction(Measure(), properties=None, name="measure")
    target.add_instruction(Reset(), properties=None, name="reset")
    add_simulator_instructions(target)
    target.add_instruction(Delay, name="delay")
    target.add_instruction(Barrier, name="barrier")
    return target


def add_simulator_instructions(target: Target) -> None:
    """Add to a Target what the simulator runs beyond a device's gates, where missing:
    the control-flow operations, Store, Aer's save instructions, its set_statevector and
    the channels."""
    entries = {
        **_DYNAMIC_OPERATIONS,
        **dict.fromkeys(SAVE_NAMES, SaveInstructionEntry),
        **dict.fromkeys(CHANNEL_INSTRUCTION_NAMES, ChannelInstructionEntry),
        "set_statevector": SetInstructionEntry,
    }
    for name, operation in entries.items():
        if name not in target.operation_names:
            target.add_instruction(operation, name=name)

"""Small pieces of control-flow lowering: a block's slots, loop bodies and their exits."""

from __future__ import annotations

from qiskit.circuit import Clbit, QuantumCircuit
from qiskit.circuit.classical import expr

from qiskit_cupy.compiler.classical_code import FIRST_FREE_SLOT, SlotMap


class BlockSlots:
    """The slots of one block: its clbits are the enclosing circuit's, by position."""

    def __init__(self, root: SlotMap, clbit_indices: dict[Clbit, int]) -> None:
        self.root = root
        self.clbit_indices = clbit_indices

    def clbit(self, bit: Clbit) -> int:
        return FIRST_FREE_SLOT + self.clbit_indices[bit]

    def var(self, var: expr.Var) -> int:
        return self.root.var(var)


def bound_body(body: QuantumCircuit, parameter: object, value: object) -> QuantumCircuit:
    """A for-loop body with its loop parameter (if any) bound to one value."""
    return body if parameter is None else body.assign_parameters({parameter: value})


def loop_exits(block: QuantumCircuit) -> bool:
    """Whether a loop body breaks or continues (inner loops' own exits excluded)."""
    for instruction in block.data:
        name = instruction.operation.name
        if name in ("break_loop", "continue_loop"):
            return True
        if name in ("if_else", "switch_case", "box") and any(
            loop_exits(inner) for inner in instruction.operation.blocks if inner is not None
        ):
            return True
    return False

"""Qiskit's ``Store`` compiled for the device's classical stack machine.

A store evaluates its value (``classical.py``), converts it to the target's type, and
writes it into the target's slots: one slot for a clbit or a standalone variable, one
per clbit for a register, a read-modify-write for a bit of a Uint variable.
"""

from __future__ import annotations

from qiskit.circuit import ClassicalRegister, Clbit
from qiskit.circuit.classical import expr, types

from qiskit_cupy.compiler.classical import compile_value, convert_code, literal_value, value_width
from qiskit_cupy.compiler.classical_code import ClassicalCode, SlotLookup, load, op, push_const, store
from qiskit_cupy.errors import UnsupportedInstructionError


def _store_register(register: ClassicalRegister, slots: SlotLookup) -> ClassicalCode:
    """Code writing bit ``i`` of the value on top of the stack into clbit ``i``, then
    dropping the value."""
    pieces = []
    for index, bit in enumerate(register):
        pieces += [
            op("kDup"),
            push_const(index),
            op("kShiftRight"),
            push_const(1),
            op("kBitAnd"),
            store(slots.clbit(bit)),
        ]
    return ClassicalCode.concat(*pieces, op("kPop"))


def _store_var_bit(var: expr.Var, index: int, slots: SlotLookup) -> ClassicalCode:
    """Code writing the 0/1 on top of the stack into bit ``index`` of a Uint variable."""
    width = value_width(var.type, var)
    slot = slots.var(var)
    kept = ((1 << width) - 1) ^ (1 << index)
    return ClassicalCode.concat(
        push_const(index),
        op("kShiftLeft"),
        load(slot),
        push_const(kept),
        op("kBitAnd"),
        op("kBitOr"),
        store(slot),
    )


def _store_index(lvalue: expr.Index, slots: SlotLookup) -> ClassicalCode:
    """Code writing the 0/1 on top of the stack into the bit an Index lvalue names."""
    target, index = lvalue.target, lvalue.index
    if not isinstance(index, expr.Value):
        raise UnsupportedInstructionError(
            f"store to {lvalue} is not supported: its index is dynamic, not a constant"
        )
    position = literal_value(index)
    if isinstance(target, expr.Var) and isinstance(target.var, ClassicalRegister):
        if position >= len(target.var):
            raise UnsupportedInstructionError(f"store to {lvalue}: index out of range")
        return store(slots.clbit(target.var[position]))
    if isinstance(target, expr.Var) and target.standalone and target.type.kind is types.Uint:
        if position >= value_width(target.type, target):
            raise UnsupportedInstructionError(f"store to {lvalue}: index out of range")
        return _store_var_bit(target, position, slots)
    raise UnsupportedInstructionError(f"store to {lvalue} is not supported")


def compile_store(lvalue: expr.Var | expr.Index, rvalue: expr.Expr, slots: SlotLookup) -> ClassicalCode:
    """Code for ``Store(lvalue, rvalue)``: evaluate ``rvalue`` and write it to ``lvalue``.

    Args:
        lvalue: A Var over a Clbit, a ClassicalRegister (bit ``i`` of the value goes to
            its clbit ``i``) or a standalone variable; or an Index with a constant
            index into a register or a standalone Uint variable.
        rvalue: The value, converted to the lvalue's type as a Cast would.
        slots: Where the circuit's clbits and variables lie.

    Returns:
        Code with no inputs that leaves the stack empty.

    Raises:
        UnsupportedInstructionError: The lvalue is of another kind (an Index with a
            dynamic index among them), or either side cannot be compiled.
    """
    value = ClassicalCode.concat(compile_value(rvalue, slots), convert_code(rvalue.type, lvalue.type, lvalue))
    if isinstance(lvalue, expr.Index):
        return ClassicalCode.concat(value, _store_index(lvalue, slots))
    if isinstance(lvalue, expr.Var):
        if lvalue.standalone:
            return ClassicalCode.concat(value, store(slots.var(lvalue)))
        if isinstance(lvalue.var, Clbit):
            return ClassicalCode.concat(value, store(slots.clbit(lvalue.var)))
        if isinstance(lvalue.var, ClassicalRegister):
            return ClassicalCode.concat(value, _store_register(lvalue.var, slots))
    raise UnsupportedInstructionError(f"store to {lvalue} is not supported")

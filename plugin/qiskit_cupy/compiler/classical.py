"""Classical expressions compiled to bytecode for the device's classical stack machine.

In a dynamic circuit every trajectory (or branch) carries its own classical state in
a row of slots (``classical_code.py``).

Conditions, switch targets and stores are compiled here into a program for the small
stack machine of ``kernels/include/classical.cuh`` (``run_classical``): an int64 array
of (opcode, operand) pairs that the device runs on one row per trajectory. Bytecode,
rather than evaluating expressions on the host, lets every trajectory decide its own
branch on the device without copying its classical state back to the host in between.

The header is the single definition of the machine: the opcode values and slot
constants are read from its text. Python knows only each opcode's name and its stack
effect (values popped, values pushed), so that :class:`ClassicalCode` can check how deep
a program's stack grows before the device ever runs it.

Values are unsigned 64-bit integers and follow OpenQASM 3 / Qiskit semantics: a
``Bool`` is 0 or 1 and a ``Uint(w)`` value lies in [0, 2**w). Every compiled
subexpression keeps that invariant, masking to ``w`` bits after any operation that can
leave it (``BIT_NOT``, ``NEGATE``, ``SHIFT_LEFT``, ``ADD``, ``SUB``, ``MUL``, and
narrowing casts).
"""

from __future__ import annotations

from collections.abc import Sequence

from qiskit.circuit import ClassicalRegister, Clbit
from qiskit.circuit.classical import expr, types

from qiskit_cupy.compiler.classical_code import (
    EMPTY,
    VALUE_BITS,
    ClassicalCode,
    SlotLookup,
    load,
    mask_to_width,
    op,
    push_const,
)
from qiskit_cupy.errors import UnsupportedInstructionError

_Op = expr.Binary.Op

_BINARY_OPCODES: dict[expr.Binary.Op, str] = {
    _Op.BIT_AND: "kBitAnd",
    _Op.BIT_OR: "kBitOr",
    _Op.BIT_XOR: "kBitXor",
    _Op.LOGIC_AND: "kLogicAnd",
    _Op.LOGIC_OR: "kLogicOr",
    _Op.EQUAL: "kEqual",
    _Op.NOT_EQUAL: "kNotEqual",
    _Op.LESS: "kLess",
    _Op.LESS_EQUAL: "kLessEqual",
    _Op.GREATER: "kGreater",
    _Op.GREATER_EQUAL: "kGreaterEqual",
    _Op.SHIFT_LEFT: "kShiftLeft",
    _Op.SHIFT_RIGHT: "kShiftRight",
    _Op.ADD: "kAdd",
    _Op.SUB: "kSub",
    _Op.MUL: "kMul",
    _Op.DIV: "kDiv",
}

#: Operations whose result is 0 or 1 whatever the operands.
_PREDICATES = frozenset(
    {
        _Op.LOGIC_AND,
        _Op.LOGIC_OR,
        _Op.EQUAL,
        _Op.NOT_EQUAL,
        _Op.LESS,
        _Op.LESS_EQUAL,
        _Op.GREATER,
        _Op.GREATER_EQUAL,
    }
)

#: Operations whose result can exceed the widths of their operands.
_WRAPPING = frozenset({_Op.SHIFT_LEFT, _Op.ADD, _Op.SUB, _Op.MUL})

#: Operations whose result is no wider than their left operand.
_BOUNDED_BY_LEFT = frozenset({_Op.SHIFT_RIGHT, _Op.DIV})

#: Operations defined on unsigned integers only.
_INTEGER_ONLY = _WRAPPING | _BOUNDED_BY_LEFT


def value_width(type_: types.Type, node: object) -> int:
    """The bits of a value of a type (1 for Bool), refusing types the device lacks."""
    if type_.kind is types.Bool:
        return 1
    if type_.kind is types.Uint:
        if type_.width > VALUE_BITS:
            raise UnsupportedInstructionError(
                f"classical type {type_} of {node} is wider than the device's {VALUE_BITS}-bit values"
            )
        width: int = type_.width
        return width
    raise UnsupportedInstructionError(
        f"classical type {type_} of {node} is not supported: only Bool and Uint values run on the device"
    )


def literal_value(value: expr.Value) -> int:
    """The machine value of a literal, reduced to its type's width."""
    width = value_width(value.type, value)
    raw = value.value
    if not isinstance(raw, int):
        raise UnsupportedInstructionError(f"classical literal {value} is not an integer")
    if value.type.kind is types.Bool:
        return int(bool(raw))
    return raw % (1 << width)


def _fit(value_bits: int, width: int) -> ClassicalCode:
    """Code reducing a value of up to ``value_bits`` bits to ``width`` bits."""
    return mask_to_width(width) if value_bits > width else EMPTY


def convert_code(source: types.Type, target: types.Type, node: object) -> ClassicalCode:
    """Code turning a value of type ``source`` on top of the stack into type ``target``.

    A cast to Bool is ``!= 0`` (two logical nots); a cast to ``Uint(w)`` keeps the low
    ``w`` bits.
    """
    source_width, target_width = value_width(source, node), value_width(target, node)
    if target.kind is not types.Bool:
        return _fit(source_width, target_width)
    if source.kind is types.Bool:
        return EMPTY
    return ClassicalCode.concat(op("kLogicNot"), op("kLogicNot"))


def _register_value(register: Sequence[Clbit], slots: SlotLookup) -> ClassicalCode:
    """Code pushing ``sum(bit_i << i)`` over a register's clbits (bit 0 its first)."""
    if not len(register):
        return push_const(0)
    pieces = [load(slots.clbit(register[0]))]
    for index in range(1, len(register)):
        pieces += [
            load(slots.clbit(register[index])),
            push_const(index),
            op("kShiftLeft"),
            op("kBitOr"),
        ]
    return ClassicalCode.concat(*pieces)


def _compile_var(var: expr.Var, slots: SlotLookup) -> ClassicalCode:
    width = value_width(var.type, var)
    if var.standalone:
        return load(slots.var(var))
    if isinstance(var.var, Clbit):
        return load(slots.clbit(var.var))
    if isinstance(var.var, ClassicalRegister):
        return ClassicalCode.concat(_register_value(var.var, slots), _fit(len(var.var), width))
    raise UnsupportedInstructionError(f"classical variable {var} is not supported")


def _compile_unary(node: expr.Unary, slots: SlotLookup) -> ClassicalCode:
    width = value_width(node.type, node)
    operand = compile_value(node.operand, slots)
    if node.op is expr.Unary.Op.LOGIC_NOT:
        return ClassicalCode.concat(operand, op("kLogicNot"))
    if node.op is expr.Unary.Op.BIT_NOT:
        return ClassicalCode.concat(operand, op("kBitNot"), mask_to_width(width))
    if node.op is expr.Unary.Op.NEGATE and node.type.kind is types.Uint:
        return ClassicalCode.concat(operand, op("kNegate"), mask_to_width(width))
    raise UnsupportedInstructionError(
        f"classical operation {node.op.name} of type {node.type} is not supported ({node})"
    )


def _compile_binary(node: expr.Binary, slots: SlotLookup) -> ClassicalCode:
    width = value_width(node.type, node)
    opcode = _BINARY_OPCODES.get(node.op)
    if opcode is None or (node.op in _INTEGER_ONLY and node.type.kind is not types.Uint):
        raise UnsupportedInstructionError(
            f"classical operation {node.op.name} of type {node.type} is not supported ({node})"
        )
    left_width = value_width(node.left.type, node.left)
    right_width = value_width(node.right.type, node.right)
    if node.op in _PREDICATES:
        result_bits = 1
    elif node.op in _WRAPPING:
        result_bits = VALUE_BITS
    elif node.op in _BOUNDED_BY_LEFT:
        result_bits = left_width
    else:
        result_bits = max(left_width, right_width)
    return ClassicalCode.concat(
        compile_value(node.left, slots),
        compile_value(node.right, slots),
        op(opcode),
        _fit(result_bits, width),
    )


def _compile_index(node: expr.Index, slots: SlotLookup) -> ClassicalCode:
    value_width(node.type, node)  # refuses an Index of a type the device lacks
    target, index = node.target, node.index
    if (
        isinstance(target, expr.Var)
        and isinstance(target.var, ClassicalRegister)
        and isinstance(index, expr.Value)
        and literal_value(index) < len(target.var)
    ):
        return load(slots.clbit(target.var[literal_value(index)]))
    return ClassicalCode.concat(compile_value(target, slots), compile_value(index, slots), op("kBitIndex"))


def compile_value(value: expr.Expr, slots: SlotLookup) -> ClassicalCode:
    """Code that pushes the value of a classical expression.

    Args:
        value: The expression: Var (over a Clbit, a ClassicalRegister or a standalone
            variable), Value, Cast, Unary, Binary or Index, of Bool and Uint types.
        slots: Where the circuit's clbits and variables lie (standalone variables
            not yet in it are assigned slots).

    Returns:
        Code with no inputs that pushes one value: 0/1 for a Bool, the value modulo
        2**w for a ``Uint(w)``.

    Raises:
        UnsupportedInstructionError: The expression holds a type other than Bool and
            Uint of up to 64 bits, an unknown node or operation, a literal that is not
            an integer, or is too deep for the device's stack.
    """
    if isinstance(value, expr.Var):
        return _compile_var(value, slots)
    if isinstance(value, expr.Value):
        return push_const(literal_value(value))
    if isinstance(value, expr.Cast):
        return ClassicalCode.concat(
            compile_value(value.operand, slots),
            convert_code(value.operand.type, value.type, value),
        )
    if isinstance(value, expr.Unary):
        return _compile_unary(value, slots)
    if isinstance(value, expr.Binary):
        return _compile_binary(value, slots)
    if isinstance(value, expr.Index):
        return _compile_index(value, slots)
    raise UnsupportedInstructionError(
        f"classical expression node {type(value).__name__} is not supported ({value})"
    )


#: A condition in the legacy form: a clbit or register and the value it must equal.
LegacyCondition = tuple[Clbit | ClassicalRegister, int]


def compile_condition(condition: expr.Expr | LegacyCondition, slots: SlotLookup) -> ClassicalCode:
    """Code that pushes 1 where an ``IfElseOp``/``WhileLoopOp`` condition holds, else 0.

    Args:
        condition: A Bool expression, or a legacy tuple ``(Clbit, bool | int)`` (the
            bit is set, or clear for a false value) or ``(ClassicalRegister, int)``
            (the register's value equals the integer).
        slots: Where the circuit's clbits and variables lie.

    Returns:
        Code with no inputs that pushes 0 or 1.

    Raises:
        UnsupportedInstructionError: The condition is not of Bool type, is a tuple of
            another form, or its expression cannot be compiled (see
            :func:`compile_value`).
    """
    if isinstance(condition, tuple):
        target, _ = condition
        if not isinstance(target, Clbit | ClassicalRegister):
            raise UnsupportedInstructionError(f"legacy condition {condition} is not supported")
        condition = expr.lift_legacy_condition(condition)
    if not isinstance(condition, expr.Expr) or condition.type.kind is not types.Bool:
        raise UnsupportedInstructionError(f"condition {condition} is not a Bool expression")
    wide = _wide_register_comparison(condition, slots)
    return wide if wide is not None else compile_value(condition, slots)


def _wide_register_comparison(condition: expr.Expr, slots: SlotLookup) -> ClassicalCode | None:
    """Code for ``register == value`` (or ``!=``) on a register wider than the device's
    64-bit values, compared 64 bits at a time; None for any other condition."""
    if not (
        isinstance(condition, expr.Binary)
        and condition.op in (_Op.EQUAL, _Op.NOT_EQUAL)
        and isinstance(condition.left, expr.Var)
        and isinstance(condition.left.var, ClassicalRegister)
        and len(condition.left.var) > VALUE_BITS
        and isinstance(condition.right, expr.Value)
    ):
        return None
    register = condition.left.var
    if not isinstance(condition.right.value, int):
        raise UnsupportedInstructionError(f"classical literal {condition.right} is not an integer")
    value = condition.right.value % (1 << len(register))
    pieces = [push_const(1)]
    for start in range(0, len(register), VALUE_BITS):
        chunk = register[start : start + VALUE_BITS]
        expected = (value >> start) & ((1 << len(chunk)) - 1)
        pieces += [_register_value(chunk, slots), push_const(expected), op("kEqual"), op("kLogicAnd")]
    if condition.op is _Op.NOT_EQUAL:
        pieces.append(op("kLogicNot"))
    return ClassicalCode.concat(*pieces)


def compile_switch_target(target: Clbit | ClassicalRegister | expr.Expr, slots: SlotLookup) -> ClassicalCode:
    """Code that pushes the value a ``SwitchCaseOp`` switches on.

    Args:
        target: A Clbit, a ClassicalRegister, or a Uint or Bool expression.
        slots: Where the circuit's clbits and variables lie.

    Returns:
        Code with no inputs that pushes the target's value.

    Raises:
        UnsupportedInstructionError: The target is of another kind or cannot be
            compiled (see :func:`compile_value`).
    """
    if isinstance(target, Clbit | ClassicalRegister):
        target = expr.lift(target)
    if not isinstance(target, expr.Expr):
        raise UnsupportedInstructionError(f"switch target {target} is not supported")
    return compile_value(target, slots)

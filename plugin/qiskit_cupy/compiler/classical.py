"""Classical expressions compiled to bytecode for the device's classical stack machine.

In a dynamic circuit every trajectory (or branch) carries its own classical state: the
circuit's clbits, its standalone real-time variables and whatever scratch values the
control-flow lowering needs, each in one int64 slot of the trajectory's row. A
:class:`SlotMap` assigns those slots (after the fixed ones at the front of every row).

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
from dataclasses import dataclass, field

import numpy as np
from qiskit.circuit import ClassicalRegister, Clbit
from qiskit.circuit.classical import expr, types

from qiskit_cupy.compiler.op_registry import read_constants
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError
from qiskit_cupy.kernel_files import read_kernel_file

#: The header this module reads.
CLASSICAL_HEADER = "include/classical.cuh"

_CONSTANTS = read_constants(read_kernel_file(CLASSICAL_HEADER))

#: Slot of the measurements a trajectory has drawn so far.
COUNTER_SLOT: int = _CONSTANTS["kCounterSlot"]
#: Slot of the shot number that keys a trajectory's draws.
SHOT_SLOT: int = _CONSTANTS["kShotSlot"]
#: Slot of the latest measurement's outcome.
OUTCOME_SLOT: int = _CONSTANTS["kOutcomeSlot"]
#: The first slot a :class:`SlotMap` assigns.
FIRST_FREE_SLOT: int = _CONSTANTS["kFirstFreeSlot"]
#: The deepest stack a program may use.
STACK_DEPTH: int = _CONSTANTS["kStackDepth"]

#: Bits of the machine's values.
VALUE_BITS = 64

_BINARY_OPCODE_NAMES = (
    "kBitAnd",
    "kBitOr",
    "kBitXor",
    "kLogicAnd",
    "kLogicOr",
    "kEqual",
    "kNotEqual",
    "kLess",
    "kLessEqual",
    "kGreater",
    "kGreaterEqual",
    "kShiftLeft",
    "kShiftRight",
    "kAdd",
    "kSub",
    "kMul",
    "kDiv",
    "kBitIndex",
)

#: (values popped, values pushed) by each opcode, by its name in the header.
_STACK_EFFECTS: dict[str, tuple[int, int]] = {
    "kPushConst": (0, 1),
    "kLoad": (0, 1),
    "kStore": (1, 0),
    "kMaskWidth": (1, 1),
    "kBitNot": (1, 1),
    "kLogicNot": (1, 1),
    "kNegate": (1, 1),
    **{name: (2, 1) for name in _BINARY_OPCODE_NAMES},
    "kDup": (1, 2),
    "kPop": (1, 0),
}

#: Every opcode's value, by its name in the header.
OPCODES: dict[str, int] = {name: _CONSTANTS[name] for name in _STACK_EFFECTS}

#: Opcodes whose operand means something; :func:`op` builds only the others.
_OPCODES_WITH_OPERAND = frozenset({"kPushConst", "kLoad", "kStore", "kMaskWidth"})

# Stack effects indexed by opcode value (-1 where no opcode has the value).
_POPS = np.full(max(OPCODES.values()) + 1, -1, dtype=np.int64)
_PUSHES = np.full_like(_POPS, -1)
for _name, (_popped, _pushed) in _STACK_EFFECTS.items():
    _POPS[OPCODES[_name]] = _popped
    _PUSHES[OPCODES[_name]] = _pushed


@dataclass(frozen=True, eq=False)
class ClassicalCode:
    """A piece of classical bytecode and its stack use.

    A piece may start by consuming values that earlier code pushed (``op("kAdd")``
    alone takes two); a whole program takes none. Construction simulates the stack
    effects of the code to find how deep the stack grows.

    Attributes:
        code: The (opcode, operand) pairs, int64 of shape (length, 2), read-only.
        inputs: Values the code takes from the stack below its start (0 for a whole
            program).
        stack_effect: Net change of the stack's height (1 for a value, 0 for a store).
        max_depth: The deepest stack the code reaches, run on a stack holding just its
            inputs.

    Raises:
        ValueError: ``code`` is not of shape (length, 2) or holds an unknown opcode.
        UnsupportedInstructionError: The code needs a deeper stack than the device's
            ``STACK_DEPTH``: the classical expression is too deep.
    """

    code: np.ndarray
    inputs: int = field(init=False)
    stack_effect: int = field(init=False)
    max_depth: int = field(init=False)

    def __post_init__(self) -> None:
        code = np.array(self.code, dtype=np.int64)
        if code.ndim != 2 or code.shape[1] != 2:
            raise ValueError(
                f"classical code must have shape (length, 2), not {code.shape}"
            )
        opcodes = code[:, 0]
        known = (opcodes >= 0) & (opcodes < len(_POPS))
        if not known.all() or (_POPS[opcodes] < 0).any():
            raise ValueError(
                f"unknown classical opcodes {sorted(set(opcodes.tolist()))}"
            )
        code.flags.writeable = False
        pops, pushes = _POPS[opcodes], _PUSHES[opcodes]
        height_after = np.cumsum(pushes - pops)
        height_before = height_after - pushes + pops
        inputs = -int(min(0, (height_before - pops).min(initial=0)))
        max_depth = inputs + int(height_after.max(initial=0))
        if max_depth > STACK_DEPTH:
            raise UnsupportedInstructionError(
                f"classical expression is too deep: it needs a stack of {max_depth} "
                f"values and the device's holds {STACK_DEPTH}"
            )
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(
            self, "stack_effect", int(height_after[-1]) if len(code) else 0
        )
        object.__setattr__(self, "max_depth", max_depth)

    def __len__(self) -> int:
        """The number of instructions."""
        return len(self.code)

    @classmethod
    def concat(cls, *codes: ClassicalCode) -> ClassicalCode:
        """Join pieces of code, run one after another.

        Args:
            *codes: The pieces, in order.

        Returns:
            Their concatenation (empty for no pieces).
        """
        return cls(np.concatenate([piece.code for piece in codes] or [_NO_PAIRS]))

    def __add__(self, other: ClassicalCode) -> ClassicalCode:
        """This code, then ``other``."""
        return ClassicalCode.concat(self, other)


_NO_PAIRS = np.empty((0, 2), dtype=np.int64)

#: Code that does nothing.
EMPTY = ClassicalCode(_NO_PAIRS)


def _instruction(name: str, operand: int = 0) -> ClassicalCode:
    return ClassicalCode(np.array([[OPCODES[name], operand]], dtype=np.int64))


def push_const(value: int) -> ClassicalCode:
    """Code that pushes a constant.

    Args:
        value: The constant, taken modulo 2**64.

    Returns:
        One ``kPushConst`` instruction.
    """
    unsigned = int(value) % (1 << VALUE_BITS)
    return _instruction("kPushConst", unsigned - (1 << VALUE_BITS) * (unsigned >> 63))


def _check_slot(slot: int) -> int:
    if slot < 0:
        raise ValueError(f"slot {slot} is negative")
    return slot


def load(slot: int) -> ClassicalCode:
    """Code that pushes the value of a slot of the row.

    Args:
        slot: The slot.

    Returns:
        One ``kLoad`` instruction.
    """
    return _instruction("kLoad", _check_slot(slot))


def store(slot: int) -> ClassicalCode:
    """Code that pops the top of the stack into a slot of the row.

    Args:
        slot: The slot.

    Returns:
        One ``kStore`` instruction.
    """
    return _instruction("kStore", _check_slot(slot))


def mask_to_width(width: int) -> ClassicalCode:
    """Code that reduces the top of the stack modulo 2**width.

    Args:
        width: Bits kept.

    Returns:
        One ``kMaskWidth`` instruction, or no code where ``width`` is 64 or more.
    """
    return _instruction("kMaskWidth", width) if width < VALUE_BITS else EMPTY


def op(name: str) -> ClassicalCode:
    """Code for one operand-less instruction.

    Args:
        name: The opcode's name in the header, such as ``"kAdd"`` or ``"kDup"``.

    Returns:
        The instruction.

    Raises:
        ValueError: The opcode takes an operand (use :func:`push_const`,
            :func:`load`, :func:`store` or :func:`mask_to_width`) or is unknown.
    """
    if name in _OPCODES_WITH_OPERAND or name not in OPCODES:
        raise ValueError(f"{name!r} is not an operand-less classical opcode")
    return _instruction(name)


class SlotMap:
    """Where a circuit's classical state lies in a row of slots.

    The clbits take the slots from ``FIRST_FREE_SLOT`` on, in the order given;
    standalone variables and scratch slots follow as they are asked for. A
    ClassicalRegister has no slot: its value is assembled from its clbits' slots.

    Args:
        clbits: The circuit's clbits; clbit ``i`` gets slot ``FIRST_FREE_SLOT + i``.

    Raises:
        ValueError: A clbit appears twice.
    """

    def __init__(self, clbits: Sequence[Clbit]) -> None:
        self._clbits = {
            bit: FIRST_FREE_SLOT + index for index, bit in enumerate(clbits)
        }
        if len(self._clbits) != len(clbits):
            raise ValueError("a clbit appears twice in the slot map")
        self._vars: dict[expr.Var, int] = {}
        self._num_slots = FIRST_FREE_SLOT + len(clbits)

    def clbit(self, bit: Clbit) -> int:
        """The slot of a clbit.

        Args:
            bit: One of the clbits the map was made with.

        Returns:
            Its slot.

        Raises:
            InvalidCircuitError: The clbit is not one of the map's.
        """
        try:
            return self._clbits[bit]
        except KeyError:
            raise InvalidCircuitError(f"{bit} is not a clbit of the circuit") from None

    def var(self, var: expr.Var) -> int:
        """The slot of a standalone real-time variable, assigned on first use.

        Args:
            var: The variable (``var.standalone`` is True).

        Returns:
            Its slot.

        Raises:
            ValueError: The variable is not standalone (it stands for a clbit or a
                register).
        """
        if not var.standalone:
            raise ValueError(f"{var} is not a standalone variable")
        slot = self._vars.get(var)
        if slot is None:
            slot = self._vars[var] = self.new_slot()
        return slot

    def new_slot(self) -> int:
        """Assign a fresh scratch slot (for masks and the like).

        Returns:
            The slot.
        """
        slot = self._num_slots
        self._num_slots += 1
        return slot

    @property
    def num_slots(self) -> int:
        """The row's width so far: every slot assigned lies below it."""
        return self._num_slots


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


def _width(type_: types.Type, node: object) -> int:
    """The bits of a value of a type (1 for Bool), refusing types the device lacks."""
    if type_.kind is types.Bool:
        return 1
    if type_.kind is types.Uint:
        if type_.width > VALUE_BITS:
            raise UnsupportedInstructionError(
                f"classical type {type_} of {node} is wider than the device's "
                f"{VALUE_BITS}-bit values"
            )
        return type_.width
    raise UnsupportedInstructionError(
        f"classical type {type_} of {node} is not supported: only Bool and Uint values "
        "run on the device"
    )


def _literal(value: expr.Value) -> int:
    """The machine value of a literal, reduced to its type's width."""
    width = _width(value.type, value)
    raw = value.value
    if not isinstance(raw, int):
        raise UnsupportedInstructionError(
            f"classical literal {value} is not an integer"
        )
    if value.type.kind is types.Bool:
        return int(bool(raw))
    return raw % (1 << width)


def _fit(value_bits: int, width: int) -> ClassicalCode:
    """Code reducing a value of up to ``value_bits`` bits to ``width`` bits."""
    return mask_to_width(width) if value_bits > width else EMPTY


def _convert(source: types.Type, target: types.Type, node: object) -> ClassicalCode:
    """Code turning a value of type ``source`` on top of the stack into type ``target``.

    A cast to Bool is ``!= 0`` (two logical nots); a cast to ``Uint(w)`` keeps the low
    ``w`` bits.
    """
    source_width, target_width = _width(source, node), _width(target, node)
    if target.kind is not types.Bool:
        return _fit(source_width, target_width)
    if source.kind is types.Bool:
        return EMPTY
    return ClassicalCode.concat(op("kLogicNot"), op("kLogicNot"))


def _register_value(register: ClassicalRegister, slots: SlotMap) -> ClassicalCode:
    """Code pushing ``sum(bit_i << i)`` over the register's clbits (bit 0 its first)."""
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


def _compile_var(var: expr.Var, slots: SlotMap) -> ClassicalCode:
    width = _width(var.type, var)
    if var.standalone:
        return load(slots.var(var))
    if isinstance(var.var, Clbit):
        return load(slots.clbit(var.var))
    if isinstance(var.var, ClassicalRegister):
        return ClassicalCode.concat(
            _register_value(var.var, slots), _fit(len(var.var), width)
        )
    raise UnsupportedInstructionError(f"classical variable {var} is not supported")


def _compile_unary(node: expr.Unary, slots: SlotMap) -> ClassicalCode:
    width = _width(node.type, node)
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


def _compile_binary(node: expr.Binary, slots: SlotMap) -> ClassicalCode:
    width = _width(node.type, node)
    opcode = _BINARY_OPCODES.get(node.op)
    if opcode is None or (
        node.op in _INTEGER_ONLY and node.type.kind is not types.Uint
    ):
        raise UnsupportedInstructionError(
            f"classical operation {node.op.name} of type {node.type} is not supported ({node})"
        )
    left_width = _width(node.left.type, node.left)
    right_width = _width(node.right.type, node.right)
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


def _compile_index(node: expr.Index, slots: SlotMap) -> ClassicalCode:
    _width(node.type, node)  # refuses an Index of a type the device lacks
    target, index = node.target, node.index
    if (
        isinstance(target, expr.Var)
        and isinstance(target.var, ClassicalRegister)
        and isinstance(index, expr.Value)
        and _literal(index) < len(target.var)
    ):
        return load(slots.clbit(target.var[_literal(index)]))
    return ClassicalCode.concat(
        compile_value(target, slots), compile_value(index, slots), op("kBitIndex")
    )


def compile_value(value: expr.Expr, slots: SlotMap) -> ClassicalCode:
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
        return push_const(_literal(value))
    if isinstance(value, expr.Cast):
        return ClassicalCode.concat(
            compile_value(value.operand, slots),
            _convert(value.operand.type, value.type, value),
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


def compile_condition(
    condition: expr.Expr | LegacyCondition, slots: SlotMap
) -> ClassicalCode:
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
            raise UnsupportedInstructionError(
                f"legacy condition {condition} is not supported"
            )
        condition = expr.lift_legacy_condition(condition)
    if not isinstance(condition, expr.Expr) or condition.type.kind is not types.Bool:
        raise UnsupportedInstructionError(
            f"condition {condition} is not a Bool expression"
        )
    return compile_value(condition, slots)


def compile_switch_target(
    target: Clbit | ClassicalRegister | expr.Expr, slots: SlotMap
) -> ClassicalCode:
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


def _store_register(register: ClassicalRegister, slots: SlotMap) -> ClassicalCode:
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


def _store_var_bit(var: expr.Var, index: int, slots: SlotMap) -> ClassicalCode:
    """Code writing the 0/1 on top of the stack into bit ``index`` of a Uint variable."""
    width = _width(var.type, var)
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


def _store_index(lvalue: expr.Index, slots: SlotMap) -> ClassicalCode:
    """Code writing the 0/1 on top of the stack into the bit an Index lvalue names."""
    target, index = lvalue.target, lvalue.index
    if not isinstance(index, expr.Value):
        raise UnsupportedInstructionError(
            f"store to {lvalue} is not supported: its index is dynamic, not a constant"
        )
    position = _literal(index)
    if isinstance(target, expr.Var) and isinstance(target.var, ClassicalRegister):
        if position >= len(target.var):
            raise UnsupportedInstructionError(f"store to {lvalue}: index out of range")
        return store(slots.clbit(target.var[position]))
    if (
        isinstance(target, expr.Var)
        and target.standalone
        and target.type.kind is types.Uint
    ):
        if position >= _width(target.type, target):
            raise UnsupportedInstructionError(f"store to {lvalue}: index out of range")
        return _store_var_bit(target, position, slots)
    raise UnsupportedInstructionError(f"store to {lvalue} is not supported")


def compile_store(
    lvalue: expr.Var | expr.Index, rvalue: expr.Expr, slots: SlotMap
) -> ClassicalCode:
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
    value = ClassicalCode.concat(
        compile_value(rvalue, slots), _convert(rvalue.type, lvalue.type, lvalue)
    )
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

"""Classical expressions compiled to stack-machine bytecode (``compiler/classical.py``).

Two references written here, independently of the compiler:

* :func:`run_classical`, a Python copy of ``run_classical`` in ``classical.cuh``
  (uint64 wrap, shifts by 64 or more give 0, division by 0 gives 0), which also records
  the deepest stack a program reaches;
* :func:`evaluate`, a tree-walking evaluator of Qiskit expressions over plain Python
  integers, following the OpenQASM 3 semantics (``Uint(w)`` arithmetic modulo 2**w,
  unsigned comparisons, a register's value ``sum(bit_i << i)``).

Compiled programs, run by the first, must agree with the second on random expression
trees and random classical values.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np
import pytest
from qiskit.circuit import ClassicalRegister, Clbit, Duration, Store
from qiskit.circuit.classical import expr, types
from qiskit_cupy.compiler import classical
from qiskit_cupy.compiler.classical import (
    FIRST_FREE_SLOT,
    OPCODES,
    STACK_DEPTH,
    ClassicalCode,
    SlotMap,
    compile_condition,
    compile_store,
    compile_switch_target,
    compile_value,
    load,
    op,
    push_const,
    store,
)
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError
from qiskit_cupy.kernel_files import read_kernel_file

MASK64 = (1 << 64) - 1

#: The header constants that are not opcodes, and the module names they have.
SLOT_CONSTANTS = {
    "kCounterSlot": "COUNTER_SLOT",
    "kShotSlot": "SHOT_SLOT",
    "kOutcomeSlot": "OUTCOME_SLOT",
    "kFirstFreeSlot": "FIRST_FREE_SLOT",
    "kStackDepth": "STACK_DEPTH",
}

# ---------------------------------------------------------------------------------------
# Reference 1: the device's stack machine, after run_classical in classical.cuh.


def _shift_left(a: int, b: int) -> int:
    return 0 if b >= 64 else (a << b) & MASK64


def _shift_right(a: int, b: int) -> int:
    return 0 if b >= 64 else a >> b


#: binary_op of classical.cuh, by opcode name, on uint64 values.
BINARY_OPS = {
    "kBitAnd": lambda a, b: a & b,
    "kBitOr": lambda a, b: a | b,
    "kBitXor": lambda a, b: a ^ b,
    "kLogicAnd": lambda a, b: int(a != 0 and b != 0),
    "kLogicOr": lambda a, b: int(a != 0 or b != 0),
    "kEqual": lambda a, b: int(a == b),
    "kNotEqual": lambda a, b: int(a != b),
    "kLess": lambda a, b: int(a < b),
    "kLessEqual": lambda a, b: int(a <= b),
    "kGreater": lambda a, b: int(a > b),
    "kGreaterEqual": lambda a, b: int(a >= b),
    "kShiftLeft": _shift_left,
    "kShiftRight": _shift_right,
    "kAdd": lambda a, b: (a + b) & MASK64,
    "kSub": lambda a, b: (a - b) & MASK64,
    "kMul": lambda a, b: (a * b) & MASK64,
    "kDiv": lambda a, b: 0 if b == 0 else a // b,
    "kBitIndex": lambda a, b: _shift_right(a, b) & 1,
}


def to_int64(value: int) -> int:
    """The int64 a uint64 value is stored as."""
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


@dataclass
class Run:
    """What running a program left: the row, the stack (uint64) and the deepest stack."""

    row: list[int]
    stack: list[int]
    deepest: int


def run_classical(row: list[int], code: ClassicalCode) -> Run:
    """Run a program on a copy of a row of int64 slots, as the device does."""
    name_of = {value: name for name, value in OPCODES.items()}
    row = list(row)
    stack: list[int] = []
    deepest = 0
    for opcode, operand in code.code.tolist():
        name = name_of[opcode]
        if name == "kPushConst":
            stack.append(operand & MASK64)
        elif name == "kLoad":
            stack.append(row[operand] & MASK64)
        elif name == "kStore":
            row[operand] = to_int64(stack.pop())
        elif name == "kMaskWidth":
            stack[-1] &= _shift_left(1, operand) - 1
        elif name == "kBitNot":
            stack[-1] = ~stack[-1] & MASK64
        elif name == "kLogicNot":
            stack[-1] = int(stack[-1] == 0)
        elif name == "kNegate":
            stack[-1] = -stack[-1] & MASK64
        elif name == "kDup":
            stack.append(stack[-1])
        elif name == "kPop":
            stack.pop()
        else:
            right, left = stack.pop(), stack.pop()
            stack.append(BINARY_OPS[name](left, right))
        deepest = max(deepest, len(stack))
        assert len(stack) <= STACK_DEPTH
    return Run(row, stack, deepest)


# ---------------------------------------------------------------------------------------
# Reference 2: OpenQASM 3 semantics of Qiskit expression trees, on Python integers.


@dataclass
class Env:
    """Classical values: each clbit's (0/1) and each standalone variable's."""

    bits: dict[Clbit, int]
    vars: dict[expr.Var, int]


def _reduce(value: int, type_: types.Type) -> int:
    """A mathematical integer as a value of the type: modulo 2**w for Uint(w)."""
    if type_.kind is types.Bool:
        return int(value != 0)
    return value % (1 << type_.width)


def evaluate(node: expr.Expr, env: Env) -> int:
    """The value of an expression tree (Bool as 0/1, Uint(w) in [0, 2**w))."""
    type_ = node.type
    if isinstance(node, expr.Var):
        if node.standalone:
            return env.vars[node]
        if isinstance(node.var, Clbit):
            return env.bits[node.var]
        return sum(env.bits[bit] << i for i, bit in enumerate(node.var))
    if isinstance(node, expr.Value):
        return (
            _reduce(int(node.value), type_)
            if type_.kind is types.Uint
            else int(bool(node.value))
        )
    if isinstance(node, expr.Cast):
        return _reduce(evaluate(node.operand, env), type_)
    if isinstance(node, expr.Index):
        return (evaluate(node.target, env) >> evaluate(node.index, env)) & 1
    if isinstance(node, expr.Unary):
        operand = evaluate(node.operand, env)
        if node.op is expr.Unary.Op.LOGIC_NOT:
            return int(not operand)
        if node.op is expr.Unary.Op.BIT_NOT:
            return (
                1 - operand
                if type_.kind is types.Bool
                else (1 << type_.width) - 1 - operand
            )
        return _reduce(-operand, type_)
    assert isinstance(node, expr.Binary)
    a, b = evaluate(node.left, env), evaluate(node.right, env)
    Op = expr.Binary.Op
    if node.op is Op.SHIFT_LEFT:
        return 0 if b >= type_.width else _reduce(a << b, type_)
    results = {
        Op.BIT_AND: lambda: a & b,
        Op.BIT_OR: lambda: a | b,
        Op.BIT_XOR: lambda: a ^ b,
        Op.LOGIC_AND: lambda: bool(a) and bool(b),
        Op.LOGIC_OR: lambda: bool(a) or bool(b),
        Op.EQUAL: lambda: a == b,
        Op.NOT_EQUAL: lambda: a != b,
        Op.LESS: lambda: a < b,
        Op.LESS_EQUAL: lambda: a <= b,
        Op.GREATER: lambda: a > b,
        Op.GREATER_EQUAL: lambda: a >= b,
        Op.SHIFT_RIGHT: lambda: a >> b,
        Op.ADD: lambda: a + b,
        Op.SUB: lambda: a - b,
        Op.MUL: lambda: a * b,
        Op.DIV: lambda: a // b if b else 0,
    }
    return _reduce(int(results[node.op]()), type_)


# ---------------------------------------------------------------------------------------
# The classical state of a test circuit, and random expressions over it.

LOOSE = [Clbit() for _ in range(3)]
REGISTERS = {width: ClassicalRegister(width, f"r{width}") for width in range(1, 9)}
BOOL_VARS = [expr.Var.new(f"flag{i}", types.Bool()) for i in range(2)]
UINT_VARS = {w: expr.Var.new(f"u{w}", types.Uint(w)) for w in (1, 3, 8, 16, 32, 63, 64)}
ALL_CLBITS = LOOSE + [bit for register in REGISTERS.values() for bit in register]
UINT_WIDTHS = (*range(1, 9), 16, 32, 63, 64)


def new_slots() -> SlotMap:
    """A slot map with every standalone variable assigned."""
    slots = SlotMap(ALL_CLBITS)
    for var in (*BOOL_VARS, *UINT_VARS.values()):
        slots.var(var)
    return slots


def random_env(rng: random.Random) -> Env:
    """Random clbit values and variable values, with the widths' extremes favoured."""

    def uint(width: int) -> int:
        return rng.choice([0, (1 << width) - 1, rng.getrandbits(width)])

    bits = {bit: rng.getrandbits(1) for bit in ALL_CLBITS}
    values = {var: rng.getrandbits(1) for var in BOOL_VARS}
    values.update({var: uint(var.type.width) for var in UINT_VARS.values()})
    return Env(bits, values)


def row_of(env: Env, slots: SlotMap, rng: random.Random) -> list[int]:
    """The row holding the values (the fixed slots random)."""
    row = [to_int64(rng.getrandbits(64)) for _ in range(slots.num_slots)]
    for bit, value in env.bits.items():
        row[slots.clbit(bit)] = value
    for var, value in env.vars.items():
        row[slots.var(var)] = to_int64(value)
    return row


class Trees:
    """Random well-typed expression trees over the test circuit's classical state."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def register_bit(self, target: ClassicalRegister | expr.Var) -> expr.Expr:
        """A constant Index into a register or a standalone Uint variable."""
        width = (
            len(target) if isinstance(target, ClassicalRegister) else target.type.width
        )
        return expr.index(target, self.rng.randrange(width))

    def same_width_pair(self, width: int, depth: int) -> tuple[expr.Expr, expr.Expr]:
        """Two expressions of type Uint(width)."""
        return self.uint(width, depth), self.uint(width, depth)

    def literal(self, width: int) -> expr.Expr:
        value = self.rng.choice([0, 1, (1 << width) - 1, self.rng.getrandbits(width)])
        return expr.Value(value, types.Uint(width))

    def uint(self, width: int, depth: int) -> expr.Expr:
        """An expression of type exactly Uint(width)."""
        rng = self.rng
        leaves = [lambda: self.literal(width)]
        if width in REGISTERS:
            leaves.append(lambda: expr.lift(REGISTERS[width]))
        if width in UINT_VARS:
            leaves.append(lambda: UINT_VARS[width])
        narrower = [w for w in REGISTERS if w < width]
        if narrower:
            leaves.append(
                lambda: expr.lift(REGISTERS[rng.choice(narrower)], types.Uint(width))
            )
        if depth <= 0:
            return rng.choice(leaves)()
        sub = lambda: self.uint(width, depth - 1)
        other = lambda: self.uint(rng.choice(UINT_WIDTHS), depth - 1)
        amount = lambda: rng.choice(
            [
                self.uint(rng.choice((3, 7)), depth - 1),
                expr.Value(rng.randrange(60, 130), types.Uint(8)),
            ]
        )
        builders = [
            *leaves,
            lambda: expr.bit_not(sub()),
            lambda: expr.Unary(expr.Unary.Op.NEGATE, sub(), types.Uint(width)),
            lambda: expr.bit_and(sub(), sub()),
            lambda: expr.bit_or(sub(), sub()),
            lambda: expr.bit_xor(sub(), sub()),
            lambda: expr.add(sub(), sub()),
            lambda: expr.sub(sub(), sub()),
            lambda: expr.mul(sub(), sub()),
            lambda: expr.div(sub(), sub()),
            lambda: expr.shift_left(sub(), amount()),
            lambda: expr.shift_right(sub(), amount()),
            lambda: expr.cast(other(), types.Uint(width)),
            lambda: expr.cast(self.bool(depth - 1), types.Uint(width)),
        ]
        result = rng.choice(builders)()
        assert result.type == types.Uint(width), result
        return result

    def bool(self, depth: int) -> expr.Expr:
        """An expression of type Bool."""
        rng = self.rng
        width = lambda: rng.choice(UINT_WIDTHS)
        register = lambda: REGISTERS[rng.choice(list(REGISTERS))]
        leaves = [
            lambda: expr.lift(rng.choice(ALL_CLBITS)),
            lambda: rng.choice(BOOL_VARS),
            lambda: expr.lift(rng.random() < 0.5),
            lambda: self.register_bit(register()),
        ]
        if depth <= 0:
            return rng.choice(leaves)()
        sub = lambda: self.bool(depth - 1)
        uints = lambda: self.same_width_pair(width(), depth - 1)
        mixed = lambda: (self.uint(width(), depth - 1), self.uint(width(), depth - 1))
        relations = (
            expr.equal,
            expr.not_equal,
            expr.less,
            expr.less_equal,
            expr.greater,
            expr.greater_equal,
        )
        builders = [
            *leaves,
            lambda: expr.logic_not(sub()),
            lambda: expr.bit_not(sub()),
            lambda: expr.bit_and(sub(), sub()),
            lambda: expr.bit_or(sub(), sub()),
            lambda: expr.bit_xor(sub(), sub()),
            lambda: expr.logic_and(sub(), sub()),
            lambda: expr.logic_or(sub(), sub()),
            lambda: expr.logic_and(*mixed()),
            lambda: expr.logic_or(sub(), self.uint(width(), depth - 1)),
            lambda: expr.equal(sub(), sub()),
            *[lambda relation=relation: relation(*uints()) for relation in relations],
            *[lambda relation=relation: relation(*mixed()) for relation in relations],
            lambda: expr.index(
                self.uint(width(), depth - 1), self.uint(rng.choice((3, 7)), 0)
            ),
            lambda: expr.cast(self.uint(width(), depth - 1), types.Bool()),
        ]
        result = rng.choice(builders)()
        assert result.type == types.Bool(), result
        return result

    def any(self, depth: int) -> expr.Expr:
        """A Bool or Uint expression."""
        if self.rng.random() < 0.4:
            return self.bool(depth)
        return self.uint(self.rng.choice(UINT_WIDTHS), depth)


def random_trees(seed: int, count: int, depth: int) -> list[expr.Expr]:
    trees = Trees(random.Random(seed))
    return [trees.any(trees.rng.randrange(depth + 1)) for _ in range(count)]


def check_value(
    node: expr.Expr, code: ClassicalCode, slots: SlotMap, env: Env, rng: random.Random
) -> None:
    """The program pushes exactly the reference value, touching no slot."""
    row = row_of(env, slots, rng)
    run = run_classical(row, code)
    assert run.stack == [evaluate(node, env)], node
    assert run.row == row
    assert code.max_depth == run.deepest
    assert (code.inputs, code.stack_effect) == (0, 1)


# ---------------------------------------------------------------------------------------
# The header.


def test_constants_come_from_the_header() -> None:
    """OPCODES and the slot constants are exactly the header's constants."""
    text = read_kernel_file("include/classical.cuh")
    found = dict(re.findall(r"constexpr\s+index_t\s+(k\w+)\s*=\s*(\d+)\s*;", text))
    header = {name: int(value) for name, value in found.items()}
    opcodes = {
        name: value for name, value in header.items() if name not in SLOT_CONSTANTS
    }
    assert OPCODES == opcodes
    assert len(set(OPCODES.values())) == len(OPCODES)
    for header_name, module_name in SLOT_CONSTANTS.items():
        assert getattr(classical, module_name) == header[header_name]
    assert set(BINARY_OPS) | {
        "kPushConst",
        "kLoad",
        "kStore",
        "kMaskWidth",
        "kBitNot",
        "kLogicNot",
        "kNegate",
        "kDup",
        "kPop",
    } == set(OPCODES)


def test_every_binary_op_of_qiskit_is_compiled() -> None:
    """Each Binary.Op of the installed Qiskit compiles (on Uint(4) operands)."""
    register = expr.lift(REGISTERS[4])
    for binary_op in expr.Binary.Op:
        node = expr.Binary(binary_op, register, register, types.Uint(4))
        if binary_op.name.startswith(
            ("LOGIC", "EQUAL", "NOT_EQUAL", "LESS", "GREATER")
        ):
            node = expr.Binary(binary_op, register, register, types.Bool())
        check_value(
            node,
            compile_value(node, new_slots()),
            new_slots(),
            random_env(random.Random(1)),
            random.Random(2),
        )


# ---------------------------------------------------------------------------------------
# Code pieces and the slot map.


def test_interpreter_follows_the_header() -> None:
    """The reference machine wraps, and shifts by >= 64 and divides by 0 to 0."""
    cases = [
        ((push_const(-1), push_const(1), op("kAdd")), 0),
        ((push_const(0), push_const(1), op("kSub")), MASK64),
        ((push_const(1), push_const(64), op("kShiftLeft")), 0),
        ((push_const(1), push_const(63), op("kShiftLeft")), 1 << 63),
        ((push_const(MASK64), push_const(200), op("kShiftRight")), 0),
        ((push_const(7), push_const(0), op("kDiv")), 0),
        ((push_const(1 << 63), push_const(64), op("kBitIndex")), 0),
        ((push_const(1 << 63), push_const(63), op("kBitIndex")), 1),
        ((push_const(5), op("kNegate")), (1 << 64) - 5),
        ((push_const(5), op("kBitNot")), MASK64 ^ 5),
    ]
    for pieces, expected in cases:
        assert run_classical([], ClassicalCode.concat(*pieces)).stack == [expected]


def test_builders_and_stack_accounting() -> None:
    """Builders encode (opcode, operand); inputs, effect and depth are as simulated."""
    assert push_const(MASK64).code.tolist() == [[OPCODES["kPushConst"], -1]]
    assert push_const(-1).code.tolist() == push_const(MASK64).code.tolist()
    assert load(7).code.tolist() == [[OPCODES["kLoad"], 7]]
    assert store(9).code.tolist() == [[OPCODES["kStore"], 9]]
    add = op("kAdd")
    assert (len(add), add.inputs, add.stack_effect, add.max_depth) == (1, 2, -1, 2)
    dup = op("kDup")
    assert (dup.inputs, dup.stack_effect, dup.max_depth) == (1, 1, 2)
    empty = ClassicalCode.concat()
    assert (len(empty), empty.inputs, empty.stack_effect, empty.max_depth) == (
        0,
        0,
        0,
        0,
    )
    program = ClassicalCode.concat(
        push_const(1), push_const(2), push_const(3), add, add, store(4)
    )
    assert (len(program), program.inputs, program.stack_effect, program.max_depth) == (
        6,
        0,
        0,
        3,
    )
    assert run_classical([0] * 5, program).row[4] == 6
    assert not program.code.flags.writeable
    with pytest.raises(ValueError):
        op("kPushConst")
    with pytest.raises(ValueError):
        op("kNoSuchOp")
    with pytest.raises(ValueError):
        ClassicalCode(np.array([[max(OPCODES.values()) + 1, 0]]))
    with pytest.raises(ValueError):
        load(-1)


def test_too_deep_code_is_refused() -> None:
    """STACK_DEPTH values fit; one more raises."""
    assert (
        ClassicalCode.concat(*[push_const(i) for i in range(STACK_DEPTH)]).max_depth
        == STACK_DEPTH
    )
    with pytest.raises(UnsupportedInstructionError, match="too deep"):
        ClassicalCode.concat(*[push_const(i) for i in range(STACK_DEPTH + 1)])


def test_slot_map() -> None:
    """Clbits in order from FIRST_FREE_SLOT, then variables and scratch slots."""
    bits = [Clbit() for _ in range(4)]
    slots = SlotMap(bits)
    assert [slots.clbit(bit) for bit in bits] == [FIRST_FREE_SLOT + i for i in range(4)]
    assert slots.num_slots == FIRST_FREE_SLOT + 4
    first, second = BOOL_VARS
    assert slots.var(first) == FIRST_FREE_SLOT + 4
    assert slots.new_slot() == FIRST_FREE_SLOT + 5
    assert slots.var(second) == FIRST_FREE_SLOT + 6
    assert slots.var(first) == FIRST_FREE_SLOT + 4
    assert slots.num_slots == FIRST_FREE_SLOT + 7
    with pytest.raises(InvalidCircuitError):
        slots.clbit(Clbit())
    with pytest.raises(ValueError):
        slots.var(expr.lift(bits[0]))
    with pytest.raises(ValueError):
        SlotMap([bits[0], bits[0]])


# ---------------------------------------------------------------------------------------
# Values and conditions.


@pytest.mark.parametrize("seed", range(4))
def test_random_expressions(seed: int) -> None:
    """Random trees: the compiled program pushes the reference value, at max_depth."""
    rng = random.Random(1000 + seed)
    for node in random_trees(seed, 100, 4):
        slots = new_slots()
        code = compile_value(node, slots)
        for _ in range(4):
            check_value(node, code, slots, random_env(rng), rng)


def test_register_values_and_bits() -> None:
    """Each register's value is sum(bit_i << i); Index reads bit i, 0 beyond the width."""
    rng = random.Random(5)
    for register in REGISTERS.values():
        nodes = [expr.lift(register), expr.lift(register, types.Uint(12))]
        nodes += [expr.index(register, i) for i in range(len(register))]
        nodes += [
            expr.index(register, UINT_VARS[8]),
            expr.index(register, len(register)),
            expr.index(expr.lift(register), 70),
        ]
        for node in nodes:
            slots = new_slots()
            code = compile_value(node, slots)
            for _ in range(8):
                check_value(node, code, slots, random_env(rng), rng)


def test_mixed_width_operations_reduce_to_the_result_type() -> None:
    """Hand-built nodes whose operands are wider than the result are reduced modulo 2**w."""
    wide, narrow = UINT_VARS[16], UINT_VARS[3]
    nodes = [
        expr.Binary(expr.Binary.Op.BIT_OR, wide, narrow, types.Uint(3)),
        expr.Binary(expr.Binary.Op.DIV, wide, narrow, types.Uint(8)),
        expr.Binary(expr.Binary.Op.SHIFT_RIGHT, wide, narrow, types.Uint(8)),
        expr.Binary(expr.Binary.Op.ADD, narrow, wide, types.Uint(16)),
        expr.Value(300, types.Uint(8)),
    ]
    rng = random.Random(6)
    for node in nodes:
        slots = new_slots()
        code = compile_value(node, slots)
        for _ in range(16):
            check_value(node, code, slots, random_env(rng), rng)


def test_legacy_conditions() -> None:
    """(clbit, value) tests the bit; (register, value) tests equality."""
    rng = random.Random(7)
    bit = LOOSE[1]
    register = REGISTERS[3]
    cases = [
        ((bit, value), lambda env, v=value: int(env.bits[bit] == bool(v)))
        for value in (True, False, 1, 0)
    ]
    cases += [
        (
            (register, value),
            lambda env, v=value: int(
                sum(env.bits[b] << i for i, b in enumerate(register)) == v
            ),
        )
        for value in range(10)
    ]
    for condition, expected in cases:
        slots = new_slots()
        code = compile_condition(condition, slots)
        for _ in range(16):
            env = random_env(rng)
            assert run_classical(row_of(env, slots, rng), code).stack == [
                expected(env)
            ], condition


def test_expression_conditions_and_switch_targets() -> None:
    """Conditions push 0/1; switch targets push a clbit's, register's or expression's value."""
    rng = random.Random(8)
    register = REGISTERS[5]
    for condition in random_trees(9, 20, 3):
        if condition.type.kind is types.Bool:
            slots = new_slots()
            check_value(
                condition,
                compile_condition(condition, slots),
                slots,
                random_env(rng),
                rng,
            )
    targets = [
        (LOOSE[0], expr.lift(LOOSE[0])),
        (register, expr.lift(register)),
        (expr.bit_xor(register, 9), expr.bit_xor(register, 9)),
    ]
    for target, node in targets:
        slots = new_slots()
        code = compile_switch_target(target, slots)
        for _ in range(8):
            check_value(node, code, slots, random_env(rng), rng)


# ---------------------------------------------------------------------------------------
# Stores.


def expected_store(
    lvalue: expr.Expr, value: int, env: Env, slots: SlotMap, row: list[int]
) -> list[int]:
    """The row after writing a value (already of the lvalue's type) to an lvalue."""
    row = list(row)
    if isinstance(lvalue, expr.Index):
        position = lvalue.index.value
        target = lvalue.target
        if target.standalone:
            old = env.vars[target]
            row[slots.var(target)] = to_int64(
                old & ~(1 << position) | value << position
            )
        else:
            row[slots.clbit(target.var[position])] = value
    elif lvalue.standalone:
        row[slots.var(lvalue)] = to_int64(value)
    elif isinstance(lvalue.var, Clbit):
        row[slots.clbit(lvalue.var)] = value
    else:
        for i, bit in enumerate(lvalue.var):
            row[slots.clbit(bit)] = (value >> i) & 1
    return row


def store_cases(trees: Trees) -> list[tuple[expr.Expr, expr.Expr]]:
    """(lvalue, rvalue) pairs of every lvalue kind, the rvalue cast as Store requires."""
    rng = trees.rng
    lvalues: list[expr.Expr] = [
        expr.lift(rng.choice(ALL_CLBITS)),
        expr.lift(REGISTERS[rng.choice(list(REGISTERS))]),
        expr.lift(REGISTERS[4], types.Uint(6)),
        rng.choice(BOOL_VARS),
        UINT_VARS[rng.choice(list(UINT_VARS))],
        trees.register_bit(REGISTERS[rng.choice(list(REGISTERS))]),
        trees.register_bit(UINT_VARS[rng.choice(list(UINT_VARS))]),
    ]
    cases = []
    for lvalue in lvalues:
        rvalue = trees.any(rng.randrange(4))
        if rvalue.type != lvalue.type:
            rvalue = expr.cast(rvalue, lvalue.type)
        store_op = Store(lvalue, rvalue)
        cases.append((store_op.lvalue, store_op.rvalue))
    return cases


def test_stores() -> None:
    """Each lvalue kind: the row changes exactly as the reference writes, stack empty."""
    rng = random.Random(10)
    trees = Trees(random.Random(11))
    for _ in range(30):
        for lvalue, rvalue in store_cases(trees):
            slots = new_slots()
            code = compile_store(lvalue, rvalue, slots)
            assert (code.inputs, code.stack_effect) == (0, 0)
            for _ in range(3):
                env = random_env(rng)
                row = row_of(env, slots, rng)
                run = run_classical(row, code)
                assert run.stack == []
                assert run.deepest == code.max_depth
                assert run.row == expected_store(
                    lvalue, evaluate(rvalue, env), env, slots, row
                ), (lvalue, rvalue)


def test_register_store_uses_the_bit_extraction_sequence() -> None:
    """A register store writes each bit by kDup/kPushConst i/kShiftRight/kPushConst 1/kBitAnd/kStore."""
    register = REGISTERS[2]
    slots = new_slots()
    code = compile_store(expr.lift(register), expr.Value(2, types.Uint(2)), slots)
    per_bit = lambda i: [
        [OPCODES["kDup"], 0],
        [OPCODES["kPushConst"], i],
        [OPCODES["kShiftRight"], 0],
        [OPCODES["kPushConst"], 1],
        [OPCODES["kBitAnd"], 0],
        [OPCODES["kStore"], slots.clbit(register[i])],
    ]
    expected = [
        [OPCODES["kPushConst"], 2],
        *per_bit(0),
        *per_bit(1),
        [OPCODES["kPop"], 0],
    ]
    assert code.code.tolist() == expected


# ---------------------------------------------------------------------------------------
# Refusals.


def deep_expression(levels: int) -> expr.Expr:
    """a0 & (a1 & (a2 & ...)): each level keeps one more value on the stack."""
    node: expr.Expr = expr.lift(ALL_CLBITS[0])
    for i in range(levels):
        node = expr.bit_and(expr.lift(ALL_CLBITS[(i + 1) % len(ALL_CLBITS)]), node)
    return node


@pytest.mark.parametrize(
    ("compile_it", "message"),
    [
        (lambda s: compile_value(expr.Value(1.5, types.Float()), s), r"Float"),
        (
            lambda s: compile_condition(
                expr.less(expr.Var.new("f", types.Float()), 1.0), s
            ),
            r"Float",
        ),
        (lambda s: compile_value(expr.lift(Duration.dt(5)), s), r"Duration"),
        (lambda s: compile_value(expr.Stretch.new("stretch"), s), r"Stretch"),
        (
            lambda s: compile_value(expr.Var.new("wide", types.Uint(65)), s),
            r"Uint\(65\)",
        ),
        (
            lambda s: compile_condition((ClassicalRegister(65, "big"), 3), s),
            r"Uint\(65\)",
        ),
        (
            lambda s: compile_store(
                expr.index(REGISTERS[3], UINT_VARS[3]), expr.lift(True), s
            ),
            r"dynamic",
        ),
        (lambda s: compile_value(deep_expression(STACK_DEPTH), s), r"too deep"),
        (lambda s: compile_condition(expr.lift(REGISTERS[3]), s), r"not a Bool"),
        (
            lambda s: compile_value(
                expr.Unary(expr.Unary.Op.NEGATE, BOOL_VARS[0], types.Bool()), s
            ),
            r"NEGATE",
        ),
        (
            lambda s: compile_value(expr.Value(-1, types.Uint(3)), s),
            r"literal.*integer",
        ),
        (lambda s: compile_value(object(), s), r"node object"),  # type: ignore[arg-type]
    ],
    ids=[
        "float-value",
        "float-var",
        "duration",
        "stretch",
        "uint65",
        "uint65-legacy",
        "dynamic-index-lvalue",
        "too-deep",
        "uint-condition",
        "negate-bool",
        "negative-literal",
        "unknown-node",
    ],
)
def test_refusals(compile_it, message: str) -> None:
    """Each unsupported construct raises UnsupportedInstructionError naming the problem."""
    with pytest.raises(UnsupportedInstructionError, match=message):
        compile_it(new_slots())


def test_deepest_accepted_expression() -> None:
    """The deep chain just within STACK_DEPTH compiles, and reaches exactly that depth."""
    node = deep_expression(STACK_DEPTH - 1)
    slots = new_slots()
    code = compile_value(node, slots)
    assert code.max_depth == STACK_DEPTH
    rng = random.Random(12)
    check_value(node, code, slots, random_env(rng), rng)

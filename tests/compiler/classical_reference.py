"""References for the classical stack machine, shared by the tests that run its programs.

Written independently of the compiler (``qiskit_cupy/compiler/classical.py``):

* :func:`run_classical`, a Python copy of ``run_classical`` in ``classical.cuh``
  (uint64 wrap, shifts by 64 or more give 0, division by 0 gives 0), which also records
  the deepest stack a program reaches;
* :func:`evaluate`, a tree-walking evaluator of Qiskit expressions over plain Python
  integers, following the OpenQASM 3 semantics (``Uint(w)`` arithmetic modulo 2**w,
  unsigned comparisons, a register's value ``sum(bit_i << i)``);
* the classical state of a test circuit (clbits, registers, standalone variables), its
  rows of slots, random well-typed expression trees over it (:class:`Trees`) and random
  stores (:func:`store_cases`) with the row each must leave (:func:`expected_store`).

Used by ``tests/compiler/test_classical.py`` (compiled programs against the
evaluator) and ``tests/gpu_host/test_dynamic_launchers_agree.py`` (the device's
interpreter against :func:`run_classical`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from qiskit.circuit import ClassicalRegister, Clbit, Store
from qiskit.circuit.classical import expr, types

from qiskit_cupy.compiler.classical_code import (
    COUNTER_SLOT,
    OPCODES,
    SEED_SLOT,
    SHOT_SLOT,
    STACK_DEPTH,
    ClassicalCode,
    SlotMap,
)

MASK64 = (1 << 64) - 1

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


def _mix64(value: int) -> int:
    """SplitMix64's finalizer on Python integers."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def draw_bits(seed: int, shot: int, counter: int) -> int:
    """The 53 bits of draw ``counter`` of shot ``shot`` under ``seed`` (the kernels'
    counter-based generator, written from its definition)."""
    key = _mix64((seed & MASK64) ^ _mix64(((shot & MASK64) + 0x632BE59BD9B4E019) & MASK64))
    return _mix64((_mix64(key) + ((counter + 1) & MASK64) * 0x9E3779B97F4A7C15) & MASK64) >> 11


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
        elif name == "kDraw":
            stack.append(draw_bits(row[SEED_SLOT], row[SHOT_SLOT], row[COUNTER_SLOT]))
            row[COUNTER_SLOT] = to_int64(row[COUNTER_SLOT] + 1)
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
        return _reduce(int(node.value), type_) if type_.kind is types.Uint else int(bool(node.value))
    if isinstance(node, expr.Cast):
        return _reduce(evaluate(node.operand, env), type_)
    if isinstance(node, expr.Index):
        return (evaluate(node.target, env) >> evaluate(node.index, env)) & 1
    if isinstance(node, expr.Unary):
        operand = evaluate(node.operand, env)
        if node.op is expr.Unary.Op.LOGIC_NOT:
            return int(not operand)
        if node.op is expr.Unary.Op.BIT_NOT:
            return 1 - operand if type_.kind is types.Bool else (1 << type_.width) - 1 - operand
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
        width = len(target) if isinstance(target, ClassicalRegister) else target.type.width
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
            leaves.append(lambda: expr.lift(REGISTERS[rng.choice(narrower)], types.Uint(width)))
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
            lambda: expr.index(self.uint(width(), depth - 1), self.uint(rng.choice((3, 7)), 0)),
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


def expected_store(lvalue: expr.Expr, value: int, env: Env, slots: SlotMap, row: list[int]) -> list[int]:
    """The row after writing a value (already of the lvalue's type) to an lvalue."""
    row = list(row)
    if isinstance(lvalue, expr.Index):
        position = lvalue.index.value
        target = lvalue.target
        if target.standalone:
            old = env.vars[target]
            row[slots.var(target)] = to_int64(old & ~(1 << position) | value << position)
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

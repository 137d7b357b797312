"""Classical expressions compiled to stack-machine bytecode (``compiler/classical.py``).

The two references, written independently of the compiler, are in
``classical_reference.py`` (shared with the device tests):

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

import numpy as np
import pytest
from qiskit.circuit import ClassicalRegister, Clbit, Duration
from qiskit.circuit.classical import expr, types

from compiler.classical_reference import (
    ALL_CLBITS,
    BINARY_OPS,
    BOOL_VARS,
    LOOSE,
    MASK64,
    REGISTERS,
    UINT_VARS,
    Env,
    Trees,
    evaluate,
    expected_store,
    new_slots,
    random_env,
    random_trees,
    row_of,
    run_classical,
    store_cases,
)
from qiskit_cupy.compiler import classical_code
from qiskit_cupy.compiler.classical import (
    compile_condition,
    compile_switch_target,
    compile_value,
)
from qiskit_cupy.compiler.classical_code import (
    FIRST_FREE_SLOT,
    OPCODES,
    STACK_DEPTH,
    ClassicalCode,
    SlotMap,
    load,
    op,
    push_const,
    store,
)
from qiskit_cupy.compiler.classical_stores import compile_store
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError
from qiskit_cupy.kernel_files import read_kernel_file

#: The header constants that are not opcodes, and the module names they have.
SLOT_CONSTANTS = {
    "kCounterSlot": "COUNTER_SLOT",
    "kShotSlot": "SHOT_SLOT",
    "kOutcomeSlot": "OUTCOME_SLOT",
    "kSeedSlot": "SEED_SLOT",
    "kFirstFreeSlot": "FIRST_FREE_SLOT",
    "kStackDepth": "STACK_DEPTH",
}


def check_value(node: expr.Expr, code: ClassicalCode, slots: SlotMap, env: Env, rng: random.Random) -> None:
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
    opcodes = {name: value for name, value in header.items() if name not in SLOT_CONSTANTS}
    assert OPCODES == opcodes
    assert len(set(OPCODES.values())) == len(OPCODES)
    for header_name, module_name in SLOT_CONSTANTS.items():
        assert getattr(classical_code, module_name) == header[header_name]
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
        "kDraw",
    } == set(OPCODES)


def test_every_binary_op_of_qiskit_is_compiled() -> None:
    """Each Binary.Op of the installed Qiskit compiles (on Uint(4) operands)."""
    register = expr.lift(REGISTERS[4])
    for binary_op in expr.Binary.Op:
        node = expr.Binary(binary_op, register, register, types.Uint(4))
        if binary_op.name.startswith(("LOGIC", "EQUAL", "NOT_EQUAL", "LESS", "GREATER")):
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
    program = ClassicalCode.concat(push_const(1), push_const(2), push_const(3), add, add, store(4))
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
    assert ClassicalCode.concat(*[push_const(i) for i in range(STACK_DEPTH)]).max_depth == STACK_DEPTH
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
        ((bit, value), lambda env, v=value: int(env.bits[bit] == bool(v))) for value in (True, False, 1, 0)
    ]
    cases += [
        (
            (register, value),
            lambda env, v=value: int(sum(env.bits[b] << i for i, b in enumerate(register)) == v),
        )
        for value in range(10)
    ]
    for condition, expected in cases:
        slots = new_slots()
        code = compile_condition(condition, slots)
        for _ in range(16):
            env = random_env(rng)
            assert run_classical(row_of(env, slots, rng), code).stack == [expected(env)], condition


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
                assert run.row == expected_store(lvalue, evaluate(rvalue, env), env, slots, row), (
                    lvalue,
                    rvalue,
                )


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
            lambda s: compile_condition(expr.less(expr.Var.new("f", types.Float()), 1.0), s),
            r"Float",
        ),
        (lambda s: compile_value(expr.lift(Duration.dt(5)), s), r"Duration"),
        (lambda s: compile_value(expr.Stretch.new("stretch"), s), r"Stretch"),
        (
            lambda s: compile_value(expr.Var.new("wide", types.Uint(65)), s),
            r"Uint\(65\)",
        ),
        (
            lambda s: compile_condition(expr.less(ClassicalRegister(65, "big"), 3), s),
            r"Uint\(65\)",
        ),
        (
            lambda s: compile_store(expr.index(REGISTERS[3], UINT_VARS[3]), expr.lift(True), s),
            r"dynamic",
        ),
        (lambda s: compile_value(deep_expression(STACK_DEPTH), s), r"too deep"),
        (lambda s: compile_condition(expr.lift(REGISTERS[3]), s), r"not a Bool"),
        (
            lambda s: compile_value(expr.Unary(expr.Unary.Op.NEGATE, BOOL_VARS[0], types.Bool()), s),
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
        "uint65-comparison",
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


@pytest.mark.parametrize("width", [65, 128, 132])
def test_a_condition_on_a_register_wider_than_64_bits_compares_every_bit(width: int) -> None:
    """(register, value) and register == value, 64 bits at a time, on every bit."""
    register = ClassicalRegister(width, "wide")
    slots = SlotMap(list(register))
    rng = random.Random(width)
    value = rng.getrandbits(width)
    row = [0] * FIRST_FREE_SLOT + [(value >> bit) & 1 for bit in range(width)]
    conditions = [(register, value), expr.equal(register, value)]
    for condition in conditions:
        code = compile_condition(condition, slots)
        assert run_classical(row, code).stack == [1]
        for flipped in (0, 63, 64, width - 1):
            changed = list(row)
            changed[FIRST_FREE_SLOT + flipped] ^= 1
            assert run_classical(changed, code).stack == [0]
    unequal = compile_condition(expr.not_equal(register, value), slots)
    assert run_classical(row, unequal).stack == [0]


def test_deepest_accepted_expression() -> None:
    """The deep chain just within STACK_DEPTH compiles, and reaches exactly that depth."""
    node = deep_expression(STACK_DEPTH - 1)
    slots = new_slots()
    code = compile_value(node, slots)
    assert code.max_depth == STACK_DEPTH
    rng = random.Random(12)
    check_value(node, code, slots, random_env(rng), rng)

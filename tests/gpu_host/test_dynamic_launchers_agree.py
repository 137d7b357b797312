"""The GPU's dynamic-circuit launchers agree with the CPU extension's and with NumPy.

The GPU launchers (the exact NVRTC source built for the host, ``host_build.py``)
``qc_classical``, ``qc_decide_outcomes``, ``qc_collapse`` and ``qc_gather`` (both
precisions), ``qc_sample_shots`` and the masked ``qc_apply_op``, each over a grid of
fewer threads than items so that every thread loops, against the CPU extension's
``_cpu.classical``, ``decide_outcomes``, ``collapse``, ``gather``, ``sample_shots`` and
``run_program`` with a mask, and against references written here:

- classical programs: the Python stack machine of ``tests/compiler/classical_reference.py``
  on programs compiled from random expression trees and stores (and on random
  bytecode using every opcode on extreme operands), the values stored also against the
  tree evaluator; rows bitwise equal, masked rows bitwise untouched;
- measurement draws: a Python-integer transcription of ``trajectory_draw`` (which
  ``trajectory_draws``, the host's NumPy copy, and ``_cpu.trajectory_draw`` must match
  bit for bit) and the rule outcome = 1 iff u * (p0 + p1) >= p0;
- collapse and reset: NumPy in float64;
- gather: NumPy fancy indexing, bitwise;
- terminal draws: a Python transcription of the draw and its search, same integers;
- masked ops: the unmasked launch of the same op, and Qiskit's ``Statevector.evolve``.

Rows, shot numbers and seeds take all 64 bits (negative int64 slots, seeds near
2**64 - 1), draws are checked at their boundaries (p0 = u: outcome 1; a tie with a
cumulative sum: the next outcome), and one thread of a launch whose item is beyond
2**32 writes exactly that item's elements (``launch_thread``, as in
``test_measure_launchers_agree.py``).

The bounds of collapse. Both launchers run ``collapse_pair`` (``dynamic.cuh``): the scale
1/sqrt(p) in double (IEEE division and square root, correctly rounded on the host and,
by NVRTC's defaults ``-prec-div=true -prec-sqrt=true``, on a GPU), rounded once to the
state's precision T, then one product per component in T. No operation can be contracted
into a fused multiply-add, so the host build and the CPU extension agree bitwise
(asserted). The NumPy reference divides each component by sqrt(p) in float64 (a true
quotient, where the kernel multiplies by a reciprocal), p being the correctly rounded
sum (``math.fsum``) of the half's |a|^2. With eps(T) the machine epsilon (2.2e-16 for
complex128, 1.2e-7 for complex64) and eps/2 per rounding, the kernel's component is off
by at most 1.5 eps(T) (complex128: the square root, the reciprocal, the product) or
eps(T) + 1.5 eps(double) (complex64: the scale's and the product's roundings in float),
the reference by 1 eps(double): asserted within 3 eps(T), relative, per component;
measured at most 1.0 eps(T) (complex128) and 0.81 eps(T) (complex64). A collapsed
state's norm (``math.fsum`` of its squared components) is 1 within 5 eps(T) (twice the
components' error, plus p's and the squares' roundings); measured at most 2.0 eps(T)
(complex128) and 0.70 eps(T) (complex64). Amplitudes the collapse zeroes must be
exactly 0; inactive states and the rows are bitwise unchanged.

Masked ops. ``ActiveMask`` only decides whether an item runs, so the active states of a
masked launch equal the unmasked launch's bitwise, and the inactive ones their input
bitwise; the unmasked results are within 1e-12 (complex128) and 1e-5 (complex64) of
Qiskit, the bounds of ``test_launchers_agree.py``. ``_cpu.run_program`` is checked on its
cache-resident path (small states, batch > 1: one whole program per thread and entry)
and its large path (2**16-amplitude states, each op across the batch: runs, tiles and
the item loop of the wide diagonal), with 1 and all threads.
"""

from __future__ import annotations

import ctypes
import math
import random
import re
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from qiskit.quantum_info import Operator, Statevector

from compiler.classical_reference import (
    BINARY_OPS,
    MASK64,
    Trees,
    draw_bits,
    evaluate,
    new_slots,
    random_env,
    row_of,
    run_classical,
    store_cases,
    to_int64,
)
from gpu_host.host_build import host_kernels, launch_looping, pointer
from qiskit_cupy import _cpu
from qiskit_cupy.compiler.classical import compile_value
from qiskit_cupy.compiler.classical_code import (
    COUNTER_SLOT,
    FIRST_FREE_SLOT,
    OPCODES,
    OUTCOME_SLOT,
    SEED_SLOT,
    SHOT_SLOT,
    STACK_DEPTH,
    ClassicalCode,
    store,
)
from qiskit_cupy.compiler.classical_stores import compile_store
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices.kernel_source import apply_op_kernel, precision_kernel
from qiskit_cupy.runtime.draws import trajectory_draws

PRECISIONS = {np.complex128: "double", np.complex64: "single"}
DTYPES = pytest.mark.parametrize("dtype", list(PRECISIONS), ids=list(PRECISIONS.values()))
#: Collapse bounds, in units of the precision's epsilon (see the module docstring).
COLLAPSE_ULPS = 3
NORM_ULPS = 5
#: Masked ops against Qiskit, per amplitude.
TOLERANCE = {np.complex128: 1e-12, np.complex64: 1e-5}
#: The seeds of the draws: the largest, and one with its top bit clear.
SEEDS = pytest.mark.parametrize("seed", [2**64 - 1, 0x2545F4914F6CDD1D], ids=["max", "mid"])


def _epsilon(dtype: type) -> float:
    """Machine epsilon of the precision of a complex dtype."""
    return float(np.finfo(dtype).eps)


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _bits(array: np.ndarray) -> np.ndarray:
    """The raw bytes of an array, for bitwise comparisons."""
    return np.ascontiguousarray(array).view(np.uint8)


def _random_int64(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    return rng.integers(-(2**63), 2**63, size=size, dtype=np.int64)


# ---------------------------------------------------------------------------------------
# Classical programs.


def _mask_values(rng: np.random.Generator, count: int) -> np.ndarray:
    """Mask slot values: 0 for about a third (inactive), else nonzero of any sign."""
    values = rng.choice(np.array([1, -1, -(2**63), 2**62, 7], dtype=np.int64), size=count)
    values[rng.random(count) < 0.35] = 0
    values[:2] = (0, -(2**63))  # both kinds, whatever the draw
    return values


def _run_both(
    rows: np.ndarray, width: int, code: np.ndarray, mask_slot: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows after the GPU launcher and after the CPU extension ran ``code`` on them."""
    flat = np.ascontiguousarray(code, dtype=np.int64).reshape(-1)
    items = rows.shape[0]
    on_gpu = np.ascontiguousarray(rows).ravel().copy()
    on_cpu = on_gpu.copy()
    # An empty program still needs a valid pointer.
    device_code = flat if flat.size else np.zeros(2, dtype=np.int64)
    launch_looping(
        "qc_classical",
        items,
        [
            pointer(on_gpu),
            ctypes.c_longlong(width),
            ctypes.c_longlong(items),
            pointer(device_code),
            ctypes.c_longlong(flat.size // 2),
            ctypes.c_longlong(mask_slot),
        ],
    )
    _cpu.classical(on_cpu, width, flat, mask_slot, 0)
    return on_gpu.reshape(items, width), on_cpu.reshape(items, width)


@pytest.mark.parametrize("masked", [False, True], ids=["every-row", "masked"])
@pytest.mark.parametrize("seed", range(3))
def test_classical_programs_agree(seed: int, masked: bool) -> None:
    """Compiled values stored into fresh slots, then compiled stores, on random rows."""
    rng = random.Random(seed)
    trees = Trees(random.Random(100 + seed))
    slots = new_slots()
    values = []
    for _ in range(12):
        node = trees.any(rng.randrange(5))
        values.append((node, slots.new_slot(), compile_value(node, slots)))
    stores = [compile_store(lvalue, rvalue, slots) for lvalue, rvalue in store_cases(trees)]
    mask_slot = slots.new_slot() if masked else -1
    program = ClassicalCode.concat(*[code + store(slot) for _, slot, code in values], *stores)
    width = slots.num_slots
    count = 160
    envs = [random_env(rng) for _ in range(count)]
    rows = np.array([row_of(env, slots, rng) for env in envs], dtype=np.int64)
    if masked:
        rows[:, mask_slot] = _mask_values(_rng(f"mask-{seed}"), count)
    on_gpu, on_cpu = _run_both(rows, width, program.code, mask_slot)
    expected = rows.copy()
    for index, env in enumerate(envs):
        if masked and rows[index, mask_slot] == 0:
            continue
        run = run_classical(rows[index].tolist(), program)
        assert run.stack == []
        expected[index] = run.row
        for node, slot, _ in values:  # the values, before the stores, by the evaluator
            assert expected[index, slot] == to_int64(evaluate(node, env)), node
    np.testing.assert_array_equal(on_cpu, expected)
    np.testing.assert_array_equal(on_gpu, expected)
    changed = (expected != rows).any(axis=1)
    if masked:
        assert not changed[rows[:, mask_slot] == 0].any()
    assert changed.sum() > count // 3


#: Operands that sit on the machine's edges: shifts and masks of 63, 64 and beyond.
_EDGE_VALUES = (0, 1, 2, 3, 63, 64, 65, 127, 2**32, 2**63 - 1, 2**63, MASK64 - 1, MASK64)


def _random_bytecode(rng: random.Random, width: int, length: int) -> np.ndarray:
    """A stack-valid random program on rows of ``width`` slots that uses every opcode.

    Slots 0..width-1 are loaded and stored (the fixed ones too: the machine does not
    treat them apart); the stack never underflows, stays within STACK_DEPTH and is
    emptied into the row at the end.
    """
    names = list(OPCODES)
    pairs: list[tuple[int, int]] = []
    depth = 0
    for step in range(length):
        # the first len(names) steps name each opcode once (when the stack allows)
        name = names[step] if step < len(names) else rng.choice(names)
        pops = 2 if name in BINARY_OPS else (0 if name in ("kPushConst", "kLoad", "kDraw") else 1)
        pushes = 0 if name in ("kStore", "kPop") else (2 if name == "kDup" else 1)
        while depth < pops or depth - pops + pushes > STACK_DEPTH:
            if depth < pops:
                pairs.append((OPCODES["kPushConst"], to_int64(rng.choice(_EDGE_VALUES))))
                depth += 1
            else:
                pairs.append((OPCODES["kStore"], rng.randrange(FIRST_FREE_SLOT, width)))
                depth -= 1
        operand = 0
        if name == "kPushConst":
            operand = to_int64(rng.choice([*_EDGE_VALUES, rng.getrandbits(64)]))
        elif name == "kLoad":
            operand = rng.randrange(width)
        elif name == "kStore":  # the engine's own slots are not the program's to write
            operand = rng.randrange(FIRST_FREE_SLOT, width)
        elif name == "kMaskWidth":
            operand = rng.choice([0, 1, 31, 32, 63, 64, rng.randrange(65)])
        pairs.append((OPCODES[name], operand))
        depth += pushes - pops
    pairs += [(OPCODES["kStore"], rng.randrange(FIRST_FREE_SLOT, width)) for _ in range(depth)]
    return np.array(pairs, dtype=np.int64)


@pytest.mark.parametrize("masked", [False, True], ids=["every-row", "masked"])
def test_random_bytecode_agrees(masked: bool) -> None:
    """Every opcode, on edge values: shifts by 64 or more, division by 0, masks of 0 and
    64 bits, wrapping arithmetic, signed slots read as unsigned."""
    rng = random.Random(31 + masked)
    width = 7
    mask_slot = width - 1 if masked else -1
    store_width = width - 1 if masked else width  # the mask slot stays as it was
    codes = [ClassicalCode(_random_bytecode(rng, store_width, 300)) for _ in range(3)]
    for code in codes:
        assert set(code.code[:, 0].tolist()) == set(OPCODES.values())
    count = 120
    nprng = _rng(f"bytecode-{masked}")
    edges = np.array([to_int64(v) for v in _EDGE_VALUES])
    rows = np.where(
        nprng.random((count, width)) < 0.3,
        nprng.choice(edges, size=(count, width)),
        _random_int64(nprng, (count, width)),
    )
    if masked:
        rows[:, mask_slot] = _mask_values(nprng, count)
    for code in codes:
        on_gpu, on_cpu = _run_both(rows, width, code.code, mask_slot)
        expected = rows.copy()
        for index in range(count):
            if not masked or rows[index, mask_slot] != 0:
                run = run_classical(rows[index].tolist(), code)
                assert run.stack == []
                expected[index] = run.row
        np.testing.assert_array_equal(on_cpu, expected)
        np.testing.assert_array_equal(on_gpu, expected)
        rows = expected  # the next program starts from these rows


def test_an_empty_program_changes_nothing() -> None:
    rows = _random_int64(_rng("empty"), (24, 4))
    on_gpu, on_cpu = _run_both(rows, 4, np.zeros((0, 2), dtype=np.int64), -1)
    np.testing.assert_array_equal(on_gpu, rows)
    np.testing.assert_array_equal(on_cpu, rows)


# ---------------------------------------------------------------------------------------
# Measurement draws.


def reference_draw(seed: int, shot: int, counter: int) -> float:
    """measure.cuh's trajectory_draw on Python integers (the reference's 53 bits)."""
    return float(draw_bits(seed, shot, counter)) * (1.0 / 9007199254740992.0)


def test_trajectory_draw_is_the_same_everywhere() -> None:
    """_cpu.trajectory_draw, trajectory_draws and the Python transcription agree bit for
    bit on random 64-bit inputs, the largest seeds, shots and counters among them (where
    shot + c and counter + 1 wrap)."""
    rng = _rng("draws")
    edges = [0, 1, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
    seeds = edges + [int(s) for s in rng.integers(0, 2**64, size=10, dtype=np.uint64)]
    seeds += [2**64 - 1 - int(d) for d in rng.integers(0, 2**20, size=4)]
    shots = np.array(
        edges
        + [2**64 - 0x632BE59BD9B4E019, 2**64 - 0x632BE59BD9B4E01A]
        + [int(s) for s in rng.integers(0, 2**64, size=24, dtype=np.uint64)],
        dtype=np.uint64,
    )
    counters = np.array(
        edges + [int(c) for c in rng.integers(0, 2**64, size=26, dtype=np.uint64)], dtype=np.uint64
    )
    rng.shuffle(counters)
    for seed in seeds:
        vectorized = trajectory_draws(seed, shots, counters)
        assert vectorized.dtype == np.float64
        for index, (shot, counter) in enumerate(zip(shots.tolist(), counters.tolist())):
            expected = reference_draw(seed, shot, counter)
            assert 0.0 <= expected < 1.0
            assert _cpu.trajectory_draw(seed, shot, counter) == expected, (seed, shot, counter)
            assert vectorized[index] == expected, (seed, shot, counter)
    # distinct inputs, distinct draws (the key and the counter both matter)
    assert len({reference_draw(5, s, c) for s in range(20) for c in range(20)}) == 400


def _decide_reference(
    rows: np.ndarray, probabilities: np.ndarray, seed: int, clbit_slot: int, mask_slot: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows after every active row drew its outcome, and the outcomes of all rows."""
    weights = probabilities.reshape(-1, 2)
    draws = trajectory_draws(seed, rows[:, SHOT_SLOT].view(np.uint64), rows[:, COUNTER_SLOT].view(np.uint64))
    outcomes = (draws * (weights[:, 0] + weights[:, 1]) >= weights[:, 0]).astype(np.int64)
    active = np.ones(len(rows), dtype=bool) if mask_slot < 0 else rows[:, mask_slot] != 0
    expected = rows.copy()
    expected[active, COUNTER_SLOT] += 1
    expected[active, OUTCOME_SLOT] = outcomes[active]
    if clbit_slot >= 0:
        expected[active, clbit_slot] = outcomes[active]
    return expected, outcomes


@SEEDS
@pytest.mark.parametrize(
    ("clbit_slot", "mask_slot"),
    [(-1, -1), (FIRST_FREE_SLOT + 1, -1), (-1, FIRST_FREE_SLOT + 3), (FIRST_FREE_SLOT, FIRST_FREE_SLOT + 3)],
    ids=["plain", "clbit", "masked", "clbit-masked"],
)
def test_decide_outcomes_agree(seed: int, clbit_slot: int, mask_slot: int) -> None:
    rng = _rng(f"decide-{seed}-{clbit_slot}-{mask_slot}")
    count, width = 5000, FIRST_FREE_SLOT + 4
    rows = _random_int64(rng, (count, width))
    rows[:, COUNTER_SLOT] = rng.integers(0, 2**62, size=count)
    rows[: count // 2, COUNTER_SLOT] = rng.integers(0, 8, size=count // 2)
    rows[:, OUTCOME_SLOT] = 5  # neither outcome: each write shows
    rows[:, mask_slot] = _mask_values(rng, count) if mask_slot >= 0 else rows[:, mask_slot]
    weights = rng.random((count, 2))
    weights[::7, 0] = 0.0  # outcome 1 whatever the draw
    weights[3::7, 1] = 0.0  # outcome 0 whatever the draw
    # Boundaries: p0 = u (and p0 + p1 = 1 where that sum is exact) must give outcome 1,
    # p0 just above u outcome 0, so that a > for >= or another order of the arithmetic shows.
    draws = trajectory_draws(seed, rows[:, SHOT_SLOT].view(np.uint64), rows[:, COUNTER_SLOT].view(np.uint64))
    weights[1::7, 0] = draws[1::7]
    weights[1::7, 1] = 1.0 - draws[1::7]
    weights[5::7, 0] = np.nextafter(draws[5::7], 1.0)
    weights[5::7, 1] = 1.0 - weights[5::7, 0]
    probabilities = np.ascontiguousarray(weights.ravel())
    expected, outcomes = _decide_reference(rows, probabilities, seed, clbit_slot, mask_slot)
    boundary = draws * (weights[:, 0] + weights[:, 1]) == weights[:, 0]
    assert boundary.sum() > count // 14 and outcomes[boundary].all()
    assert not outcomes[5::7].any()
    assert outcomes[::7].all() and not outcomes[3::7].any()
    on_gpu = rows.ravel().copy()
    on_cpu = rows.ravel().copy()
    launch_looping(
        "qc_decide_outcomes",
        count,
        [
            pointer(on_gpu),
            ctypes.c_longlong(width),
            ctypes.c_longlong(count),
            pointer(probabilities),
            ctypes.c_ulonglong(seed),
            ctypes.c_longlong(clbit_slot),
            ctypes.c_longlong(mask_slot),
        ],
    )
    _cpu.decide_outcomes(on_cpu, width, probabilities, seed, clbit_slot, mask_slot, 0)
    np.testing.assert_array_equal(on_cpu.reshape(count, width), expected)
    np.testing.assert_array_equal(on_gpu.reshape(count, width), expected)
    active = expected[:, COUNTER_SLOT] != rows[:, COUNTER_SLOT]
    assert 0 < outcomes[active].mean() < 1
    if mask_slot >= 0:
        np.testing.assert_array_equal(active, rows[:, mask_slot] != 0)


# ---------------------------------------------------------------------------------------
# Collapse and reset.

NUM_QUBITS = 10
ROW_WIDTH = FIRST_FREE_SLOT + 2
MASK_SLOT = FIRST_FREE_SLOT + 1


def _states(batch: int, num_qubits: int, dtype: type, name: str) -> np.ndarray:
    """A batch of random normalized states, flat."""
    rng = _rng(name)
    shape = (batch, 1 << num_qubits)
    amplitudes = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    amplitudes /= np.linalg.norm(amplitudes, axis=1, keepdims=True)
    return amplitudes.astype(dtype).ravel()


def _collapse_reference(
    state: np.ndarray, qubit: int, outcome: int, weight: float, reset: bool
) -> np.ndarray:
    """One state after keeping the half of ``outcome`` at ``qubit``, scaled by
    1/sqrt(weight) in float64 (and moved to |0> by a reset)."""
    index = np.arange(state.size)
    zeros = index[(index >> qubit) & 1 == 0]
    ones = zeros | (1 << qubit)
    kept = state.astype(np.complex128)[ones if outcome else zeros]
    # Real divisions: NumPy's complex / real would multiply by the reciprocal, as the
    # kernel does; a true quotient makes the comparison mean something in double too.
    root = np.sqrt(weight)
    result = np.zeros(state.size, dtype=np.complex128)
    result[zeros if reset or outcome == 0 else ones] = kept.real / root + 1j * (kept.imag / root)
    return result


def _exact_sum(values: np.ndarray) -> float:
    """The correctly rounded sum (math.fsum), so that summation adds no error of its own."""
    return math.fsum(values.tolist())


@pytest.mark.parametrize("masked", [False, True], ids=["every-state", "masked"])
@pytest.mark.parametrize("reset", [False, True], ids=["measure", "reset"])
@pytest.mark.parametrize("qubit", [0, 4, NUM_QUBITS - 1])
@pytest.mark.parametrize("batch", [1, 3])
@DTYPES
def test_collapse_agrees(dtype: type, batch: int, qubit: int, reset: bool, masked: bool) -> None:
    name = f"collapse-{np.dtype(dtype).name}-{batch}-{qubit}-{reset}-{masked}"
    rng = _rng(name)
    states = _states(batch, NUM_QUBITS, dtype, name)
    per_state = states.reshape(batch, -1).astype(np.complex128)
    index = np.arange(1 << NUM_QUBITS)
    bit = (index >> qubit) & 1
    squares = per_state.real**2 + per_state.imag**2
    probabilities = np.array(
        [[_exact_sum(squares[entry, bit == b]) for b in (0, 1)] for entry in range(batch)]
    )
    rows = _random_int64(rng, (batch, ROW_WIDTH))
    rows[:, OUTCOME_SLOT] = [1, 0, 1][:batch] if batch > 1 else [int(rng.integers(2))]
    if masked:
        rows[:, MASK_SLOT] = [-(2**63), 0, 3][:batch] if batch > 1 else [0]
    active = rows[:, MASK_SLOT] != 0 if masked else np.ones(batch, dtype=bool)
    probabilities[~active] = 0.0  # inactive entries' weights must not be read
    probabilities = np.ascontiguousarray(probabilities.ravel())
    mask_slot = MASK_SLOT if masked else -1
    initial_rows = rows.copy()
    on_gpu, on_cpu = states.copy(), states.copy()
    items = batch << (NUM_QUBITS - 1)
    launch_looping(
        precision_kernel("qc_collapse", PRECISIONS[dtype]),
        items,
        [
            pointer(on_gpu),
            ctypes.c_int(NUM_QUBITS),
            ctypes.c_longlong(items),
            ctypes.c_int(qubit),
            pointer(probabilities),
            pointer(rows),
            ctypes.c_longlong(ROW_WIDTH),
            ctypes.c_int(int(reset)),
            ctypes.c_longlong(mask_slot),
        ],
    )
    _cpu.collapse(
        on_cpu, NUM_QUBITS, batch, qubit, probabilities, rows.ravel(), ROW_WIDTH, reset, mask_slot, 0
    )
    np.testing.assert_array_equal(_bits(on_gpu), _bits(on_cpu))
    epsilon = _epsilon(dtype)
    for entry in range(batch):
        got = on_cpu.reshape(batch, -1)[entry]
        if not active[entry]:
            np.testing.assert_array_equal(_bits(got), _bits(states.reshape(batch, -1)[entry]))
            continue
        outcome = int(rows[entry, OUTCOME_SLOT])
        weight = probabilities[2 * entry + outcome]
        want = _collapse_reference(per_state[entry], qubit, outcome, weight, reset)
        got64 = got.astype(np.complex128).view(np.float64)
        want64 = want.view(np.float64)
        np.testing.assert_array_equal(got64[want64 == 0], 0.0)
        relative = np.abs(got64 - want64)[want64 != 0] / np.abs(want64[want64 != 0])
        assert relative.max() <= COLLAPSE_ULPS * epsilon
        norm = _exact_sum(got64**2)
        assert abs(norm - 1.0) <= NORM_ULPS * epsilon
        kept = (bit == 0) if reset or outcome == 0 else (bit == 1)
        assert np.all(got[~kept] == 0) and np.all(got[kept] != 0)
    np.testing.assert_array_equal(rows, initial_rows)  # rows are only read


# ---------------------------------------------------------------------------------------
# Gathering branches.


@pytest.mark.parametrize(
    ("num_qubits", "sources"),
    [
        (0, (2, 2, 0, 1, 3, 3, 0, 1, 2, 0, 0, 3)),
        (1, (3, 0, 0, 2, 1, 3)),
        (6, (1, 1, 0)),
        (6, (3, 2, 1, 0, 2)),
        (NUM_QUBITS, (2,)),
    ],
    ids=["n0-many", "n1", "n6-repeat", "n6-reversed", "n10-one"],
)
@DTYPES
def test_gather_agrees(dtype: type, num_qubits: int, sources: tuple[int, ...]) -> None:
    """Branch j is state sources[j] of the source batch (4 states), copied bit for bit."""
    source = _states(4, num_qubits, dtype, f"gather-{num_qubits}")
    source.reshape(4, -1)[1, 0] = -0.0  # signed zeros are copied as they are
    initial = source.copy()
    index = np.array(sources, dtype=np.int64)
    items = len(sources) << num_qubits
    on_gpu = np.full(items, np.nan, dtype=dtype)
    on_cpu = on_gpu.copy()
    launch_looping(
        precision_kernel("qc_gather", PRECISIONS[dtype]),
        items,
        [
            pointer(source),
            pointer(on_gpu),
            ctypes.c_int(num_qubits),
            ctypes.c_longlong(items),
            pointer(index),
        ],
    )
    _cpu.gather(source, on_cpu, num_qubits, index, 0)
    expected = source.reshape(4, -1)[index].ravel()
    np.testing.assert_array_equal(_bits(on_cpu), _bits(expected))
    np.testing.assert_array_equal(_bits(on_gpu), _bits(expected))
    np.testing.assert_array_equal(_bits(source), _bits(initial))


# ---------------------------------------------------------------------------------------
# Terminal draws.


def _reference_shot(row: np.ndarray, seed: int, shot: int, counter: int) -> int:
    """sample_shot in Python: the first index whose cumulative sum exceeds the draw."""
    target = reference_draw(seed, shot & MASK64, counter & MASK64) * float(row[-1])
    return min(int(np.searchsorted(row, target, side="right")), row.size - 1)


@SEEDS
@pytest.mark.parametrize("num_measured", [0, 1, 3, 6])
def test_sample_shots_agree(num_measured: int, seed: int) -> None:
    rng = _rng(f"shots-{num_measured}-{seed}")
    num_states, shots, width = 5, 700, FIRST_FREE_SLOT + 1
    size = 1 << num_measured
    weights = rng.random((num_states, size))
    weights[:, 2::3] = 0.0  # outcomes that must never be drawn (none when size < 3)
    weights *= 0.9 / weights.sum(axis=1, keepdims=True)  # rows need not sum to 1
    cumulative = np.ascontiguousarray(np.cumsum(weights, axis=1).ravel())
    rows = _random_int64(rng, (num_states, width))
    rows[:, COUNTER_SLOT] = rng.integers(0, 2**40, size=num_states)
    rows[0, COUNTER_SLOT] = 0
    shot_states = rng.integers(0, num_states, size=shots).astype(np.int64)
    shot_numbers = _random_int64(rng, shots)
    shot_numbers[: shots // 2] = rng.permutation(shots // 2)  # small, as the engine numbers them
    flat_rows = rows.ravel().copy()
    on_gpu = np.full(shots, -1, dtype=np.int64)
    on_cpu = on_gpu.copy()
    launch_looping(
        "qc_sample_shots",
        shots,
        [
            pointer(cumulative),
            ctypes.c_int(num_measured),
            ctypes.c_longlong(shots),
            pointer(shot_states),
            pointer(shot_numbers),
            pointer(flat_rows),
            ctypes.c_longlong(width),
            ctypes.c_ulonglong(seed),
            pointer(on_gpu),
        ],
    )
    _cpu.sample_shots(cumulative, num_measured, shot_states, shot_numbers, flat_rows, width, seed, on_cpu, 0)
    table = cumulative.reshape(num_states, size)
    expected = [
        _reference_shot(table[state], seed, int(number), int(rows[state, COUNTER_SLOT]))
        for state, number in zip(shot_states, shot_numbers)
    ]
    np.testing.assert_array_equal(on_cpu, expected)
    np.testing.assert_array_equal(on_gpu, expected)
    np.testing.assert_array_equal(flat_rows, rows.ravel())
    assert np.all(weights[shot_states, on_gpu] > 0)
    if size > 1:
        assert len(np.unique(on_gpu)) > 1


def test_a_draw_equal_to_a_cumulative_sum_takes_the_next_outcome() -> None:
    """Rows built so that each shot's draw (scaled by a total of 1) equals a cumulative
    sum exactly: the shot goes to the first index whose sum exceeds it, past the
    outcomes of zero weight that repeat the sum."""
    seed, shots, width = 99, 24, FIRST_FREE_SLOT
    rows = np.zeros((shots, width), dtype=np.int64)
    rows[:, COUNTER_SLOT] = np.arange(shots) * 3
    shot_numbers = np.arange(100, 100 + shots, dtype=np.int64)
    draws = np.array(
        [reference_draw(seed, int(n), int(c)) for n, c in zip(shot_numbers, rows[:, COUNTER_SLOT])]
    )
    table = np.ones((shots, 4))
    table[0::2, :2] = draws[0::2, None]  # [u, u, 1, 1]: outcome 2
    table[1::2, 0] = 0.0
    table[1::2, 1:3] = draws[1::2, None]  # [0, u, u, 1]: outcome 3
    cumulative = np.ascontiguousarray(table.ravel())
    shot_states = np.arange(shots, dtype=np.int64)
    flat_rows = rows.ravel().copy()
    on_gpu = np.full(shots, -1, dtype=np.int64)
    on_cpu = on_gpu.copy()
    launch_looping(
        "qc_sample_shots",
        shots,
        [
            pointer(cumulative),
            ctypes.c_int(2),
            ctypes.c_longlong(shots),
            pointer(shot_states),
            pointer(shot_numbers),
            pointer(flat_rows),
            ctypes.c_longlong(width),
            ctypes.c_ulonglong(seed),
            pointer(on_gpu),
        ],
    )
    _cpu.sample_shots(cumulative, 2, shot_states, shot_numbers, flat_rows, width, seed, on_cpu, 0)
    expected = np.where(np.arange(shots) % 2 == 0, 2, 3)
    assert [
        _reference_shot(table[i], seed, int(shot_numbers[i]), int(rows[i, COUNTER_SLOT]))
        for i in range(shots)
    ] == expected.tolist()
    np.testing.assert_array_equal(on_cpu, expected)
    np.testing.assert_array_equal(on_gpu, expected)


# ---------------------------------------------------------------------------------------
# Masked ops.


def _phases(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.exp(2j * np.pi * rng.random(shape))


def _unitary(rng: np.random.Generator, dim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim)))
    return q * (np.diagonal(r) / np.abs(np.diagonal(r)))


def _op(name: str, batch: int, num_qubits: int) -> GateOp:
    """One op of each kind and placement, per-entry data where ``name`` ends with -entry."""
    rng = _rng(f"{name}-{batch}-{num_qubits}")
    top = num_qubits - 1
    per_entry = name.endswith("-entry")
    count = batch if per_entry else 1

    def data(one):
        sets = [one() for _ in range(count)]
        return np.stack(sets) if per_entry else sets[0]

    kind, targets, controls, values, permutation = {
        "dense1-low": (OpKind.DENSE, (0,), (), 0, ()),
        "dense2-high-ctrl-entry": (OpKind.DENSE, (top, 1), (2,), 1, ()),
        "dense3-low": (OpKind.DENSE, (2, 0, 1), (), 0, ()),
        "dense4-mixed-ctrl": (OpKind.DENSE, (top, top - 2, 1, 3), (0,), 0, ()),
        "dense5-high-entry": (OpKind.DENSE, tuple(range(top - 4, top + 1)), (), 0, ()),
        "diagonal1-high": (OpKind.DIAGONAL, (top,), (), 0, ()),
        "diagonal2-ctrl-entry": (OpKind.DIAGONAL, (top, 3), (0,), 0, ()),
        "diagonal5-spread": (OpKind.DIAGONAL, (0, 2, 4, 6, top), (), 0, ()),
        "permutation1-ctrl": (OpKind.PERMUTATION, (0,), (top,), 1, (1, 0)),
        "permutation2-entry": (OpKind.PERMUTATION, (1, top), (), 0, (2, 0, 3, 1)),
        "wide7": (OpKind.WIDE_DIAGONAL, (0, 1, 3, top - 3, top - 2, top - 1, top), (), 0, ()),
        "wide6-ctrl-entry": (OpKind.WIDE_DIAGONAL, (1, 2, 3, 4, 6, 7), (0,), 1, ()),
    }[name]
    dim = 1 << len(targets)
    if kind is OpKind.DENSE:
        matrix = data(lambda: _unitary(rng, dim))
    else:
        matrix = data(lambda: _phases(rng, (dim,)))
    return GateOp(kind, targets, matrix, controls, values, permutation)


OP_NAMES = [
    "dense1-low",
    "dense2-high-ctrl-entry",
    "dense3-low",
    "dense4-mixed-ctrl",
    "dense5-high-entry",
    "diagonal1-high",
    "diagonal2-ctrl-entry",
    "diagonal5-spread",
    "permutation1-ctrl",
    "permutation2-entry",
    "wide7",
    "wide6-ctrl-entry",
]


def _evolve(state: np.ndarray, op: GateOp, entry: int) -> np.ndarray:
    """One op on one state by Qiskit, complex128: the controlled matrix on controls+targets."""
    if op.data.ndim == (3 if op.kind is OpKind.DENSE else 2):
        op = replace(op, data=op.data[entry])
    matrix = op.dense_matrix()
    dim, c = len(matrix), len(op.controls)
    full = np.eye(dim << c, dtype=complex)
    indices = op.control_values + (np.arange(dim) << c)
    full[np.ix_(indices, indices)] = matrix
    qargs = list(op.controls + op.targets)
    return Statevector(state.astype(np.complex128)).evolve(Operator(full), qargs=qargs).data


#: The rows of a batch of 3 whose entry 1 is inactive, and their mask slot.
MASK_ROWS = np.array([[0, 0, 0, 1], [5, 6, 1, 0], [0, 0, 0, -(2**63)]], dtype=np.int64)
ACTIVE = MASK_ROWS[:, 3] != 0
NO_ROWS = np.zeros(1, dtype=np.int64)


def _gpu_apply(
    states: np.ndarray, num_qubits: int, batch: int, op: GateOp, rows: np.ndarray, width: int, mask_slot: int
) -> None:
    """Run one op through the GPU launcher (host build), grid-stride, every thread looping."""
    program = encode_program([op], batch)
    dtype = states.dtype.type
    data = program.data.astype(dtype)
    row = np.ascontiguousarray(program.rows[0])
    items = batch << (num_qubits - program.num_sorted[0])
    kernel = apply_op_kernel(op.kind.value, len(op.targets), PRECISIONS[dtype])
    launch_looping(
        kernel,
        items,
        [
            pointer(states),
            ctypes.c_int(num_qubits),
            ctypes.c_longlong(items),
            pointer(row),
            pointer(data),
            pointer(rows),
            ctypes.c_longlong(width),
            ctypes.c_longlong(mask_slot),
        ],
    )


def _cpu_apply(
    states: np.ndarray,
    num_qubits: int,
    batch: int,
    ops: list[GateOp],
    rows: np.ndarray,
    width: int,
    mask_slot: int,
    num_threads: int = 0,
) -> None:
    program = encode_program(ops, batch)
    _cpu.run_program(
        states,
        num_qubits,
        batch,
        program.rows,
        program.data.astype(states.dtype),
        rows,
        width,
        mask_slot,
        num_threads,
    )


@pytest.mark.parametrize("name", OP_NAMES)
@DTYPES
def test_masked_apply_op_agrees(dtype: type, name: str) -> None:
    """A masked launch: inactive states untouched, active ones the unmasked launch's."""
    batch = 3
    op = _op(name, batch, NUM_QUBITS)
    initial = _states(batch, NUM_QUBITS, dtype, f"masked-{name}")
    masked, unmasked = initial.copy(), initial.copy()
    flat_rows = MASK_ROWS.ravel().copy()
    _gpu_apply(masked, NUM_QUBITS, batch, op, flat_rows, 4, 3)
    _gpu_apply(unmasked, NUM_QUBITS, batch, op, NO_ROWS, 1, -1)
    np.testing.assert_array_equal(flat_rows, MASK_ROWS.ravel())
    shape = (batch, -1)
    np.testing.assert_array_equal(
        _bits(masked.reshape(shape)[~ACTIVE]), _bits(initial.reshape(shape)[~ACTIVE])
    )
    np.testing.assert_array_equal(
        _bits(masked.reshape(shape)[ACTIVE]), _bits(unmasked.reshape(shape)[ACTIVE])
    )
    for entry in range(batch):
        want = _evolve(initial.reshape(shape)[entry], op, entry)
        np.testing.assert_allclose(unmasked.reshape(shape)[entry], want, rtol=0, atol=TOLERANCE[dtype])
        assert not np.allclose(want, initial.reshape(shape)[entry])
    # The CPU extension's run_program with the same mask: the same states, within the bound.
    on_cpu = initial.copy()
    _cpu_apply(on_cpu, NUM_QUBITS, batch, [op], MASK_ROWS.ravel(), 4, 3)
    np.testing.assert_array_equal(
        _bits(on_cpu.reshape(shape)[~ACTIVE]), _bits(initial.reshape(shape)[~ACTIVE])
    )
    np.testing.assert_allclose(on_cpu, masked, rtol=0, atol=TOLERANCE[dtype])


def _cache_resident_bytes() -> int:
    """kCacheResidentStateBytes of program_launchers.hpp (``size_t{1} << bits``)."""
    text = (Path(__file__).resolve().parents[2] / "kernels" / "cpu" / "program_launchers.hpp").read_text()
    match = re.search(r"kCacheResidentStateBytes\s*=\s*size_t\{1\}\s*<<\s*(\d+);", text)
    assert match, "kCacheResidentStateBytes not found in program_launchers.hpp"
    return 1 << int(match.group(1))


#: (name, num_qubits, batch): run_program's cache-resident path (small states, batch > 1)
#: and its large path (2**16 amplitudes, past the limit in both precisions; batch 1
#: always takes it).
PROGRAM_PATHS = [("cache-resident", 8, 3), ("large", 16, 3), ("large-single", 16, 1), ("small-single", 8, 1)]


@pytest.mark.parametrize("num_threads", [1, 0], ids=["one-thread", "all-threads"])
@pytest.mark.parametrize(
    ("path", "num_qubits", "batch"), PROGRAM_PATHS, ids=[case[0] for case in PROGRAM_PATHS]
)
@DTYPES
def test_masked_run_program_agrees(
    dtype: type, path: str, num_qubits: int, batch: int, num_threads: int
) -> None:
    """A whole mixed program under a mask: inactive states bitwise untouched, active ones
    bitwise the unmasked run's, and those within the bound of Qiskit."""
    resident = np.dtype(dtype).itemsize << num_qubits <= _cache_resident_bytes()
    assert resident == (path == "cache-resident" or path == "small-single")
    ops = [_op(name, batch, num_qubits) for name in OP_NAMES]
    initial = _states(batch, num_qubits, dtype, f"program-{path}")
    rows = MASK_ROWS[:batch].ravel().copy() if batch > 1 else np.array([0, 0, 0, 7], dtype=np.int64)
    active = ACTIVE[:batch] if batch > 1 else np.array([True])
    masked, unmasked = initial.copy(), initial.copy()
    _cpu_apply(masked, num_qubits, batch, ops, rows, 4, 3, num_threads)
    _cpu_apply(unmasked, num_qubits, batch, ops, NO_ROWS, 1, -1, num_threads)
    shape = (batch, -1)
    np.testing.assert_array_equal(
        _bits(masked.reshape(shape)[~active]), _bits(initial.reshape(shape)[~active])
    )
    np.testing.assert_array_equal(
        _bits(masked.reshape(shape)[active]), _bits(unmasked.reshape(shape)[active])
    )
    for entry in np.flatnonzero(active):
        want = initial.reshape(shape)[entry].astype(np.complex128)
        for op in ops:
            want = _evolve(want, op, entry)
        np.testing.assert_allclose(masked.reshape(shape)[entry], want, rtol=0, atol=TOLERANCE[dtype])
    if batch == 1:  # the same single state, inactive
        inactive = initial.copy()
        _cpu_apply(inactive, num_qubits, 1, ops, np.zeros(4, dtype=np.int64), 4, 3, num_threads)
        np.testing.assert_array_equal(_bits(inactive), _bits(initial))
    if path == "large" and num_threads == 0:  # the GPU launcher, op by op, under the same mask
        on_gpu = initial.copy()
        for op in ops:
            _gpu_apply(on_gpu, num_qubits, batch, op, rows, 4, 3)
        np.testing.assert_array_equal(
            _bits(on_gpu.reshape(shape)[~active]), _bits(initial.reshape(shape)[~active])
        )
        np.testing.assert_allclose(on_gpu, masked, rtol=0, atol=TOLERANCE[dtype])


# ---------------------------------------------------------------------------------------
# 64-bit items. One thread of a launch whose first item is beyond 2**32 runs (as in
# test_measure_launchers_agree.py), with its arrays' pointers shifted back so that the
# item's elements land in small arrays. num_items = item + EXTRA_ITEMS: a 64-bit grid
# stride ends the thread's loop after its item, a stride truncated to 32 bits (BLOCK)
# would run item + BLOCK too, whose elements the arrays also hold.

BLOCK = 32
EXTRA_ITEMS = 48
BIG_ITEM = 2**32 + 5


def _shifted(array: np.ndarray, index: int, at: int) -> ctypes.c_void_p:
    """A device pointer whose element ``index`` is ``array[at]`` (flat)."""
    address = array.ctypes.data + (at - index) * array.itemsize
    assert address > 0
    return ctypes.c_void_p(address)


def _launch_item(name: str, item: int, arguments: list[ctypes._SimpleCData]) -> None:
    """Run the one thread of a grid-stride launch whose first item is ``item``."""
    block_index, thread_index = divmod(item, BLOCK)
    host_kernels().launch_thread(name, block_index + 1, BLOCK, block_index, thread_index, arguments)


def test_classical_and_decide_index_rows_with_64_bits() -> None:
    """Row BIG_ITEM (at element BIG_ITEM * width) is the only row run, and decided."""
    width = FIRST_FREE_SLOT + 2
    rng = _rng("rows-64")
    rows = _random_int64(rng, (BLOCK + 2, width))
    rows[:, COUNTER_SLOT] = 3
    rows[:, width - 1] = 1  # every row is active: a stray item would show
    initial = rows.copy()
    program = ClassicalCode(
        np.array(
            [
                [OPCODES["kLoad"], width - 2],
                [OPCODES["kPushConst"], 1],
                [OPCODES["kAdd"], 0],
                [OPCODES["kStore"], width - 2],
            ]
        )
    )
    code = np.ascontiguousarray(program.code.reshape(-1))
    items = BIG_ITEM + EXTRA_ITEMS
    _launch_item(
        "qc_classical",
        BIG_ITEM,
        [
            _shifted(rows, BIG_ITEM * width, width),
            ctypes.c_longlong(width),
            ctypes.c_longlong(items),
            pointer(code),
            ctypes.c_longlong(len(program)),
            ctypes.c_longlong(width - 1),
        ],
    )
    expected = initial.copy()
    expected[1, width - 2] = to_int64(int(initial[1, width - 2]) + 1)
    np.testing.assert_array_equal(rows, expected)
    probabilities = np.full(2 * (BLOCK + 2), np.nan)
    probabilities[2:4] = (0.25, 0.75)
    seed = 2**64 - 1
    _launch_item(
        "qc_decide_outcomes",
        BIG_ITEM,
        [
            _shifted(rows, BIG_ITEM * width, width),
            ctypes.c_longlong(width),
            ctypes.c_longlong(items),
            _shifted(probabilities, 2 * BIG_ITEM, 2),
            ctypes.c_ulonglong(seed),
            ctypes.c_longlong(FIRST_FREE_SLOT),
            ctypes.c_longlong(width - 1),
        ],
    )
    u = reference_draw(seed, int(expected[1, SHOT_SLOT]) & MASK64, 3)
    outcome = int(u * (0.25 + 0.75) >= 0.25)
    expected[1, COUNTER_SLOT] = 4
    expected[1, OUTCOME_SLOT] = expected[1, FIRST_FREE_SLOT] = outcome
    np.testing.assert_array_equal(rows, expected)


@pytest.mark.parametrize(
    ("num_qubits", "batch", "entry"), [(34, 1, 0), (32, 3, 2)], ids=["one-state", "entry-2"]
)
def test_collapse_indexes_items_with_64_bits(num_qubits: int, batch: int, entry: int) -> None:
    """Item BIG_ITEM at qubit 0 is the pair (2 * local, 2 * local + 1) of its entry
    (item >> (n - 1)), scaled by that entry's weight of that entry's outcome."""
    local = BIG_ITEM - (entry << (num_qubits - 1))
    zero = (entry << num_qubits) | (local << 1)
    rng = _rng(f"collapse-64-{num_qubits}")
    size = 2 * BLOCK + 4
    states = rng.normal(size=size) + 1j * rng.normal(size=size)
    initial = states.copy()
    rows = np.zeros((batch, ROW_WIDTH), dtype=np.int64)
    rows[:, OUTCOME_SLOT] = 0
    rows[entry, OUTCOME_SLOT] = 1
    rows[:, MASK_SLOT] = 0
    rows[entry, MASK_SLOT] = 1
    probabilities = np.full(2 * batch, np.nan)
    probabilities[2 * entry : 2 * entry + 2] = (0.36, 0.64)
    _launch_item(
        precision_kernel("qc_collapse", "double"),
        BIG_ITEM,
        [
            _shifted(states, zero, 1),
            ctypes.c_int(num_qubits),
            ctypes.c_longlong(BIG_ITEM + EXTRA_ITEMS),
            ctypes.c_int(0),
            pointer(probabilities),
            pointer(rows),
            ctypes.c_longlong(ROW_WIDTH),
            ctypes.c_int(0),
            ctypes.c_longlong(MASK_SLOT),
        ],
    )
    expected = initial.copy()
    expected[1] = 0
    expected[2] = initial[2] * (1.0 / math.sqrt(0.64))
    np.testing.assert_array_equal(states, expected)


@pytest.mark.parametrize(
    ("num_qubits", "sources", "source_index"),
    [
        (33, (1,), 2**33 + BIG_ITEM),  # branch 0, amplitude BIG_ITEM of state 1
        (31, (0, 0, 1), 2**31 + 5),  # branch BIG_ITEM >> 31 = 2, amplitude 5 of state 1
    ],
    ids=["one-branch", "branch-2"],
)
def test_gather_indexes_items_with_64_bits(
    num_qubits: int, sources: tuple[int, ...], source_index: int
) -> None:
    rng = _rng(f"gather-64-{num_qubits}")
    size = BLOCK + 4
    source = rng.normal(size=size) + 1j * rng.normal(size=size)
    branches = np.full(size, np.nan + 0j)
    index = np.array(sources, dtype=np.int64)
    _launch_item(
        precision_kernel("qc_gather", "double"),
        BIG_ITEM,
        [
            _shifted(source, source_index, 1),
            _shifted(branches, BIG_ITEM, 1),
            ctypes.c_int(num_qubits),
            ctypes.c_longlong(BIG_ITEM + EXTRA_ITEMS),
            pointer(index),
        ],
    )
    assert branches[1] == source[1]
    assert np.isnan(np.delete(branches, 1)).all()


def test_sample_shots_index_shots_with_64_bits() -> None:
    width = FIRST_FREE_SLOT
    cumulative = np.array([0.5, 0.5, 1.0, 1.0, 0.25, 0.5, 0.75, 1.0])
    rows = np.zeros((2, width), dtype=np.int64)
    rows[:, COUNTER_SLOT] = (0, 9)
    shot_states = np.zeros(BLOCK + 4, dtype=np.int64)
    shot_states[1] = 1
    shot_numbers = np.zeros(BLOCK + 4, dtype=np.int64)
    shot_numbers[1] = -12345
    outcomes = np.full(BLOCK + 4, -1, dtype=np.int64)
    seed = 77
    _launch_item(
        "qc_sample_shots",
        BIG_ITEM,
        [
            pointer(cumulative),
            ctypes.c_int(2),
            ctypes.c_longlong(BIG_ITEM + EXTRA_ITEMS),
            _shifted(shot_states, BIG_ITEM, 1),
            _shifted(shot_numbers, BIG_ITEM, 1),
            pointer(rows),
            ctypes.c_longlong(width),
            ctypes.c_ulonglong(seed),
            _shifted(outcomes, BIG_ITEM, 1),
        ],
    )
    expected = _reference_shot(cumulative[4:], seed, -12345, 9)
    assert outcomes[1] == expected
    np.testing.assert_array_equal(np.delete(outcomes, 1), -1)


# ---------------------------------------------------------------------------------------
# Kraus draws and the rescaling of noisy trajectories.


def _kraus_reference(
    rows: np.ndarray, pieces: np.ndarray, coefficients: np.ndarray, index_slot: int, mask_slot: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows after every active row drew an operator, and each row's scale (1 where
    inactive: the launch leaves those entries as they were, and the test starts them at 1)."""
    count = len(rows)
    weights = np.einsum("ipc,pbc->bi", coefficients, pieces.reshape(-1, count, 2))
    seeds = rows[:, SEED_SLOT].view(np.uint64)
    draws = np.array(
        [
            reference_draw(int(seed), int(shot), int(counter))
            for seed, shot, counter in zip(
                seeds, rows[:, SHOT_SLOT].view(np.uint64), rows[:, COUNTER_SLOT].view(np.uint64)
            )
        ]
    )
    active = np.ones(count, dtype=bool) if mask_slot < 0 else rows[:, mask_slot] != 0
    expected = rows.copy()
    scales = np.ones(count)
    for row in np.flatnonzero(active):
        target = draws[row] * weights[row].sum()
        positive = np.flatnonzero(weights[row] > 0)
        cumulative = np.cumsum(weights[row, positive])
        chosen = positive[min(int(np.searchsorted(cumulative, target, side="right")), len(positive) - 1)]
        expected[row, COUNTER_SLOT] += 1
        expected[row, index_slot] = chosen
        scales[row] = 1 / np.sqrt(weights[row, chosen])
    return expected, scales


@SEEDS
@pytest.mark.parametrize("mask_slot", [-1, FIRST_FREE_SLOT + 2], ids=["every-row", "masked"])
def test_choose_kraus_agrees(seed: int, mask_slot: int) -> None:
    """The draw of an operator by its weight (a linear form in the pieces), on both
    launchers, against a reference; zero weights are never drawn."""
    rng = _rng(f"kraus-{seed}-{mask_slot}")
    count, width, index_slot = 400, FIRST_FREE_SLOT + 3, FIRST_FREE_SLOT
    num_kraus, num_pieces = 3, 4
    rows = _random_int64(rng, (count, width))
    rows[:, SEED_SLOT] = np.uint64(seed).astype(np.int64)
    rows[:, COUNTER_SLOT] = rng.integers(0, 50, size=count)
    rows[:, index_slot] = -7
    if mask_slot >= 0:
        rows[:, mask_slot] = _mask_values(rng, count)
    pieces = rng.random((num_pieces, count, 2))
    coefficients = rng.random((num_kraus, num_pieces, 2))
    coefficients[1, :, :] = 0.0  # operator 1 has weight 0 everywhere
    expected, scales = _kraus_reference(rows, pieces, coefficients, index_slot, mask_slot)
    flat_pieces = np.ascontiguousarray(pieces.ravel())
    flat_coefficients = np.ascontiguousarray(coefficients.ravel())
    on_gpu, on_cpu = rows.ravel().copy(), rows.ravel().copy()
    gpu_scales, cpu_scales = np.ones(count), np.ones(count)
    launch_looping(
        "qc_choose_kraus",
        count,
        [
            pointer(on_gpu),
            ctypes.c_longlong(width),
            ctypes.c_longlong(count),
            pointer(flat_pieces),
            pointer(flat_coefficients),
            ctypes.c_int(num_kraus),
            ctypes.c_int(num_pieces),
            ctypes.c_longlong(index_slot),
            pointer(gpu_scales),
            ctypes.c_longlong(mask_slot),
        ],
    )
    _cpu.choose_kraus(
        on_cpu,
        width,
        flat_pieces,
        flat_coefficients,
        num_kraus,
        num_pieces,
        index_slot,
        cpu_scales,
        mask_slot,
        0,
    )
    for rows_after, scales_after in ((on_cpu, cpu_scales), (on_gpu, gpu_scales)):
        np.testing.assert_array_equal(rows_after.reshape(count, width), expected)
        np.testing.assert_allclose(scales_after, scales, rtol=1e-14)
    chosen = expected[:, index_slot][expected[:, COUNTER_SLOT] != rows[:, COUNTER_SLOT]]
    assert set(chosen.tolist()) == {0, 2}


@DTYPES
@pytest.mark.parametrize("mask_slot", [-1, MASK_SLOT], ids=["every-state", "masked"])
def test_scale_states_agrees(dtype: type, mask_slot: int) -> None:
    batch = 5
    states = _states(batch, NUM_QUBITS, dtype, f"scale-{mask_slot}")
    rng = _rng(f"scale-rows-{mask_slot}")
    rows = _random_int64(rng, (batch, ROW_WIDTH))
    rows[:, MASK_SLOT] = [1, 0, 3, 0, -1]
    scales = rng.random(batch) + 0.5
    active = np.ones(batch, dtype=bool) if mask_slot < 0 else rows[:, MASK_SLOT] != 0
    expected = states.reshape(batch, -1).copy()
    expected[active] *= scales[active, None].astype(expected.real.dtype)
    on_gpu, on_cpu = states.copy(), states.copy()
    launch_looping(
        precision_kernel("qc_scale_states", PRECISIONS[dtype]),
        states.size,
        [
            pointer(on_gpu),
            ctypes.c_int(NUM_QUBITS),
            ctypes.c_longlong(states.size),
            pointer(scales),
            pointer(rows.ravel()),
            ctypes.c_longlong(ROW_WIDTH),
            ctypes.c_longlong(mask_slot),
        ],
    )
    _cpu.scale_states(on_cpu, NUM_QUBITS, batch, scales, rows.ravel(), ROW_WIDTH, mask_slot, 0)
    np.testing.assert_array_equal(_bits(on_gpu), _bits(on_cpu))
    np.testing.assert_allclose(on_cpu.reshape(batch, -1), expected, rtol=4 * _epsilon(dtype), atol=0)


@DTYPES
def test_density_diagonal_agrees(dtype: type) -> None:
    """States whose squared amplitudes are each density matrix's diagonal (negative
    rounding clipped to 0), bit for bit on both launchers."""
    num_qubits, batch = 4, 3
    densities = _states(batch, 2 * num_qubits, dtype, "densities")
    rows = densities.reshape(batch, 1 << num_qubits, 1 << num_qubits)
    rows.real[0, 3, 3] = -1e-3  # a diagonal entry below zero
    on_gpu = np.zeros(batch << num_qubits, dtype=dtype)
    on_cpu = on_gpu.copy()
    launch_looping(
        precision_kernel("qc_density_diagonal", PRECISIONS[dtype]),
        on_gpu.size,
        [pointer(densities), pointer(on_gpu), ctypes.c_int(num_qubits), ctypes.c_longlong(on_gpu.size)],
    )
    _cpu.density_diagonal(densities, on_cpu, num_qubits, batch, 0)
    np.testing.assert_array_equal(_bits(on_gpu), _bits(on_cpu))
    diagonals = np.einsum("bii->bi", densities.reshape(batch, 1 << num_qubits, 1 << num_qubits)).real
    expected = np.sqrt(np.maximum(diagonals, 0)).astype(on_cpu.real.dtype)
    np.testing.assert_allclose(on_cpu.reshape(batch, -1).real, expected, rtol=2 * _epsilon(dtype), atol=0)
    assert not on_cpu.imag.any() and on_cpu.reshape(batch, -1)[0, 3] == 0

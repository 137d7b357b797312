"""Every argument check of the CPU extension (``require`` in kernels/cpu/).

Each case calls one launcher with one bad argument and expects ValueError (nanobind
turns std::invalid_argument into ValueError) with exactly the message of the require
it trips. The require messages are parsed out of the sources, and the cases must cover
every one of them, so a new require without a case here fails
``test_every_require_is_covered``. Bad op rows start from a valid ``encode_program`` row
with one field corrupted; bad classical programs are written from the opcodes of
``kernels/include/classical.cuh``, read here. After each rejected call, no array it was
given has changed and the extension still computes correct states.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qiskit_cupy import _cpu
from qiskit_cupy.compiler.op_registry import OP_KINDS, OP_LAYOUT
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program

CPU_SOURCES = Path(__file__).resolve().parents[2] / "kernels" / "cpu"

L = OP_LAYOUT
DTYPES = [np.complex128, np.complex64]
#: Qubits of the states the op-row cases run on.
N = 7


# ------------------------------------------------------------ parsing kernels/cpu/


def strip_comments(text: str) -> str:
    """``text`` without its // and /* */ comments (string literals kept intact)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == '"':
            end = i + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def call_arguments(text: str, start: int) -> list[str]:
    """The top-level comma-separated arguments of a call whose '(' ends before ``start``."""
    depth, current, i, args = 0, start, start, []
    while True:
        char = text[i]
        if char == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                args.append(text[current:i])
                return args
            depth -= 1
        elif char == "," and depth == 0:
            args.append(text[current:i])
            current = i + 1
        i += 1


#: A function definition's first line: a return type and the name at the line start.
_FUNCTION = re.compile(
    r"^(?!template|namespace|using|constexpr|struct|static|return)[A-Za-z_][\w:<>*&, ]*?\b(\w+)\(",
    re.MULTILINE,
)


def require_sites() -> list[tuple[str, str]]:
    """Each ``require(condition, "message")`` call of kernels/cpu/: (enclosing function, message)."""
    sites = []
    for source in sorted(CPU_SOURCES.glob("*.[ch]pp")):
        sites.extend(_require_sites_of(strip_comments(source.read_text(encoding="utf-8"))))
    return sites


def _require_sites_of(text: str) -> list[tuple[str, str]]:
    sites = []
    for match in re.finditer(r"\brequire\(", text):
        before = text[: match.start()]
        if re.search(r"\bvoid\s*$", before):  # the definition of require itself
            continue
        args = call_arguments(text, match.end())
        assert len(args) == 2, args
        message = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', args[1]))
        assert message, f"require without a literal message: {args}"
        function = [found.group(1) for found in _FUNCTION.finditer(before)][-1]
        sites.append((function, message))
    return sites


# --------------------------------------------------------------------- the calls


def random_states(num_qubits: int, batch: int, dtype: type, seed: int = 0) -> np.ndarray:
    """A batch of random normalized states, flat, of the given dtype."""
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(batch, 1 << num_qubits)) + 1j * rng.normal(size=(batch, 1 << num_qubits))
    states /= np.linalg.norm(states, axis=1, keepdims=True)
    return states.astype(dtype).ravel()


def random_unitary(dim: int, seed: int) -> np.ndarray:
    """A random unitary (QR of a complex Gaussian matrix)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim)))
    return q * (np.diagonal(r) / np.abs(np.diagonal(r)))


HADAMARD = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)

#: Valid ops of each kind on N qubits; the first row of every bad program is a Hadamard.
VALID_OPS: dict[str, Callable[[int], GateOp]] = {
    "dense": lambda batch: GateOp(OpKind.DENSE, (2, 0), random_unitary(4, 1), (3, 6), 0b01),
    "dense-per-entry": lambda batch: GateOp(
        OpKind.DENSE, (1, 4), np.stack([random_unitary(4, 2 + b) for b in range(batch)])
    ),
    "diagonal": lambda batch: GateOp(OpKind.DIAGONAL, (1, 4), np.exp(1j * np.arange(4.0)), (0,), 0),
    "permutation": lambda batch: GateOp(
        OpKind.PERMUTATION, (3, 1), np.array([1, 1j, -1, -1j]), (5,), 1, (2, 0, 3, 1)
    ),
    "wide": lambda batch: GateOp(
        OpKind.WIDE_DIAGONAL, (0, 1, 2, 4, 5, 6), np.exp(1j * np.arange(64.0)), (3,), 1
    ),
}


@dataclass(frozen=True)
class Call:
    """A launcher and its arguments."""

    function: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass(frozen=True)
class BadCase:
    """One bad call: the C++ function whose require it trips, and that require's message."""

    site: str
    message: str
    build: Callable[[type], Call]
    per_precision: bool = True


def program_call(
    dtype: type,
    op_name: str,
    corrupt: Callable[[np.ndarray], None] | None = None,
    batch: int = 1,
    data_change: Callable[[np.ndarray], np.ndarray] | None = None,
    num_qubits: int = N,
    states_size: int | None = None,
    column_change: int = 0,
    mask: tuple[int, int, int] = (1, 1, -1),
) -> Call:
    """run_program on [Hadamard, VALID_OPS[op_name]], the second row corrupted.

    ``mask`` is (entries of the rows, row width, mask slot): every state by default.
    """
    ops = [GateOp(OpKind.DENSE, (0,), HADAMARD), VALID_OPS[op_name](batch)]
    program = encode_program(ops, batch=batch)
    rows = program.rows.copy()
    if corrupt is not None:
        corrupt(rows[1])
    if column_change:
        rows = np.ascontiguousarray(
            rows[:, : L["kOpWidth"] + column_change]
            if column_change < 0
            else np.pad(rows, ((0, 0), (0, column_change)))
        )
    data = program.data.astype(dtype)
    if data_change is not None:
        data = np.ascontiguousarray(data_change(data))
    states = random_states(N, max(batch, 1), dtype)
    if states_size is not None:
        states = np.resize(states, states_size)
    rows_size, row_width, mask_slot = mask
    slots = np.ones(rows_size, dtype=np.int64)  # every state active where a slot is read
    return Call(_cpu.run_program, (states, num_qubits, batch, rows, data, slots, row_width, mask_slot, 0))


def set_field(field: str, value: int, index: int = 0) -> Callable[[np.ndarray], None]:
    """A corruption that sets one field (``L[field] + index``) of a row."""

    def corrupt(row: np.ndarray) -> None:
        row[L[field] + index] = value

    return corrupt


def set_from(field: str, index: int, source_index: int) -> Callable[[np.ndarray], None]:
    """A corruption that copies one slot of a row region into another."""

    def corrupt(row: np.ndarray) -> None:
        row[L[field] + index] = row[L[field] + source_index]

    return corrupt


def xor_field(field: str, value: int) -> Callable[[np.ndarray], None]:
    """A corruption that flips bits of one field."""

    def corrupt(row: np.ndarray) -> None:
        row[L[field]] ^= value

    return corrupt


def last_sorted_to(value: int) -> Callable[[np.ndarray], None]:
    """A corruption that sets the row's last sorted position."""

    def corrupt(row: np.ndarray) -> None:
        row[L["kSorted"] + row[L["kNumSorted"]] - 1] = value

    return corrupt


def offset_past_end(row: np.ndarray) -> None:
    """Moves the op's data one entry past the end of the buffer (4 + 16 entries)."""
    row[L["kDataOffset"]] += 1


def zero_state_call(dtype: type, num_qubits: int, batch: int, size: int) -> Call:
    """set_zero_state on a random array of ``size`` entries."""
    states = np.resize(random_states(4, 4, dtype), size)
    return Call(_cpu.set_zero_state, (states, num_qubits, batch, 0))


def marginal_call(
    dtype: type,
    num_qubits: int = 4,
    batch: int = 2,
    positions: tuple[int, ...] = (2, 0),
    sorted_positions: tuple[int, ...] = (0, 2),
    chunk_bits: int = 1,
    partials: int | None = None,
    states_size: int | None = None,
) -> Call:
    """marginal_partials with valid defaults (4 qubits, batch 2, 2 measured, chunk 1)."""
    states = random_states(4, 2, dtype)
    if states_size is not None:
        states = np.resize(states, states_size)
    size = (batch << (len(positions) + chunk_bits)) if partials is None else partials
    return Call(
        _cpu.marginal_partials,
        (
            states,
            num_qubits,
            batch,
            np.array(positions, dtype=np.int64),
            np.array(sorted_positions, dtype=np.int64),
            chunk_bits,
            np.zeros(max(size, 0)),
            0,
        ),
    )


def sample_call(
    num_measured: int = 2,
    shots: int = 3,
    seeds: int = 2,
    cumulative: int | None = None,
    outcomes: int | None = None,
) -> Call:
    """sample with valid defaults (2 measured, 3 shots, 2 seeds)."""
    if cumulative is not None:
        rows = cumulative
    else:
        rows = seeds << num_measured if 0 <= num_measured < 63 else 8
    cumulative_array = np.cumsum(np.full(rows, 0.25))
    outcome_count = seeds * shots if outcomes is None else outcomes
    return Call(
        _cpu.sample,
        (
            cumulative_array,
            num_measured,
            shots,
            np.arange(seeds, dtype=np.uint64),
            np.zeros(max(outcome_count, 0), dtype=np.int64),
            0,
        ),
    )


def reduce_call(chunk_bits: int = 2, partials: int = 16, sums: int = 4) -> Call:
    """reduce_partials with valid defaults (4 sums of 4 partials)."""
    return Call(_cpu.reduce_partials, (np.ones(partials), chunk_bits, np.zeros(sums), 0))


def probabilities_call(dtype: type, out: int) -> Call:
    """probabilities of a batch of 2 states of 4 qubits into ``out`` entries."""
    return Call(_cpu.probabilities, (random_states(4, 2, dtype), np.zeros(out), 0))


# The dynamic-circuit launchers. Rows of classical slots are ROW_WIDTH wide; the fixed
# slots (counter 0, shot 1, outcome 2) come first, then free ones. Opcodes are read from
# classical.cuh here, so that the cases do not depend on compiler/classical.py.
CLASSICAL_CUH = CPU_SOURCES.parent / "include" / "classical.cuh"
OPCODE = {
    name: int(value)
    for name, value in re.findall(
        r"constexpr\s+index_t\s+(k\w+)\s*=\s*(\d+)\s*;", CLASSICAL_CUH.read_text(encoding="utf-8")
    )
}
ROW_WIDTH = 6
#: The slot of the latest outcome, which collapse reads.
OUTCOME_SLOT = OPCODE["kOutcomeSlot"]
#: Deepest stack a classical program may use.
STACK_DEPTH = OPCODE["kStackDepth"]


def code(*pairs: tuple[str, int]) -> np.ndarray:
    """A classical program, flat (opcode, operand) int64 pairs, from opcode names."""
    pairs_array = np.array([[OPCODE[name], operand] for name, operand in pairs], dtype=np.int64)
    return pairs_array.reshape(-1)


#: A valid program: slot 4 = (slot 3 + 1) masked to 3 bits.
VALID_CODE = code(("kLoad", 3), ("kPushConst", 1), ("kAdd", 0), ("kMaskWidth", 3), ("kStore", 4))


def slot_rows(size: int, row_width: int = ROW_WIDTH, seed: int = 3) -> np.ndarray:
    """Random rows of slots: outcomes 0/1, small counters, the rest any int64.

    Outcomes must be 0 or 1: collapse indexes the probabilities with them unchecked.
    """
    rng = np.random.default_rng(seed)
    rows = rng.integers(-(2**63), 2**63, size=size, dtype=np.int64)
    if row_width > OUTCOME_SLOT:
        rows[0::row_width] = rng.integers(0, 100, size=rows[0::row_width].size)
        rows[OUTCOME_SLOT::row_width] = rng.integers(0, 2, size=rows[OUTCOME_SLOT::row_width].size)
    return rows


def classical_call(
    program: np.ndarray = VALID_CODE,
    batch: int = 3,
    row_width: int = ROW_WIDTH,
    rows: int | None = None,
    mask_slot: int = -1,
) -> Call:
    """classical with valid defaults (3 rows of ROW_WIDTH slots, VALID_CODE, no mask)."""
    size = batch * row_width if rows is None else rows
    return Call(_cpu.classical, (slot_rows(size, row_width), row_width, program, mask_slot, 0))


def decide_call(
    batch: int = 3,
    row_width: int = ROW_WIDTH,
    rows: int | None = None,
    probabilities: int | None = None,
    clbit_slot: int = 4,
    mask_slot: int = 5,
) -> Call:
    """decide_outcomes with valid defaults (3 rows, clbit slot 4, mask slot 5)."""
    size = batch * row_width if rows is None else rows
    weights = np.full(2 * batch if probabilities is None else probabilities, 0.5)
    return Call(
        _cpu.decide_outcomes,
        (slot_rows(size, row_width), row_width, weights, 2**64 - 1, clbit_slot, mask_slot, 0),
    )


def kraus_call(
    batch: int = 3,
    row_width: int = ROW_WIDTH,
    pieces: int | None = None,
    coefficients: int | None = None,
    num_kraus: int = 2,
    num_pieces: int = 4,
    index_slot: int = 4,
    scales: int | None = None,
    mask_slot: int = 5,
) -> Call:
    """choose_kraus with valid defaults (3 rows, 2 operators, 4 pieces, index slot 4)."""
    return Call(
        _cpu.choose_kraus,
        (
            slot_rows(batch * row_width, row_width),
            row_width,
            np.full(num_pieces * batch * 2 if pieces is None else pieces, 0.25),
            np.full(num_kraus * num_pieces * 2 if coefficients is None else coefficients, 0.5),
            num_kraus,
            num_pieces,
            index_slot,
            np.zeros(batch if scales is None else scales),
            mask_slot,
            0,
        ),
    )


def scale_call(dtype: type, batch: int = 2, scales: int | None = None, mask_slot: int = 5) -> Call:
    """scale_states with valid defaults (2 states of 4 qubits, mask slot 5)."""
    return Call(
        _cpu.scale_states,
        (
            random_states(4, 2, dtype),
            4,
            batch,
            np.full(batch if scales is None else scales, 0.5),
            slot_rows(batch * ROW_WIDTH),
            ROW_WIDTH,
            mask_slot,
            0,
        ),
    )


def density_call(dtype: type, num_qubits: int = 2, batch: int = 2, densities: int | None = None) -> Call:
    """density_diagonal with valid defaults (2 density matrices of 2 qubits)."""
    size = (batch << (2 * num_qubits)) if densities is None else densities
    return Call(
        _cpu.density_diagonal,
        (
            np.resize(random_states(4, 2, dtype), size),
            np.zeros(batch << 2, dtype=dtype),
            num_qubits,
            batch,
            0,
        ),
    )


def collapse_call(
    dtype: type,
    num_qubits: int = 4,
    batch: int = 2,
    qubit: int = 1,
    probabilities: int | None = None,
    rows: int | None = None,
    row_width: int = ROW_WIDTH,
    mask_slot: int = 5,
    states_size: int | None = None,
) -> Call:
    """collapse with valid defaults (2 states of 4 qubits, qubit 1, mask slot 5)."""
    states = random_states(4, 2, dtype)
    if states_size is not None:
        states = np.resize(states, states_size)
    weights = np.full(2 * batch if probabilities is None else probabilities, 0.5)
    size = batch * row_width if rows is None else rows
    return Call(
        _cpu.collapse,
        (
            states,
            num_qubits,
            batch,
            qubit,
            weights,
            slot_rows(size, row_width),
            row_width,
            False,
            mask_slot,
            0,
        ),
    )


def gather_call(
    dtype: type,
    num_qubits: int = 4,
    sources: tuple[int, ...] = (1, 0, 1),
    branches: int | None = None,
) -> Call:
    """gather with valid defaults: 3 branches of 2 source states of 4 qubits."""
    size = (len(sources) << 4) if branches is None else branches
    return Call(
        _cpu.gather,
        (
            random_states(4, 2, dtype),
            np.zeros(size, dtype=dtype),
            num_qubits,
            np.array(sources, dtype=np.int64),
            0,
        ),
    )


def sample_shots_call(
    num_measured: int = 2,
    cumulative: int = 8,
    shot_states: tuple[int, ...] = (0, 1, 1, 0),
    shot_numbers: int | None = None,
    outcomes: int | None = None,
    rows: int | None = None,
    row_width: int = ROW_WIDTH,
) -> Call:
    """sample_shots with valid defaults: 4 shots of 2 states, 2 measured qubits."""
    shots = len(shot_states)
    table = np.cumsum(np.full(cumulative, 0.25))
    size = 2 * row_width if rows is None else rows
    return Call(
        _cpu.sample_shots,
        (
            table,
            num_measured,
            np.array(shot_states, dtype=np.int64),
            np.arange(shots if shot_numbers is None else shot_numbers, dtype=np.int64),
            slot_rows(size, row_width),
            row_width,
            12345,
            np.zeros(shots if outcomes is None else outcomes, dtype=np.int64),
            0,
        ),
    )


_MAX_CODE = max(spec.code for spec in OP_KINDS.values())
_MAX = {kind: OP_KINDS[kind.value].max_targets for kind in OpKind if kind.in_registry}

#: A valid pass table on 4 qubits: flip 0b0101 (two pieces), then flip 0 (one piece).
VALID_PASSES = np.array([[0b0101, 0, 2], [0, 2, 1]], dtype=np.int64)
#: Its pieces: (sign mask, condition mask, condition value).
VALID_PIECES = np.array([[0b0110, 0, 0], [0, 0b1000, 0b1000], [0b1111, 0b0010, 0]], dtype=np.int64)


def expectation_call(
    dtype: type = np.complex128,
    num_qubits: int = 4,
    batch: int = 2,
    passes: np.ndarray = VALID_PASSES,
    pieces: np.ndarray = VALID_PIECES,
    chunk_bits: int = 1,
    partials: int | None = None,
) -> Call:
    """expectation_partials with valid defaults (4 qubits, batch 2, two passes, chunk 1)."""
    size = ((len(pieces) * batch * 2) << chunk_bits) if partials is None else partials
    return Call(
        _cpu.expectation_partials,
        (
            random_states(4, 2, dtype),
            num_qubits,
            batch,
            np.ascontiguousarray(passes, dtype=np.int64),
            np.ascontiguousarray(pieces, dtype=np.int64),
            chunk_bits,
            np.zeros(max(size, 0)),
            0,
        ),
    )


def _changed(table: np.ndarray, row: int, column: int, value: int) -> np.ndarray:
    """A copy of a table with one entry changed."""
    changed = table.copy()
    changed[row, column] = value
    return changed


_NUM_QUBITS_MESSAGE = "num_qubits must be in [0, 62]"
_BATCH_MESSAGE = "batch must be at least 1"
_LENGTH_MESSAGE = "state array length must be batch * 2**num_qubits"

BAD_CASES: dict[str, BadCase] = {}


def _add(
    name: str, site: str, message: str, build: Callable[[type], Call], per_precision: bool = True
) -> None:
    """Register one bad case."""
    assert name not in BAD_CASES
    BAD_CASES[name] = BadCase(site, message, build, per_precision)


# check_states, through each of its callers
for _caller, _make in {
    "run_program": lambda dtype, n, batch, size: program_call(
        dtype, "dense", num_qubits=n, batch=batch, states_size=size
    ),
    "set_zero_state": lambda dtype, n, batch, size: zero_state_call(dtype, n, batch, size),
    "marginal_partials": lambda dtype, n, batch, size: marginal_call(
        dtype, num_qubits=n, batch=batch, states_size=size
    ),
}.items():
    _n = N if _caller == "run_program" else 4
    _b = 1 if _caller == "run_program" else 2
    _size = _b << _n
    _add(
        f"{_caller}-num-qubits-negative",
        "check_states",
        _NUM_QUBITS_MESSAGE,
        lambda d, m=_make, b=_b, s=_size: m(d, -1, b, s),
    )
    _add(
        f"{_caller}-num-qubits-63",
        "check_states",
        _NUM_QUBITS_MESSAGE,
        lambda d, m=_make, b=_b, s=_size: m(d, 63, b, s),
    )
    _add(
        f"{_caller}-batch-0",
        "check_states",
        _BATCH_MESSAGE,
        lambda d, m=_make, n=_n, s=_size: m(d, n, 0, s),
    )
    _add(
        f"{_caller}-batch-negative",
        "check_states",
        _BATCH_MESSAGE,
        lambda d, m=_make, n=_n, s=_size: m(d, n, -2, s),
    )
    _add(
        f"{_caller}-length-plus-one",
        "check_states",
        _LENGTH_MESSAGE,
        lambda d, m=_make, n=_n, b=_b, s=_size: m(d, n, b, s + 1),
    )
    _add(
        f"{_caller}-length-of-one-state-fewer",
        "check_states",
        _LENGTH_MESSAGE,
        lambda d, m=_make, n=_n, b=_b, s=_size: m(d, n, b + 1, s) if b == 1 else m(d, n, b, s >> 1),
    )

# check_program's own check
_add(
    "ops-one-column-short",
    "check_program",
    "ops must have kOpWidth columns",
    lambda d: program_call(d, "dense", column_change=-1),
)
_add(
    "ops-one-column-extra",
    "check_program",
    "ops must have kOpWidth columns",
    lambda d: program_call(d, "dense", column_change=1),
)

# check_op: one corrupted field of a valid row
_CHECK_OP: list[tuple[str, str, str, Callable[[np.ndarray], None], dict[str, Any]]] = [
    ("unknown op kind", "kind-past-last", "dense", set_field("kKind", _MAX_CODE + 1), {}),
    ("unknown op kind", "kind-negative", "dense", set_field("kKind", -1), {}),
    (
        "op has an unsupported number of targets",
        "dense-0-targets",
        "dense",
        set_field("kNumTargets", 0),
        {},
    ),
    *(
        (
            "op has an unsupported number of targets",
            f"{label}-too-many",
            label,
            set_field("kNumTargets", _MAX[kind] + 1),
            {},
        )
        for label, kind in (
            ("dense", OpKind.DENSE),
            ("diagonal", OpKind.DIAGONAL),
            ("permutation", OpKind.PERMUTATION),
            ("wide", OpKind.WIDE_DIAGONAL),
        )
    ),
    (
        "op has an unsupported number of targets",
        "wide-negative",
        "wide",
        set_field("kNumTargets", -1),
        {},
    ),
    (
        "op has more sorted positions than qubits",
        "sorted-past-qubits",
        "dense",
        set_field("kNumSorted", N + 1),
        {},
    ),
    (
        "op has more sorted positions than qubits",
        "sorted-negative",
        "diagonal",
        set_field("kNumSorted", -1),
        {},
    ),
    ("op target out of range", "dense-target-n", "dense", set_field("kTargets", N), {}),
    (
        "op target out of range",
        "diagonal-target-negative",
        "diagonal",
        set_field("kTargets", -1, 1),
        {},
    ),
    (
        "op target out of range",
        "permutation-target-n",
        "permutation",
        set_field("kTargets", N, 1),
        {},
    ),
    ("op target out of range", "wide-last-target-n", "wide", set_field("kTargets", N, 5), {}),
    (
        "run-time-size op targets must be ascending",
        "wide-duplicate-target",
        "wide",
        set_from("kTargets", 1, 0),
        {},
    ),
    (
        "run-time-size op targets must be ascending",
        "wide-descending",
        "wide",
        set_field("kTargets", 6, 0),
        {},
    ),
    (
        "target mask does not match targets",
        "wide-mask-extra-bit",
        "wide",
        xor_field("kTargetMask", 1 << 3),
        {},
    ),
    (
        "target mask does not match targets",
        "wide-mask-missing-bit",
        "wide",
        xor_field("kTargetMask", 1 << 6),
        {},
    ),
    ("op position out of range", "dense-last-position-n", "dense", last_sorted_to(N), {}),
    (
        "op position out of range",
        "diagonal-position-negative",
        "diagonal",
        set_field("kSorted", -1),
        {},
    ),
    (
        "op position out of range",
        "permutation-last-position-n",
        "permutation",
        last_sorted_to(N),
        {},
    ),
    (
        "op positions must be sorted",
        "dense-duplicate-position",
        "dense",
        set_from("kSorted", 1, 0),
        {},
    ),
    (
        "op positions must be sorted",
        "dense-descending-positions",
        "dense",
        set_field("kSorted", N - 1, 0),
        {},
    ),
    ("op positions must be sorted", "wide-positions-past", "wide", set_field("kNumSorted", 2), {}),
    (
        "op permutation out of range",
        "permutation-image-too-large",
        "permutation",
        set_field("kPermutation", 4),
        {},
    ),
    (
        "op permutation out of range",
        "permutation-image-negative",
        "permutation",
        set_field("kPermutation", -1, 3),
        {},
    ),
    ("op data out of range", "data-offset-negative", "dense", set_field("kDataOffset", -1), {}),
    ("op data out of range", "data-offset-past-end", "dense", offset_past_end, {}),
    (
        "op data out of range",
        "data-stride-negative",
        "dense-per-entry",
        set_field("kDataBatchStride", -1),
        {"batch": 3},
    ),
    (
        "op data out of range",
        "data-stride-too-large",
        "dense-per-entry",
        set_field("kDataBatchStride", 17),
        {"batch": 3},
    ),
    (
        "op data out of range",
        "shared-data-read-as-per-entry",
        "dense",
        set_field("kDataBatchStride", 16),
        {"batch": 2},
    ),
    (
        "op data out of range",
        "wide-data-truncated",
        "wide",
        None,
        {"data_change": lambda data: data[:-1]},
    ),
]
for _message, _name, _op, _corrupt, _extra in _CHECK_OP:
    _add(
        f"row-{_name}",
        "check_op",
        _message,
        lambda d, o=_op, c=_corrupt, e=_extra: program_call(d, o, c, **e),
    )

# marginal_partials
_add(
    "marginal-length-differs",
    "check_marginal",
    "positions and sorted positions differ in length",
    lambda d: marginal_call(d, sorted_positions=(0,)),
)
_add(
    "marginal-chunk-negative",
    "check_marginal",
    "chunk_bits out of range",
    lambda d: marginal_call(d, chunk_bits=-1, partials=8),
)
_add(
    "marginal-chunk-too-large",
    "check_marginal",
    "chunk_bits out of range",
    lambda d: marginal_call(d, chunk_bits=3),
)
_add(
    "marginal-position-n",
    "check_marginal",
    "measured position out of range",
    lambda d: marginal_call(d, positions=(4, 0)),
)
_add(
    "marginal-position-negative",
    "check_marginal",
    "measured position out of range",
    lambda d: marginal_call(d, positions=(2, -1)),
)
for _sorted in [(2, 0), (0, 0), (0, 4), (-1, 2)]:
    _add(
        f"marginal-sorted-{_sorted}",
        "check_marginal",
        "sorted positions must be distinct, in range and ascending",
        lambda d, s=_sorted: marginal_call(d, sorted_positions=s),
    )
_add(
    "marginal-partials-short",
    "check_marginal",
    "partials must have batch * 2**(m + chunk_bits) entries",
    lambda d: marginal_call(d, partials=15),
)
_add(
    "marginal-partials-long",
    "check_marginal",
    "partials must have batch * 2**(m + chunk_bits) entries",
    lambda d: marginal_call(d, partials=17),
)

# probabilities
_add(
    "probabilities-short",
    "check_probabilities",
    "probabilities must have one entry per amplitude",
    lambda d: probabilities_call(d, 31),
)
_add(
    "probabilities-long",
    "check_probabilities",
    "probabilities must have one entry per amplitude",
    lambda d: probabilities_call(d, 33),
)

# reduce_partials (no precision)
_add(
    "reduce-chunk-negative",
    "check_reduce",
    "chunk_bits out of range",
    lambda d: reduce_call(chunk_bits=-1),
    per_precision=False,
)
_add(
    "reduce-chunk-63",
    "check_reduce",
    "chunk_bits out of range",
    lambda d: reduce_call(chunk_bits=63),
    per_precision=False,
)
_add(
    "reduce-partials-mismatch",
    "check_reduce",
    "partials must have len(sums) * 2**chunk_bits entries",
    lambda d: reduce_call(partials=15),
    per_precision=False,
)
_add(
    "reduce-sums-mismatch",
    "check_reduce",
    "partials must have len(sums) * 2**chunk_bits entries",
    lambda d: reduce_call(sums=5),
    per_precision=False,
)

# sample (no precision)
_add(
    "sample-measured-negative",
    "check_sample",
    "num_measured out of range",
    lambda d: sample_call(num_measured=-1),
    per_precision=False,
)
_add(
    "sample-measured-63",
    "check_sample",
    "num_measured out of range",
    lambda d: sample_call(num_measured=63),
    per_precision=False,
)
_add(
    "sample-shots-0",
    "check_sample",
    "shots must be at least 1",
    lambda d: sample_call(shots=0),
    per_precision=False,
)
_add(
    "sample-shots-negative",
    "check_sample",
    "shots must be at least 1",
    lambda d: sample_call(shots=-5),
    per_precision=False,
)
_add(
    "sample-cumulative-short",
    "check_sample",
    "cumulative must have len(seeds) * 2**m entries",
    lambda d: sample_call(cumulative=7),
    per_precision=False,
)
_add(
    "sample-outcomes-short",
    "check_sample",
    "outcomes must have len(seeds) * shots entries",
    lambda d: sample_call(outcomes=5),
    per_precision=False,
)


# check_rows: a mask slot, clbit slot or fixed slot outside the rows, or rows of the
# wrong size, through each launcher that takes rows
_SLOT_MESSAGE = "slot outside the rows"
_ROWS_MESSAGE = "rows must have batch * row_width entries"
_WHOLE_ROWS_MESSAGE = "rows must be whole rows of row_width slots"
for _name, _build in {
    "run_program-mask-slot-at-width": lambda d: program_call(
        d, "dense", mask=(ROW_WIDTH, ROW_WIDTH, ROW_WIDTH)
    ),
    "run_program-mask-slot-in-narrow-rows": lambda d: program_call(d, "dense", mask=(2, 2, 1)),
    "collapse-mask-slot-at-width": lambda d: collapse_call(d, mask_slot=ROW_WIDTH),
    "collapse-rows-without-an-outcome-slot": lambda d: collapse_call(d, row_width=OUTCOME_SLOT, mask_slot=-1),
}.items():
    _add(_name, "check_rows", _SLOT_MESSAGE, _build)
for _name, _build in {
    "classical-mask-slot-at-width": lambda d: classical_call(mask_slot=ROW_WIDTH),
    "classical-mask-slot-far-out": lambda d: classical_call(mask_slot=2**40),
    "decide-clbit-slot-at-width": lambda d: decide_call(clbit_slot=ROW_WIDTH),
    "decide-mask-slot-at-width": lambda d: decide_call(mask_slot=ROW_WIDTH),
    "sample-shots-rows-without-a-counter": lambda d: sample_shots_call(row_width=0, rows=0),
    "sample-shots-narrow-rows": lambda d: sample_shots_call(row_width=2, rows=4),
}.items():
    _add(_name, "check_rows", _SLOT_MESSAGE, _build, per_precision=False)
for _name, _build in {
    "run_program-rows-one-short": lambda d: program_call(d, "dense", mask=(ROW_WIDTH - 1, ROW_WIDTH, 3)),
    "run_program-rows-of-two-states": lambda d: program_call(d, "dense", mask=(2 * ROW_WIDTH, ROW_WIDTH, 3)),
    "collapse-rows-one-short": lambda d: collapse_call(d, rows=2 * ROW_WIDTH - 1),
    "collapse-rows-one-long": lambda d: collapse_call(d, rows=2 * ROW_WIDTH + 1, mask_slot=-1),
}.items():
    _add(_name, "check_rows", _ROWS_MESSAGE, _build)
_add(
    "sample-shots-rows-one-short",
    "check_rows",
    _ROWS_MESSAGE,
    lambda d: sample_shots_call(rows=2 * ROW_WIDTH - 1),
    per_precision=False,
)
_add(
    "sample-shots-rows-of-three-states",
    "check_rows",
    _ROWS_MESSAGE,
    lambda d: sample_shots_call(rows=3 * ROW_WIDTH),
    per_precision=False,
)

# classical and decide_outcomes: rows that are not whole rows
for _caller, _make in {"classical": classical_call, "decide_outcomes": decide_call}.items():
    for _name, _extra in {
        "partial-row": {"rows": 3 * ROW_WIDTH - 1},
        "width-below-fixed-slots": {"row_width": OUTCOME_SLOT, "rows": 3 * OUTCOME_SLOT},
        "width-0": {"row_width": 0, "rows": 0},
        "width-negative": {"row_width": -ROW_WIDTH, "rows": 3 * ROW_WIDTH},
    }.items():
        _add(
            f"{_caller}-{_name}",
            "check_row_batch",
            _WHOLE_ROWS_MESSAGE,
            lambda d, m=_make, e=_extra: m(**e),
            per_precision=False,
        )
_EXPECTATION_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "rows-of-two": ("passes and pieces must be rows of 3", {"passes": VALID_PASSES[:, :2]}),
    "chunk-bits-negative": ("chunk_bits out of range", {"chunk_bits": -1, "partials": 12}),
    "chunk-bits-past-width": ("chunk_bits out of range", {"chunk_bits": 5, "partials": 12 << 5}),
    "flip-at-width": (
        "a pass's flip mask must lie within the qubits",
        {"passes": _changed(VALID_PASSES, 0, 0, 1 << 4)},
    ),
    "flip-negative": (
        "a pass's flip mask must lie within the qubits",
        {"passes": _changed(VALID_PASSES, 1, 0, -1)},
    ),
    "pass-out-of-order": (
        "passes must cover the pieces in order",
        {"passes": _changed(VALID_PASSES, 1, 1, 1)},
    ),
    "pass-empty": ("a pass holds 1 to kPiecesPerPass pieces", {"passes": np.array([[0, 0, 0], [0, 0, 3]])}),
    "pass-past-limit": (
        "a pass holds 1 to kPiecesPerPass pieces",
        {"passes": np.array([[0, 0, 9]]), "pieces": np.zeros((9, 3))},
    ),
    "pieces-uncovered": ("passes must cover every piece", {"passes": VALID_PASSES[:1]}),
    "pieces-overrun": ("passes must cover every piece", {"passes": _changed(VALID_PASSES, 1, 2, 2)}),
    "sign-at-width": (
        "a piece's masks must lie within the qubits",
        {"pieces": _changed(VALID_PIECES, 0, 0, 1 << 4)},
    ),
    "condition-negative": (
        "a piece's masks must lie within the qubits",
        {"pieces": _changed(VALID_PIECES, 1, 1, -8)},
    ),
    "condition-value-outside-mask": (
        "a piece's condition value must lie within its mask",
        {"pieces": _changed(VALID_PIECES, 1, 2, 0b0100)},
    ),
    "partials-short": ("partials must have pieces * batch * 2 * 2**chunk_bits entries", {"partials": 23}),
}
for _name, (_message, _changes) in _EXPECTATION_CASES.items():
    _add(
        f"expectation-{_name}", "check_expectation", _message, lambda d, c=_changes: expectation_call(d, **c)
    )
_add("expectation-states-length", "check_states", _LENGTH_MESSAGE, lambda d: expectation_call(d, batch=3))
_add(
    "decide-probabilities-short",
    "decide_outcomes",
    "probabilities must have 2 * batch entries",
    lambda d: decide_call(probabilities=5),
    per_precision=False,
)
_add(
    "decide-probabilities-long",
    "decide_outcomes",
    "probabilities must have 2 * batch entries",
    lambda d: decide_call(probabilities=7),
    per_precision=False,
)

# choose_kraus and scale_states: the Kraus draw and the rescaling of noisy trajectories
for _name, (_message, _changes) in {
    "index-slot-kept": ("the Kraus index slot is one the engine keeps", {"index_slot": 2}),
    "no-operators": ("a channel needs operators and pieces", {"num_kraus": 0}),
    "pieces-short": ("pieces must have num_pieces * batch * 2 entries", {"pieces": 23}),
    "coefficients-short": ("coefficients must have num_kraus * num_pieces * 2 entries", {"coefficients": 15}),
    "scales-short": ("scales must have one entry per row", {"scales": 2}),
}.items():
    _add(
        f"choose-kraus-{_name}",
        "check_choose_kraus",
        _message,
        lambda d, c=_changes: kraus_call(**c),
        per_precision=False,
    )
_add(
    "choose-kraus-index-slot-at-width",
    "check_rows",
    _SLOT_MESSAGE,
    lambda d: kraus_call(index_slot=ROW_WIDTH),
    per_precision=False,
)
_add(
    "choose-kraus-mask-slot-at-width",
    "check_rows",
    _SLOT_MESSAGE,
    lambda d: kraus_call(mask_slot=ROW_WIDTH),
    per_precision=False,
)
_add(
    "scale-states-scales-short",
    "check_scale_states",
    "scales must have one entry per state",
    lambda d: scale_call(d, scales=3),
)
_add(
    "scale-states-mask-slot-at-width",
    "check_rows",
    _SLOT_MESSAGE,
    lambda d: scale_call(d, mask_slot=ROW_WIDTH),
)

_add(
    "density-diagonal-too-wide",
    "check_density_diagonal",
    "a density matrix must have 0 to 31 qubits",
    lambda d: density_call(d, num_qubits=32, densities=32),
)
_add(
    "density-diagonal-densities-short",
    "check_states",
    _LENGTH_MESSAGE,
    lambda d: density_call(d, densities=31),
)

# check_classical: programs that would read or write outside a row or the stack
_CLASSICAL: list[tuple[str, str, np.ndarray]] = [
    ("odd-length", "a classical program is (opcode, operand) pairs", VALID_CODE[:-1]),
    ("one-word", "a classical program is (opcode, operand) pairs", np.array([0], dtype=np.int64)),
    (
        "opcode-past-last",
        "unknown classical opcode",
        np.array([max(OPCODE.values()) + 1, 0], dtype=np.int64),
    ),
    ("opcode-negative", "unknown classical opcode", np.array([-1, 0], dtype=np.int64)),
    (
        "opcode-huge",
        "unknown classical opcode",
        np.concatenate([code(("kPushConst", 1)), np.array([2**40, 0], dtype=np.int64)]),
    ),
    (
        "load-at-width",
        "classical program names a slot outside the row",
        code(("kLoad", ROW_WIDTH), ("kPop", 0)),
    ),
    ("load-negative", "classical program names a slot outside the row", code(("kLoad", -1), ("kPop", 0))),
    (
        "store-at-width",
        "classical program names a slot outside the row",
        code(("kPushConst", 1), ("kStore", ROW_WIDTH)),
    ),
    (
        "store-far-out",
        "classical program names a slot outside the row",
        code(("kPushConst", 1), ("kStore", 2**62)),
    ),
    ("store-on-empty", "classical program pops an empty stack", code(("kStore", 3))),
    ("pop-on-empty", "classical program pops an empty stack", code(("kPop", 0))),
    ("dup-on-empty", "classical program pops an empty stack", code(("kDup", 0))),
    ("unary-on-empty", "classical program pops an empty stack", code(("kLogicNot", 0))),
    ("mask-on-empty", "classical program pops an empty stack", code(("kMaskWidth", 3))),
    (
        "binary-on-one",
        "classical program pops an empty stack",
        code(("kPushConst", 1), ("kAdd", 0), ("kStore", 3)),
    ),
    (
        "underflow-after-balance",
        "classical program pops an empty stack",
        code(("kLoad", 3), ("kStore", 4), ("kPushConst", 2), ("kMul", 0), ("kStore", 4)),
    ),
    ("mask-width-65", "mask width out of range", code(("kLoad", 3), ("kMaskWidth", 65), ("kStore", 3))),
    ("mask-width-negative", "mask width out of range", code(("kLoad", 3), ("kMaskWidth", -1), ("kStore", 3))),
    (
        "push-past-depth",
        "classical program is deeper than the stack",
        code(*[("kPushConst", 7)] * (STACK_DEPTH + 1), *[("kPop", 0)] * (STACK_DEPTH + 1)),
    ),
    (
        "dup-past-depth",
        "classical program is deeper than the stack",
        code(*[("kLoad", 3)] * STACK_DEPTH, ("kDup", 0), *[("kPop", 0)] * (STACK_DEPTH + 1)),
    ),
    ("leaves-one", "classical program leaves values on the stack", code(("kPushConst", 1))),
    (
        "store-to-outcome-slot",
        "classical program stores into a slot the engine keeps",
        code(("kPushConst", -1), ("kStore", 2)),
    ),
    (
        "store-to-counter-slot",
        "classical program stores into a slot the engine keeps",
        code(("kPushConst", 5), ("kStore", 0)),
    ),
    (
        "leaves-one-after-store",
        "classical program leaves values on the stack",
        np.concatenate([VALID_CODE, code(("kLoad", 4), ("kDup", 0), ("kStore", 5))]),
    ),
]
for _name, _message, _code in _CLASSICAL:
    _add(
        f"classical-{_name}",
        "check_classical",
        _message,
        lambda d, c=_code: classical_call(c),
        per_precision=False,
    )

# check_collapse
_add("collapse-qubit-n", "check_collapse", "qubit out of range", lambda d: collapse_call(d, qubit=4))
_add("collapse-qubit-negative", "check_collapse", "qubit out of range", lambda d: collapse_call(d, qubit=-1))
_add(
    "collapse-no-qubits",
    "check_collapse",
    "qubit out of range",
    lambda d: collapse_call(d, num_qubits=0, qubit=0, states_size=2),
)
_add(
    "collapse-probabilities-short",
    "check_collapse",
    "probabilities must have 2 * batch entries",
    lambda d: collapse_call(d, probabilities=3),
)
_add(
    "collapse-probabilities-long",
    "check_collapse",
    "probabilities must have 2 * batch entries",
    lambda d: collapse_call(d, probabilities=5),
)
_add(
    "collapse-length-of-one-state-fewer", "check_states", _LENGTH_MESSAGE, lambda d: collapse_call(d, batch=3)
)
_add("collapse-num-qubits-63", "check_states", _NUM_QUBITS_MESSAGE, lambda d: collapse_call(d, num_qubits=63))

# check_gather
_add(
    "gather-num-qubits-negative", "check_gather", _NUM_QUBITS_MESSAGE, lambda d: gather_call(d, num_qubits=-1)
)
_add("gather-num-qubits-63", "check_gather", _NUM_QUBITS_MESSAGE, lambda d: gather_call(d, num_qubits=63))
_add(
    "gather-branches-short",
    "check_gather",
    "branches must have len(sources) states",
    lambda d: gather_call(d, branches=47),
)
_add(
    "gather-branches-of-fewer-qubits",
    "check_gather",
    "branches must have len(sources) states",
    lambda d: gather_call(d, num_qubits=3),
)
_add(
    "gather-source-past-last",
    "check_gather",
    "a branch's source state is out of range",
    lambda d: gather_call(d, sources=(1, 2, 0)),
)
_add(
    "gather-source-negative",
    "check_gather",
    "a branch's source state is out of range",
    lambda d: gather_call(d, sources=(0, 0, -1)),
)
_add(
    "gather-source-of-a-partial-state",
    "check_gather",
    "a branch's source state is out of range",
    lambda d: gather_call(d, num_qubits=5, sources=(1,), branches=32),
)

# check_sample_shots (no precision)
for _name, _message, _extra in [
    ("measured-negative", "num_measured out of range", {"num_measured": -1}),
    ("measured-63", "num_measured out of range", {"num_measured": 63}),
    ("cumulative-partial-row", "cumulative must hold whole rows of 2**m entries", {"cumulative": 9}),
    ("cumulative-half-row", "cumulative must hold whole rows of 2**m entries", {"cumulative": 2, "rows": 0}),
    ("shot-numbers-short", "shot states, shot numbers and outcomes differ in length", {"shot_numbers": 3}),
    ("outcomes-long", "shot states, shot numbers and outcomes differ in length", {"outcomes": 5}),
    ("state-past-last", "a shot's state is out of range", {"shot_states": (0, 2, 1, 0)}),
    ("state-negative", "a shot's state is out of range", {"shot_states": (0, 1, -1, 0)}),
]:
    _add(
        f"sample-shots-{_name}",
        "check_sample_shots",
        _message,
        lambda d, e=_extra: sample_shots_call(**e),
        per_precision=False,
    )


def _params() -> list[Any]:
    """(case name, dtype) pairs: both precisions where the call takes states."""
    params = []
    for name, case in BAD_CASES.items():
        dtypes = DTYPES if case.per_precision else [np.complex128]
        for dtype in dtypes:
            params.append(pytest.param(name, dtype, id=f"{name}-{np.dtype(dtype).name}"))
    return params


# ------------------------------------------------------------------------ checks


def assert_extension_works(dtype: type) -> None:
    """A good program afterwards: |0> on 3 qubits, batch 2, H(0) then CX(0 -> 2)."""
    num_qubits, batch = 3, 2
    states = np.full(batch << num_qubits, 0.5 + 0.5j, dtype=dtype)
    _cpu.set_zero_state(states, num_qubits, batch, 0)
    cx = GateOp(OpKind.PERMUTATION, (2,), np.ones(2, dtype=complex), (0,), 1, (1, 0))
    program = encode_program([GateOp(OpKind.DENSE, (0,), HADAMARD), cx])
    _cpu.run_program(
        states,
        num_qubits,
        batch,
        program.rows,
        program.data.astype(dtype),
        np.zeros(1, dtype=np.int64),
        1,
        -1,
        0,
    )
    want = np.zeros((batch, 1 << num_qubits), dtype=complex)
    want[:, [0, 5]] = 1 / np.sqrt(2)
    tolerance = 1e-12 if dtype == np.complex128 else 1e-6
    np.testing.assert_allclose(states.reshape(batch, -1), want, rtol=0, atol=tolerance)


@pytest.mark.parametrize(("name", "dtype"), _params())
def test_bad_argument_rejected(name: str, dtype: type) -> None:
    """The call raises ValueError with its require's message and writes nothing."""
    case = BAD_CASES[name]
    call = case.build(dtype)
    before = [arg.copy() if isinstance(arg, np.ndarray) else arg for arg in call.args]
    with pytest.raises(ValueError) as raised:
        call.function(*call.args)
    assert str(raised.value) == case.message
    for old, new in zip(before, call.args, strict=True):
        if isinstance(new, np.ndarray):
            np.testing.assert_array_equal(new, old)
    assert_extension_works(dtype)


@pytest.mark.parametrize("op_name", sorted(VALID_OPS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_uncorrupted_rows_are_accepted(op_name: str, dtype: type) -> None:
    """The rows the bad cases start from run, so each failure is the corruption's."""
    batch = 3 if op_name == "dense-per-entry" else 1
    call = program_call(dtype, op_name, batch=batch)
    states = call.args[0].copy()
    call.function(*call.args)
    assert not np.array_equal(call.args[0], states)


@pytest.mark.parametrize(
    "call",
    [
        lambda: zero_state_call(np.complex128, 4, 2, 32),
        lambda: marginal_call(np.complex64),
        lambda: probabilities_call(np.complex128, 32),
        lambda: reduce_call(),
        lambda: sample_call(),
        lambda: program_call(np.complex128, "dense", mask=(ROW_WIDTH, ROW_WIDTH, ROW_WIDTH - 1)),
        lambda: program_call(np.complex64, "wide", batch=2, mask=(2 * ROW_WIDTH, ROW_WIDTH, 3)),
        lambda: classical_call(),
        lambda: classical_call(mask_slot=ROW_WIDTH - 1),
        lambda: classical_call(np.zeros(0, dtype=np.int64)),
        lambda: classical_call(
            code(
                *[("kLoad", ROW_WIDTH - 1)] * STACK_DEPTH,
                *[("kBitOr", 0)] * (STACK_DEPTH - 1),
                ("kMaskWidth", 64),
                ("kDup", 0),
                ("kMaskWidth", 0),
                ("kStore", OPCODE["kFirstFreeSlot"]),
                ("kPop", 0),
            )
        ),
        lambda: classical_call(batch=0),
        lambda: decide_call(),
        lambda: decide_call(clbit_slot=-1, mask_slot=-1),
        lambda: collapse_call(np.complex128),
        lambda: collapse_call(np.complex64, qubit=0, row_width=OPCODE["kFirstFreeSlot"], mask_slot=-1),
        lambda: collapse_call(np.complex128, qubit=3, num_qubits=4, batch=1, states_size=16),
        lambda: gather_call(np.complex128),
        lambda: gather_call(np.complex64, sources=()),
        lambda: kraus_call(),
        lambda: kraus_call(mask_slot=-1),
        lambda: scale_call(np.complex64),
        lambda: density_call(np.complex128),
        lambda: sample_shots_call(),
        lambda: sample_shots_call(shot_states=()),
        lambda: sample_shots_call(num_measured=0, cumulative=2),
        lambda: expectation_call(np.complex64, chunk_bits=4),
        lambda: expectation_call(passes=np.zeros((0, 3)), pieces=np.zeros((0, 3))),
    ],
    ids=[
        "set_zero_state",
        "marginal_partials",
        "probabilities",
        "reduce_partials",
        "sample",
        "run_program-masked",
        "run_program-masked-wide",
        "classical",
        "classical-masked",
        "classical-empty",
        "classical-deepest",
        "classical-no-rows",
        "decide_outcomes",
        "decide_outcomes-no-slots",
        "collapse",
        "collapse-narrowest-rows",
        "collapse-high-qubit",
        "gather",
        "gather-nothing",
        "choose_kraus",
        "choose_kraus-every-row",
        "scale_states",
        "density_diagonal",
        "sample_shots",
        "sample_shots-no-shots",
        "sample_shots-nothing-measured",
        "expectation_partials",
        "expectation_partials-no-pieces",
    ],
)
def test_valid_defaults_are_accepted(call: Callable[[], Call]) -> None:
    """The other launchers' default arguments, from which the bad ones differ, are valid."""
    built = call()
    built.function(*built.args)


def test_every_require_is_covered() -> None:
    """The cases trip exactly the (function, message) requires of kernels/cpu/."""
    sites = require_sites()
    assert len(sites) >= 20, "parsing kernels/cpu/ found too few requires"
    covered = {(case.site, case.message) for case in BAD_CASES.values()}
    assert covered == set(sites)


@pytest.mark.parametrize("outcome", [2**40, -1, 7])
def test_collapse_reads_only_the_two_probabilities_of_a_state(outcome: int) -> None:
    """An outcome slot holding anything but 0 counts as 1: never an index past (p0, p1)."""
    state = np.array([0.6, 0.8], dtype=np.complex128)
    rows = np.array([0, 0, outcome, 0], dtype=np.int64)
    _cpu.collapse(state, 1, 1, 0, np.array([0.36, 0.64]), rows, 4, False, -1, 1)
    np.testing.assert_allclose(state, [0, 1], atol=1e-15)


@pytest.mark.parametrize(
    "call",
    [
        lambda: _cpu.set_zero_state(np.zeros(4, dtype=np.float64), 1, 1, 1),
        lambda: _cpu.classical(np.zeros(8, dtype=np.int32), 4, np.zeros(0, np.int64), -1, 1),
        lambda: _cpu.gather(np.zeros(2, np.complex128), np.zeros(2, np.float64), 1, np.zeros(1, np.int64), 1),
        lambda: _cpu.sample(np.ones(2), 1, 1, np.zeros(1, np.uint64), np.zeros(1, np.int32), 1),
    ],
    ids=["states-float64", "rows-int32", "branches-float64", "outcomes-int32"],
)
def test_an_output_of_the_wrong_dtype_is_refused_not_converted(call: Callable[[], Any]) -> None:
    """Converting an output would write into a temporary copy: the call must refuse it."""
    with pytest.raises(TypeError, match="incompatible function arguments"):
        call()

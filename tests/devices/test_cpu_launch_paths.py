"""The CPU extension's launch paths, through ``_cpu.run_program``, against references.

``launch_op`` in kernels/cpu/program_launchers.hpp hands an op's work items to its body in runs of
consecutive items, or, when the op's lowest sorted position is below kMinRunBits (a low
target or control), in tiles of SIMD-width items at arbitrary positions; states too small
for a full tile fall back to short runs. ``run_program`` runs small batched states one
whole program per thread ("cache resident", states up to kCacheResidentStateBytes) and
larger ones op by op across all threads. Each path runs here against Qiskit
(``Statevector.evolve`` with an ``Operator`` of the op's full matrix) or, for diagonals,
NumPy, in both precisions.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from qiskit.quantum_info import Operator, Statevector

from qiskit_cupy import _cpu
from qiskit_cupy.compiler.op_registry import OP_KINDS
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program

LAUNCHERS_HPP = Path(__file__).resolve().parents[2] / "kernels" / "cpu" / "program_launchers.hpp"

DTYPES = [np.complex128, np.complex64]
TOLERANCE = {np.complex128: 1e-12, np.complex64: 1e-5}
#: run_program's rows argument when every state is active (mask slot -1).
NO_ROWS = np.zeros(1, dtype=np.int64)
#: A slot of a classical row free for a mask (``kFirstFreeSlot`` in classical.cuh).
MASK_SLOT = 3
EVERY_STATE = -1


def module_constant(name: str) -> int:
    """A ``constexpr`` integer of program_launchers.hpp: ``= value`` or ``= T{1} << bits``."""
    text = LAUNCHERS_HPP.read_text(encoding="utf-8")
    match = re.search(rf"constexpr\s+[\w:]+\s+{name}\s*=\s*([^;]+);", text)
    assert match, f"{name} not found in program_launchers.hpp"
    expression = match.group(1).strip()
    shifted = re.fullmatch(r"(?:[\w:]+\{)?(\d+)\}?\s*<<\s*(\d+)", expression)
    if shifted:
        return int(shifted.group(1)) << int(shifted.group(2))
    return int(expression)


#: Lowest sorted position from which an op's items run in runs rather than tiles.
MIN_RUN_BITS = module_constant("kMinRunBits")
#: Largest state that run_program runs whole-program-per-thread when batched.
CACHE_RESIDENT_BYTES = module_constant("kCacheResidentStateBytes")
#: Fewest free bits that fill a tile on any SIMD width (16 single-precision lanes).
WIDEST_TILE_BITS = 4


# ----------------------------------------------------------------------- the ops


@dataclass(frozen=True)
class Geometry:
    """Where an op sits: its kind, the state's size, targets, controls and their values."""

    kind: OpKind
    num_qubits: int
    targets: tuple[int, ...]
    controls: tuple[int, ...] = ()
    control_values: int = 0
    phased: bool = True

    def __post_init__(self) -> None:
        qubits = self.targets + self.controls
        assert len(set(qubits)) == len(qubits), self
        assert all(0 <= q < self.num_qubits for q in qubits), self
        assert 0 <= self.control_values < 1 << len(self.controls), self
        if self.kind is OpKind.WIDE_DIAGONAL:
            assert list(self.targets) == sorted(self.targets), self

    @property
    def sorted_positions(self) -> tuple[int, ...]:
        """The positions a work item holds fixed (the kind's registry semantics)."""
        fixed = self.controls + self.targets if OP_KINDS[self.kind.value].fixes_targets else self.controls
        return tuple(sorted(fixed))

    @property
    def lowest(self) -> int:
        """The op's lowest sorted position (num_qubits when it has none)."""
        return self.sorted_positions[0] if self.sorted_positions else self.num_qubits

    @property
    def free_bits(self) -> int:
        """log2 of the number of work items per state."""
        return self.num_qubits - len(self.sorted_positions)

    def name(self) -> str:
        """A readable test id."""
        kind = self.kind.name.lower()
        extra = "" if self.kind is not OpKind.PERMUTATION else ("-phased" if self.phased else "-pure")
        controls = (
            f"-c{list(self.controls)}={self.control_values:0{len(self.controls)}b}" if self.controls else ""
        )
        return f"{kind}{extra}-n{self.num_qubits}-t{list(self.targets)}{controls}"


def seed_of(text: str) -> int:
    """A stable seed derived from a string."""
    return zlib.crc32(text.encode())


def random_unitary(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random unitary (QR of a complex Gaussian matrix, phases fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim)))
    return q * (np.diagonal(r) / np.abs(np.diagonal(r)))


def random_phases(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random unit-modulus complex numbers."""
    return np.exp(2j * np.pi * rng.random(shape))


def controlled(matrix: np.ndarray, num_controls: int, values: int) -> np.ndarray:
    """``matrix`` controlled on the low ``num_controls`` bits holding ``values``."""
    dim = len(matrix)
    out = np.eye(dim << num_controls, dtype=complex)
    indices = values + (np.arange(dim) << num_controls)
    out[np.ix_(indices, indices)] = matrix
    return out


@dataclass(frozen=True)
class OpCase:
    """A GateOp together with the reference data of each batch entry."""

    geometry: Geometry
    op: GateOp
    #: For each batch entry, the matrix (dense, permutation) or diagonal on the targets.
    references: tuple[np.ndarray, ...]
    #: Whether the op's data is one set shared by the batch (else one set per entry).
    shared: bool


def make_op(geometry: Geometry, batch: int, per_entry: bool, rng: np.random.Generator) -> OpCase:
    """Random data for an op of the given geometry: one set per entry, or one shared."""
    g = geometry
    dim = 1 << len(g.targets)
    count = batch if per_entry else 1
    permutation: tuple[int, ...] = ()
    if g.kind is OpKind.DENSE:
        sets = [random_unitary(dim, rng) for _ in range(count)]
        references = sets
    elif g.kind in (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL):
        sets = [random_phases((dim,), rng) for _ in range(count)]
        references = sets
    else:
        image = rng.permutation(dim)
        while (image == np.arange(dim)).all():
            image = rng.permutation(dim)
        permutation = tuple(int(i) for i in image)
        sets = [random_phases((dim,), rng) if g.phased else np.ones(dim, dtype=complex) for _ in range(count)]
        references = []
        for phases in sets:
            matrix = np.zeros((dim, dim), dtype=complex)
            for column, row in enumerate(permutation):
                matrix[row, column] = phases[column]
            references.append(matrix)
    data = np.stack(sets) if per_entry else sets[0]
    op = GateOp(g.kind, g.targets, data, g.controls, g.control_values, permutation)
    entries = tuple(references[b if per_entry else 0] for b in range(batch))
    return OpCase(geometry, op, entries, shared=not per_entry)


def gather(indices: np.ndarray, positions: Sequence[int]) -> np.ndarray:
    """Bit b of the result is bit ``positions[b]`` of each index."""
    out = np.zeros_like(indices)
    for bit, position in enumerate(positions):
        out |= ((indices >> position) & 1) << bit
    return out


def apply_reference(state: np.ndarray, op_case: OpCase, entry: int) -> np.ndarray:
    """Apply one op to one state (complex128): Qiskit for matrices, NumPy for diagonals."""
    g = op_case.geometry
    reference = op_case.references[entry]
    if g.kind in (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL):
        indices = np.arange(state.size)
        mask = sum(1 << c for c in g.controls)
        value = sum(((g.control_values >> i) & 1) << c for i, c in enumerate(g.controls))
        factor = np.where((indices & mask) == value, reference[gather(indices, g.targets)], 1)
        return state * factor
    matrix = controlled(reference, len(g.controls), g.control_values)
    evolved = Statevector(state).evolve(Operator(matrix), qargs=list(g.controls + g.targets))
    return evolved.data


def random_states(num_qubits: int, batch: int, seed: int) -> np.ndarray:
    """A (batch, 2^n) array of random normalized states."""
    rng = np.random.default_rng(seed)
    shape = (batch, 1 << num_qubits)
    states = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return states / np.linalg.norm(states, axis=1, keepdims=True)


def run_extension(
    ops: Sequence[GateOp],
    states: np.ndarray,
    num_qubits: int,
    dtype: type,
    num_threads: int = 0,
    block_bits: int = -1,
    active: Sequence[bool] | None = None,
) -> np.ndarray:
    """Run ops on a (batch, 2^n) array of states through ``_cpu.run_program``: runs of low
    ops cache-blocked as the extension chooses by default, or in blocks of ``block_bits``
    (0: op by op); on the ``active`` entries only, where given."""
    batch = states.shape[0]
    program = encode_program(list(ops), batch=batch)
    flat = np.array(states, dtype=dtype, order="C", copy=True).ravel()
    rows, width, slot = NO_ROWS, 1, EVERY_STATE
    if active is not None:
        width, slot = MASK_SLOT + 1, MASK_SLOT
        rows = np.zeros(batch * width, dtype=np.int64)
        rows[slot::width] = active
    _cpu.run_program(
        flat,
        num_qubits,
        batch,
        program.rows,
        program.data.astype(dtype),
        rows,
        width,
        slot,
        num_threads,
        block_bits,
    )
    return flat.reshape(batch, -1)


def run_reference(op_cases: Sequence[OpCase], states: np.ndarray) -> np.ndarray:
    """The same ops applied entry by entry by the reference."""
    out = np.array(states, dtype=np.complex128)
    for entry in range(out.shape[0]):
        for op_case in op_cases:
            out[entry] = apply_reference(out[entry], op_case, entry)
    return out


# ---------------------------------------------------------------- tile-path grid


def _layouts(
    kind: OpKind, k: int, c: int, n: int, rng: np.random.Generator
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(targets, controls) placements of k targets and c controls on n qubits."""
    m = k + c
    low = tuple(range(m))
    layouts = [
        (low[:k], low[k:]),  # everything low, targets ascending
        (low[:k][::-1], low[k:]),  # everything low, targets descending
        (tuple(range(n - 1, n - 1 - k, -1)), tuple(range(c))),  # controls low, targets high
    ]
    # a low target (position 1 or 2) among higher ones, in a random place of the targets
    first = int(rng.integers(1, min(2, n - m) + 1)) if n > m else 0
    others = [int(q) for q in rng.choice(np.arange(first + 1, n), size=m - 1, replace=False)]
    targets_list = others[: k - 1]
    targets_list.insert(int(rng.integers(0, k)), first)
    targets, controls = tuple(targets_list), tuple(others[k - 1 :])
    layouts.append((targets, controls))
    if kind is OpKind.DIAGONAL and c:
        # a diagonal's sorted positions are its controls: a low control, targets low too
        layouts.append((tuple(range(1, k + 1)), (0,) + tuple(range(k + 1, k + c))))
    return layouts


def tile_geometries() -> list[Geometry]:
    """Ops of every tile-sized kind and size, with 0..2 controls, on 3..12 qubits."""
    geometries: dict[tuple, Geometry] = {}
    sizes = {
        OpKind.DENSE: range(1, OP_KINDS[OpKind.DENSE.value].max_targets + 1),
        OpKind.DIAGONAL: range(1, OP_KINDS[OpKind.DIAGONAL.value].max_targets + 1),
        OpKind.PERMUTATION: range(1, OP_KINDS[OpKind.PERMUTATION.value].max_targets + 1),
    }
    for kind, ks in sizes.items():
        for k in ks:
            for c in (0, 1, 2):
                smallest = max(3, k + c)
                for n in sorted({smallest, smallest + 1, 12}):
                    rng = np.random.default_rng(seed_of(f"{kind}-{k}-{c}-{n}"))
                    for targets, controls in _layouts(kind, k, c, n, rng):
                        values = int(rng.integers(0, 1 << c))
                        phases = (True, False) if kind is OpKind.PERMUTATION else (True,)
                        for phased in phases:
                            g = Geometry(kind, n, targets, controls, values, phased)
                            key = (kind, n, targets, controls, phased)
                            geometries.setdefault(key, g)
    return list(geometries.values())


TILE_GEOMETRIES = tile_geometries()


def test_grid_covers_tile_and_short_paths() -> None:
    """Every kind and size has tile-path ops, and dense/permutation ops on tiny states."""
    for kind in (OpKind.DENSE, OpKind.DIAGONAL, OpKind.PERMUTATION):
        for k in range(1, OP_KINDS[kind.value].max_targets + 1):
            of_size = [g for g in TILE_GEOMETRIES if g.kind is kind and len(g.targets) == k]
            assert all(3 <= g.num_qubits <= 12 for g in of_size)
            tiles = [g for g in of_size if g.lowest < MIN_RUN_BITS and g.free_bits >= WIDEST_TILE_BITS]
            assert tiles, (kind, k)
            assert any(g.lowest >= MIN_RUN_BITS for g in of_size), (kind, k)
            assert any(list(g.targets) != sorted(g.targets) for g in of_size) or k == 1
            if kind is not OpKind.DIAGONAL:
                assert any(g.lowest < MIN_RUN_BITS and g.free_bits <= 1 for g in of_size), (kind, k)
    assert {g.phased for g in TILE_GEOMETRIES if g.kind is OpKind.PERMUTATION} == {True, False}


@pytest.mark.parametrize("dtype", DTYPES, ids=["double", "single"])
@pytest.mark.parametrize("batch", [1, 3], ids=["batch1", "batch3-per-entry"])
@pytest.mark.parametrize("geometry", TILE_GEOMETRIES, ids=Geometry.name)
def test_single_op(geometry: Geometry, batch: int, dtype: type) -> None:
    """One op (tile path, short runs or runs) matches the reference on every entry."""
    seed = seed_of(f"{geometry.name()}-{batch}")
    rng = np.random.default_rng(seed)
    op_case = make_op(geometry, batch, per_entry=batch > 1, rng=rng)
    states = random_states(geometry.num_qubits, batch, seed).astype(dtype)
    # One thread: these states are small, and the threaded launches run in test_program.
    got = run_extension([op_case.op], states, geometry.num_qubits, dtype, num_threads=1)
    want = run_reference([op_case], states)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=["double", "single"])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_shared_data_on_batch(dtype: type, num_threads: int) -> None:
    """Shared data (stride 0) on a batch of 3 applies the same op to every entry."""
    geometries = [g for g in TILE_GEOMETRIES if g.num_qubits == 12 and g.lowest < MIN_RUN_BITS][:12]
    rng = np.random.default_rng(7)
    op_cases = [make_op(g, 3, per_entry=False, rng=rng) for g in geometries]
    states = random_states(12, 3, 8).astype(dtype)
    got = run_extension([t.op for t in op_cases], states, 12, dtype, num_threads)
    np.testing.assert_allclose(got, run_reference(op_cases, states), rtol=0, atol=TOLERANCE[dtype])


# ------------------------------------------------------------ program-level paths


def program_geometries(num_qubits: int) -> list[Geometry]:
    """A mixed program on n qubits: low and high ops of every kind, a wide diagonal."""
    n = num_qubits
    top = n - 1
    wide_targets = tuple(sorted({0, 1, 3} | set(range(n - 5, n))))[: OP_KINDS["kWideDiagonal"].max_targets]
    return [
        Geometry(OpKind.DENSE, n, (0,)),
        Geometry(OpKind.DENSE, n, (top, 1), (2,), 1),
        Geometry(OpKind.DENSE, n, (2, 0, 1)),
        Geometry(OpKind.DENSE, n, (top, top - 2, 1, 3), (0,), 0),
        Geometry(OpKind.DENSE, n, (4, 3, 2, 1, 0)),
        Geometry(OpKind.DENSE, n, (top - 4, top - 3, top - 2, top - 1, top), (1,), 1),
        Geometry(OpKind.DIAGONAL, n, (top, 3), (1,), 0),
        Geometry(OpKind.DIAGONAL, n, (0, 2, 4, 6, top)),
        Geometry(OpKind.PERMUTATION, n, (0,), (top,), 1, phased=False),
        Geometry(OpKind.PERMUTATION, n, (1, top), (), 0, phased=True),
        Geometry(OpKind.PERMUTATION, n, (5, 4), (0, 2), 0b10, phased=False),
        Geometry(OpKind.WIDE_DIAGONAL, n, wide_targets),
        Geometry(OpKind.WIDE_DIAGONAL, n, tuple(range(3, min(n, 3 + 16)))[:16], (1,), 1),
        Geometry(OpKind.DENSE, n, (1,), (top, 0), 0b01),
    ]


_CACHE_QUBITS = {
    dtype: (CACHE_RESIDENT_BYTES // np.dtype(dtype).itemsize).bit_length() - 1 for dtype in DTYPES
}

#: (name, dtype, num_qubits, batch): both sides of the cache-resident limit.
PROGRAM_CASES = [
    (f"{path}-{np.dtype(dtype).name}-n{n}-b{batch}", dtype, n, batch)
    for dtype in DTYPES
    for path, n, batch in [
        ("cache-resident-small", 8, 3),
        ("cache-resident-at-limit", _CACHE_QUBITS[dtype], 3),
        ("large-batched", _CACHE_QUBITS[dtype] + 1, 3),
        ("large-single", _CACHE_QUBITS[dtype] + 1, 1),
        ("single-small", 8, 1),
    ]
]

_PROGRAMS: dict[str, tuple[list[OpCase], np.ndarray]] = {}
_REFERENCES: dict[str, np.ndarray] = {}


def program_case(name: str, dtype: type, num_qubits: int, batch: int) -> tuple[list[OpCase], np.ndarray]:
    """The ops and input states of a program case (built once per name)."""
    if name not in _PROGRAMS:
        rng = np.random.default_rng(seed_of(name))
        op_cases = [
            make_op(g, batch, per_entry=batch > 1 and i % 2 == 0, rng=rng)
            for i, g in enumerate(program_geometries(num_qubits))
        ]
        states = random_states(num_qubits, batch, seed_of(name) + 1).astype(dtype)
        _PROGRAMS[name] = (op_cases, states)
    return _PROGRAMS[name]


def program_reference(name: str, dtype: type, num_qubits: int, batch: int) -> np.ndarray:
    """The reference output of a program case (computed once per name)."""
    if name not in _REFERENCES:
        _REFERENCES[name] = run_reference(*program_case(name, dtype, num_qubits, batch))
    return _REFERENCES[name]


def test_cache_limit_is_where_the_cases_think() -> None:
    """The at-limit states fit kCacheResidentStateBytes and the next size does not."""
    for dtype in DTYPES:
        itemsize = np.dtype(dtype).itemsize
        assert itemsize << _CACHE_QUBITS[dtype] <= CACHE_RESIDENT_BYTES
        assert itemsize << (_CACHE_QUBITS[dtype] + 1) > CACHE_RESIDENT_BYTES


@pytest.mark.parametrize("num_threads", [1, 0, 3])
@pytest.mark.parametrize(
    ("name", "dtype", "num_qubits", "batch"), PROGRAM_CASES, ids=[c[0] for c in PROGRAM_CASES]
)
def test_program(name: str, dtype: type, num_qubits: int, batch: int, num_threads: int) -> None:
    """A whole mixed program, shared and per-entry data, on each run_program path."""
    op_cases, states = program_case(name, dtype, num_qubits, batch)
    want = program_reference(name, dtype, num_qubits, batch)
    got = run_extension([t.op for t in op_cases], states, num_qubits, dtype, num_threads)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=["double", "single"])
@pytest.mark.parametrize("path", ["cache-resident", "large"])
def test_batch_entries_are_independent(path: str, dtype: type) -> None:
    """Entry b of a batched run equals, bit for bit, entry b run alone with its data."""
    n, batch = _CACHE_QUBITS[dtype] + (0 if path == "cache-resident" else 1), 3
    name = f"independent-{path}-{np.dtype(dtype).name}"
    op_cases, states = program_case(name, dtype, n, batch)
    assert not all(t.shared for t in op_cases) and any(t.shared for t in op_cases)
    together = run_extension([t.op for t in op_cases], states, n, dtype)
    for entry in range(batch):
        alone_ops = [t.op if t.shared else replace(t.op, data=t.op.data[entry]) for t in op_cases]
        alone = run_extension(alone_ops, states[entry : entry + 1], n, dtype)
        np.testing.assert_array_equal(together[entry], alone[0])


# ------------------------------------------------------------ cache-blocked runs


def blocking_geometries(num_qubits: int, low_bits: int, rng: np.random.Generator) -> list[Geometry]:
    """A program whose ops mostly lie below ``low_bits`` (runs of them get blocked), with
    ops on high qubits between the runs; every kind, with and without controls."""
    geometries = []
    for index in range(36):
        span = low_bits if index % 5 else num_qubits
        kind = [OpKind.DENSE, OpKind.DENSE, OpKind.DIAGONAL, OpKind.PERMUTATION, OpKind.WIDE_DIAGONAL][
            index % 5 if span == low_bits else int(rng.integers(0, 3))
        ]
        most = {OpKind.DENSE: 5, OpKind.DIAGONAL: 5, OpKind.PERMUTATION: 2, OpKind.WIDE_DIAGONAL: 7}[kind]
        k = int(rng.integers(1, min(most, span - 1) + 1))
        c = int(rng.integers(0, min(2, span - k) + 1))
        qubits = [int(q) for q in rng.choice(span, size=k + c, replace=False)]
        targets = tuple(sorted(qubits[:k])) if kind is OpKind.WIDE_DIAGONAL else tuple(qubits[:k])
        if kind is OpKind.WIDE_DIAGONAL and k < 2:
            targets = tuple(sorted({*targets, (targets[0] + 1) % span}))
            c = min(c, span - len(targets))
            qubits = list(targets) + [q for q in qubits[k:] if q not in targets]
        controls = tuple(qubits[len(targets) : len(targets) + c])
        geometries.append(
            Geometry(kind, num_qubits, targets, controls, int(rng.integers(0, 1 << len(controls))))
        )
    return geometries


BLOCKING_CASES = [
    (dtype, num_qubits, batch, block_bits, num_threads)
    for dtype in DTYPES
    for num_qubits, batch in [(12, 1), (11, 3)]
    for block_bits in [6, 8, 10]
    for num_threads in [1, 3]
]


@pytest.mark.parametrize(
    ("dtype", "num_qubits", "batch", "block_bits", "num_threads"),
    BLOCKING_CASES,
    ids=[f"{np.dtype(d).name}-n{n}-b{b}-blocks{k}-t{t}" for d, n, b, k, t in BLOCKING_CASES],
)
def test_blocked_runs_equal_op_by_op_to_the_last_bit(
    dtype: type, num_qubits: int, batch: int, block_bits: int, num_threads: int
) -> None:
    """Runs of low ops applied block by block give, bit for bit, the op-by-op states (each
    amplitude sees the same ops in the same order), and both match the reference."""
    name = f"blocking-{np.dtype(dtype).name}-{num_qubits}-{batch}-{block_bits}"
    rng = np.random.default_rng(seed_of(name))
    op_cases = [
        make_op(g, batch, per_entry=batch > 1 and i % 3 == 0, rng=rng)
        for i, g in enumerate(blocking_geometries(num_qubits, block_bits + 1, rng))
    ]
    ops = [t.op for t in op_cases]
    states = random_states(num_qubits, batch, seed_of(name) + 1).astype(dtype)
    op_by_op = run_extension(ops, states, num_qubits, dtype, num_threads, block_bits=0)
    blocked = run_extension(ops, states, num_qubits, dtype, num_threads, block_bits=block_bits)
    np.testing.assert_array_equal(blocked, op_by_op)
    np.testing.assert_allclose(blocked, run_reference(op_cases, states), rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=["double", "single"])
def test_blocked_runs_skip_inactive_entries(dtype: type) -> None:
    """Under a classical condition only the active states change, blocked or not."""
    num_qubits, batch = 10, 4
    rng = np.random.default_rng(7)
    op_cases = [make_op(g, batch, False, rng) for g in blocking_geometries(num_qubits, 6, rng)]
    states = random_states(num_qubits, batch, 8).astype(dtype)
    active = [True, False, True, False]
    ops = [t.op for t in op_cases]
    blocked = run_extension(ops, states, num_qubits, dtype, block_bits=5, active=active)
    op_by_op = run_extension(ops, states, num_qubits, dtype, block_bits=0, active=active)
    np.testing.assert_array_equal(blocked, op_by_op)
    np.testing.assert_array_equal(blocked[1::2], states[1::2])
    assert not np.array_equal(blocked[0], states[0])


def test_the_default_block_is_half_a_cores_l2_cache() -> None:
    """block_bits -1 uses cache_block_bits: the widest block of half the L2 cache."""
    for itemsize in (8, 16):
        bits = _cpu.cache_block_bits(itemsize)
        assert 8 <= bits <= 24
        reported = os.sysconf("SC_LEVEL2_CACHE_SIZE") if "SC_LEVEL2_CACHE_SIZE" in os.sysconf_names else 0
        l2 = _l2_cache_bytes() or reported
        if l2:
            assert itemsize << bits <= l2 // 2 < itemsize << (bits + 1)


def _l2_cache_bytes() -> int:
    """A core's L2 cache as Linux's sysfs reports it (0 where it does not)."""
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            if (index / "level").read_text().strip() == "2":
                size = (index / "size").read_text().strip()
                return int(size[:-1]) << {"K": 10, "M": 20}[size[-1]]
        except (OSError, ValueError, KeyError):
            return 0
    return 0


def _passes(layout: str, num_qubits: int, dtype: type, block_bits: int, batch: int = 1) -> int:
    """program_passes of a program of one-qubit dense ops: "l" on qubit 1, "h" on the top."""
    rng = np.random.default_rng(3)
    ops = [
        GateOp(OpKind.DENSE, (1 if kind == "l" else num_qubits - 1,), random_unitary(2, rng))
        for kind in layout
    ]
    program = encode_program(ops, batch=batch)
    return int(_cpu.program_passes(num_qubits, batch, program.rows, np.dtype(dtype).itemsize, block_bits))


@pytest.mark.parametrize("dtype", DTYPES, ids=["double", "single"])
@pytest.mark.parametrize(
    ("layout", "passes"),
    [("llll", 1), ("llhll", 3), ("lhl", 3), ("l", 1), ("hh", 2), ("llhlllhl", 5), ("", 0)],
)
def test_program_passes_counts_one_pass_per_blocked_run(dtype: type, layout: str, passes: int) -> None:
    """Two or more consecutive low ops are one pass; every other op is a pass of its own."""
    assert _passes(layout, 14, dtype, block_bits=8) == passes
    assert _passes(layout, 14, dtype, block_bits=0) == len(layout)
    assert _passes(layout, 8, dtype, block_bits=8) == len(layout)  # the state is no wider than a block


def test_program_passes_of_a_cache_resident_batch_is_one() -> None:
    """A batch of small states runs its whole program in one pass, one state per thread."""
    assert _passes("lhlhl", 6, np.complex128, block_bits=0, batch=3) == 1


def test_program_passes_refuses_an_unknown_itemsize() -> None:
    program = encode_program([GateOp(OpKind.DENSE, (0,), np.eye(2, dtype=complex))])
    with pytest.raises(ValueError, match="itemsize must be 8"):
        _cpu.program_passes(4, 1, program.rows, 4)

"""Encoding of gate ops into op rows and a data buffer (``compiler/program.py``).

Field offsets come from ``OP_LAYOUT`` (parsed from ``op_layout.cuh``); the expected
values of each field are written out per case, not recomputed the way the encoder does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from qiskit_cupy.compiler.op_registry import OP_KINDS, OP_LAYOUT
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import (
    data_entries,
    encode_program,
    kind_spec,
    sorted_positions,
)

L = OP_LAYOUT


def random_complex(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random complex entries of the given shape."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


@dataclass(frozen=True)
class RowCase:
    """An op and the row it must encode to (field values written out by hand)."""

    op: GateOp
    kind_name: str
    sorted: tuple[int, ...]
    control_value: int
    target_mask: int
    entries: int
    permutation: tuple[int, ...] = ()
    phased: int = 0


ROW_CASES: dict[str, RowCase] = {
    "dense2-two-controls": RowCase(
        GateOp(OpKind.DENSE, (3, 1), random_complex((4, 4), 1), (5, 0), 0b10),
        "kDense",
        (0, 1, 3, 5),
        0b000001,
        0b1010,
        16,
    ),
    "dense1-no-controls": RowCase(
        GateOp(OpKind.DENSE, (7,), random_complex((2, 2), 2)),
        "kDense",
        (7,),
        0,
        1 << 7,
        4,
    ),
    "dense5-control-value-all-ones": RowCase(
        GateOp(OpKind.DENSE, (9, 2, 4, 0, 6), random_complex((32, 32), 3), (8, 1), 0b11),
        "kDense",
        (0, 1, 2, 4, 6, 8, 9),
        (1 << 8) | (1 << 1),
        0b1001010101,
        1024,
    ),
    "diagonal-controls-only-sorted": RowCase(
        GateOp(OpKind.DIAGONAL, (2, 4), random_complex((4,), 4), (6, 3), 0b01),
        "kDiagonal",
        (3, 6),
        1 << 6,
        0b10100,
        4,
    ),
    "diagonal-no-controls": RowCase(
        GateOp(OpKind.DIAGONAL, (5, 0, 3), random_complex((8,), 5)),
        "kDiagonal",
        (),
        0,
        0b101001,
        8,
    ),
    "permutation-x-unphased": RowCase(
        GateOp(OpKind.PERMUTATION, (1,), np.ones(2, dtype=complex), (3,), 0, (1, 0)),
        "kPermutationKind",
        (1, 3),
        0,
        0b10,
        2,
        (1, 0),
        0,
    ),
    "permutation-iswap-phased": RowCase(
        GateOp(OpKind.PERMUTATION, (4, 2), np.array([1, 1j, 1j, 1]), (), 0, (0, 2, 1, 3)),
        "kPermutationKind",
        (2, 4),
        0,
        0b10100,
        4,
        (0, 2, 1, 3),
        1,
    ),
    "wide-diagonal": RowCase(
        GateOp(OpKind.WIDE_DIAGONAL, (0, 2, 3, 5, 7, 11), random_complex((64,), 6), (9,), 1),
        "kWideDiagonal",
        (9,),
        1 << 9,
        (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 11),
        64,
    ),
}


def expected_row(case: RowCase, offset: int, stride: int = 0) -> np.ndarray:
    """The whole row of a case, every field not named here zero."""
    row = np.zeros(L["kOpWidth"], dtype=np.int64)
    row[L["kKind"]] = L[case.kind_name]
    row[L["kNumTargets"]] = len(case.op.targets)
    row[L["kNumSorted"]] = len(case.sorted)
    row[L["kDataOffset"]] = offset
    row[L["kDataBatchStride"]] = stride
    row[L["kControlValue"]] = case.control_value
    row[L["kTargetMask"]] = case.target_mask
    row[L["kTargets"] : L["kTargets"] + len(case.op.targets)] = case.op.targets
    row[L["kSorted"] : L["kSorted"] + len(case.sorted)] = case.sorted
    if case.permutation:
        row[L["kPermutation"] : L["kPermutation"] + len(case.permutation)] = case.permutation
        row[L["kPhased"]] = case.phased
    return row


@pytest.mark.parametrize("name", sorted(ROW_CASES))
def test_single_op_row(name: str) -> None:
    """One op's row: kind code, target count, sorted positions, control bits, mask."""
    case = ROW_CASES[name]
    program = encode_program([case.op])
    assert program.rows.dtype == np.int64
    assert program.rows.shape == (1, L["kOpWidth"])
    np.testing.assert_array_equal(program.rows[0], expected_row(case, offset=0))
    assert program.kinds == (case.op.kind,)
    assert program.num_targets == (len(case.op.targets),)
    assert program.num_sorted == (len(case.sorted),)
    assert len(program) == 1


@pytest.mark.parametrize("name", sorted(ROW_CASES))
def test_sorted_positions_and_entries(name: str) -> None:
    """sorted_positions and data_entries agree with the hand-written expectations."""
    case = ROW_CASES[name]
    assert sorted_positions(case.op) == case.sorted
    assert data_entries(case.op) == case.entries == case.op.data.size


@pytest.mark.parametrize("name", sorted(ROW_CASES))
def test_kind_code_is_registry_code(name: str) -> None:
    """A row's kind field is the registry code of its kind, via kind_spec too."""
    case = ROW_CASES[name]
    assert case.op.kind.value == case.kind_name
    assert kind_spec(case.op.kind) is OP_KINDS[case.kind_name]
    assert encode_program([case.op]).rows[0, L["kKind"]] == OP_KINDS[case.kind_name].code


def test_consecutive_data_offsets() -> None:
    """Ops' data lie back to back in program order, each at its row's offset."""
    names = sorted(ROW_CASES)
    cases = [ROW_CASES[name] for name in names]
    program = encode_program([case.op for case in cases])
    offset = 0
    for row, case in zip(program.rows, cases, strict=True):
        np.testing.assert_array_equal(row, expected_row(case, offset))
        chunk = program.data[offset : offset + case.entries]
        np.testing.assert_array_equal(chunk, np.asarray(case.op.data).ravel())
        offset += case.entries
    assert program.data.size == offset
    assert program.data.dtype == np.complex128
    assert program.kinds == tuple(case.op.kind for case in cases)
    assert program.num_sorted == tuple(len(case.sorted) for case in cases)


def test_dense_data_row_major() -> None:
    """A dense op's matrix is stored row by row: entry (r, c) at offset + r * 2^k + c."""
    matrix = random_complex((4, 4), 9)
    program = encode_program(
        [GateOp(OpKind.DIAGONAL, (0,), np.ones(2)), GateOp(OpKind.DENSE, (0, 1), matrix)]
    )
    offset = program.rows[1, L["kDataOffset"]]
    assert offset == 2
    for r in range(4):
        for c in range(4):
            assert program.data[offset + 4 * r + c] == matrix[r, c]


@pytest.mark.parametrize("batch", [2, 3])
def test_batch_stride_for_per_entry_data(batch: int) -> None:
    """Data with one set of entries per batch entry gets a stride; shared data none."""
    per_entry_dense = GateOp(OpKind.DENSE, (2,), random_complex((batch, 2, 2), 10))
    shared_diagonal = GateOp(OpKind.DIAGONAL, (0, 1), random_complex((4,), 11), (3,), 1)
    per_entry_perm = GateOp(OpKind.PERMUTATION, (0, 3), random_complex((batch, 4), 12), (), 0, (1, 0, 3, 2))
    program = encode_program([per_entry_dense, shared_diagonal, per_entry_perm], batch=batch)
    strides = program.rows[:, L["kDataBatchStride"]].tolist()
    offsets = program.rows[:, L["kDataOffset"]].tolist()
    assert strides == [4, 0, 4]
    assert offsets == [0, 4 * batch, 4 * batch + 4]
    assert program.data.size == 4 * batch + 4 + 4 * batch
    for op, offset, stride in zip(
        (per_entry_dense, per_entry_perm), (offsets[0], offsets[2]), (4, 4), strict=True
    ):
        for entry in range(batch):
            start = offset + entry * stride
            np.testing.assert_array_equal(program.data[start : start + 4], np.asarray(op.data)[entry].ravel())


def test_batch_one_data_is_shared() -> None:
    """With batch 1 an op's single set of entries has stride 0."""
    op = GateOp(OpKind.DENSE, (0,), random_complex((1, 2, 2), 13))
    assert encode_program([op], batch=1).rows[0, L["kDataBatchStride"]] == 0


@pytest.mark.parametrize(
    ("op", "batch"),
    [
        (GateOp(OpKind.DENSE, (0,), random_complex((6,), 14)), 3),
        (GateOp(OpKind.DENSE, (0,), random_complex((2, 2, 2), 15)), 3),
        (GateOp(OpKind.DIAGONAL, (0, 1), random_complex((5,), 16)), 1),
        (GateOp(OpKind.DIAGONAL, (0, 1), random_complex((8,), 16)), 1),
        (GateOp(OpKind.WIDE_DIAGONAL, tuple(range(6)), random_complex((63,), 17)), 2),
        (GateOp(OpKind.PERMUTATION, (0,), np.ones(4), (), 0, (1, 0)), 3),
    ],
    ids=[
        "dense-6-for-3",
        "dense-2sets-for-3",
        "diag-5",
        "diag-8-batch1",
        "wide-63",
        "perm-4-for-3",
    ],
)
def test_data_size_mismatch_raises(op: GateOp, batch: int) -> None:
    """Data that is neither one set of entries nor one per batch entry is rejected."""
    with pytest.raises(ValueError, match="entries"):
        encode_program([op], batch=batch)


def test_wide_dense_cannot_be_encoded() -> None:
    """A WIDE_DENSE op has no op kernel, so encoding it raises ValueError."""
    wide = GateOp(OpKind.WIDE_DENSE, tuple(range(6)), random_complex((64, 64), 18))
    assert not OpKind.WIDE_DENSE.in_registry
    with pytest.raises(ValueError, match="WIDE_DENSE"):
        encode_program([GateOp(OpKind.DENSE, (0,), np.eye(2)), wide])
    with pytest.raises(ValueError, match="WIDE_DENSE"):
        kind_spec(OpKind.WIDE_DENSE)
    with pytest.raises(ValueError):
        sorted_positions(wide)


def test_empty_program() -> None:
    """No ops: no rows, and a non-empty data buffer the kernels may still be given."""
    program = encode_program([])
    assert program.rows.shape == (0, L["kOpWidth"])
    assert len(program) == 0 and program.data.size >= 1
    assert program.kinds == () and program.num_targets == () and program.num_sorted == ()


def test_encoding_leaves_ops_untouched() -> None:
    """Encoding copies data; changing the buffer leaves the op's data as it was."""
    data = random_complex((2, 2), 19)
    op = GateOp(OpKind.DENSE, (0,), data.copy())
    program = encode_program([op])
    program.data[:] = 0
    np.testing.assert_array_equal(op.data, data)

"""Encoding of gate ops into the op buffer and data buffer that the kernels read.

The row layout and the kinds are defined once, in ``kernels/include/op_layout.cuh``;
this module takes both from ``op_registry.py``, which reads that file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qiskit_cupy.compiler.op_registry import OP_KINDS, OP_LAYOUT, KindSpec
from qiskit_cupy.compiler.ops import GateOp, OpKind


def kind_spec(kind: OpKind) -> KindSpec:
    """Return the registry entry of a kind the op kernels run.

    Raises:
        ValueError: The kind has no kernel (a WIDE_DENSE op runs through BLAS).
    """
    if not kind.in_registry:
        raise ValueError(f"op kind {kind.name} has no op kernel; it cannot be encoded")
    return OP_KINDS[kind.value]


@dataclass(frozen=True)
class EncodedProgram:
    """A sequence of ops as the kernels read them.

    Attributes:
        rows: int64 array of shape (number of ops, kOpWidth), one op per row.
        data: complex128 array holding every op's matrix, diagonal or phases.
        kinds: The kind of each op, in order.
        num_targets: The number of targets of each op, in order.
        num_sorted: The number of sorted positions of each op: the qubits a work item
            of the op does not enumerate.
    """

    rows: np.ndarray
    data: np.ndarray
    kinds: tuple[OpKind, ...]
    num_targets: tuple[int, ...]
    num_sorted: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.kinds)


def sorted_positions(op: GateOp) -> tuple[int, ...]:
    """Return the positions a work item of ``op`` holds fixed, ascending.

    An item of a kind that fixes its targets (dense, permutation) owns every amplitude
    the op mixes, so its targets and controls are fixed; a diagonal item owns one
    amplitude, so only controls are.
    """
    return _sorted_positions(op, kind_spec(op.kind))


def _sorted_positions(op: GateOp, spec: KindSpec) -> tuple[int, ...]:
    fixed = op.controls + op.targets if spec.fixes_targets else op.controls
    return tuple(sorted(fixed))


def data_entries(op: GateOp) -> int:
    """Complex entries of one state's data of ``op``: 4^k for dense, 2^k otherwise."""
    return kind_spec(op.kind).data_entries(len(op.targets))


def encode_program(ops: Sequence[GateOp], batch: int = 1) -> EncodedProgram:
    """Encode ops into one row each and one shared data buffer.

    An op whose data holds ``batch`` times its entries (one set per state of a batch,
    leading axis) gets a data batch stride; other ops' data is shared by the batch.

    Args:
        ops: The ops, in the order they apply.
        batch: Number of states the program runs on.

    Returns:
        The encoded program.
    """
    layout = OP_LAYOUT
    width = layout["kOpWidth"]
    kind, num_targets_at, num_sorted_at = layout["kKind"], layout["kNumTargets"], layout["kNumSorted"]
    offset_at, control_at, mask_at = layout["kDataOffset"], layout["kControlValue"], layout["kTargetMask"]
    targets_at, sorted_at, stride_at = layout["kTargets"], layout["kSorted"], layout["kDataBatchStride"]
    # Rows are built as lists and converted once: item writes into an array cost more.
    rows: list[list[int]] = []
    chunks: list[np.ndarray] = []
    num_sorted: list[int] = []
    offset = 0
    for op in ops:
        spec = kind_spec(op.kind)
        positions = _sorted_positions(op, spec)
        row = [0] * width
        row[kind] = spec.code
        row[num_targets_at] = len(op.targets)
        row[num_sorted_at] = len(positions)
        row[offset_at] = offset
        row[control_at] = sum(((op.control_values >> i) & 1) << qubit for i, qubit in enumerate(op.controls))
        row[mask_at] = sum(1 << qubit for qubit in op.targets)
        row[targets_at : targets_at + len(op.targets)] = op.targets
        row[sorted_at : sorted_at + len(positions)] = positions
        if spec.permutes:
            first = layout["kPermutation"]
            row[first : first + len(op.permutation)] = op.permutation
            row[layout["kPhased"]] = int(not np.all(op.data == 1))
        flat = np.ascontiguousarray(op.data, dtype=np.complex128).ravel()
        entries = spec.data_entries(len(op.targets))
        if flat.size != entries:
            if flat.size != batch * entries:
                raise ValueError(f"op data has {flat.size} entries, not {entries} or {batch}x that")
            row[stride_at] = entries
        rows.append(row)
        chunks.append(flat)
        num_sorted.append(len(positions))
        offset += flat.size
    data = np.concatenate(chunks) if chunks else np.zeros(1, dtype=np.complex128)
    return EncodedProgram(
        rows=np.array(rows, dtype=np.int64).reshape(len(ops), width),
        data=data,
        kinds=tuple(op.kind for op in ops),
        num_targets=tuple(len(op.targets) for op in ops),
        num_sorted=tuple(num_sorted),
    )

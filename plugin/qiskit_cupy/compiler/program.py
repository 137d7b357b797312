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
    fixed = op.controls + op.targets if kind_spec(op.kind).fixes_targets else op.controls
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
    rows = np.zeros((len(ops), layout["kOpWidth"]), dtype=np.int64)
    chunks: list[np.ndarray] = []
    offset = 0
    for row, op in zip(rows, ops):
        positions = sorted_positions(op)
        spec = kind_spec(op.kind)
        row[layout["kKind"]] = spec.code
        row[layout["kNumTargets"]] = len(op.targets)
        row[layout["kNumSorted"]] = len(positions)
        row[layout["kDataOffset"]] = offset
        row[layout["kControlValue"]] = sum(
            ((op.control_values >> i) & 1) << qubit for i, qubit in enumerate(op.controls)
        )
        row[layout["kTargetMask"]] = sum(1 << qubit for qubit in op.targets)
        row[layout["kTargets"] : layout["kTargets"] + len(op.targets)] = op.targets
        row[layout["kSorted"] : layout["kSorted"] + len(positions)] = positions
        if spec.permutes:
            first = layout["kPermutation"]
            row[first : first + len(op.permutation)] = op.permutation
            row[layout["kPhased"]] = int(not np.all(op.data == 1))
        flat = np.ascontiguousarray(op.data, dtype=np.complex128).ravel()
        entries = data_entries(op)
        if flat.size != entries:
            if flat.size != batch * entries:
                raise ValueError(f"op data has {flat.size} entries, not {entries} or {batch}x that")
            row[layout["kDataBatchStride"]] = entries
        chunks.append(flat)
        offset += flat.size
    data = np.concatenate(chunks) if chunks else np.zeros(1, dtype=np.complex128)
    return EncodedProgram(
        rows=rows,
        data=data,
        kinds=tuple(op.kind for op in ops),
        num_targets=tuple(len(op.targets) for op in ops),
        num_sorted=tuple(len(sorted_positions(op)) for op in ops),
    )

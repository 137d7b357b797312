"""Encoding of gate ops into the op buffer and data buffer that the kernels read.

The row layout is defined once, in ``kernels/include/op_layout.cuh``; this module reads
its constants from that file's text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qiskit_cupy.kernel_source import read_kernel_file
from qiskit_cupy.ops import GateOp, OpKind

_CONSTANT = re.compile(r"^\s*constexpr\s+index_t\s+(k\w+)\s*=\s*(\d+)\s*;", re.MULTILINE)


def _read_op_layout() -> dict[str, int]:
    """Parse the ``constexpr index_t kName = value;`` lines of op_layout.cuh."""
    text = read_kernel_file("include/op_layout.cuh")
    return {name: int(value) for name, value in _CONSTANT.findall(text)}


#: Every constant of op_layout.cuh, by name.
OP_LAYOUT: dict[str, int] = _read_op_layout()

#: The op kind constant of each OpKind.
KIND_CODES: dict[OpKind, int] = {
    OpKind.DENSE: OP_LAYOUT["kDense"],
    OpKind.DIAGONAL: OP_LAYOUT["kDiagonal"],
    OpKind.PERMUTATION: OP_LAYOUT["kPermutationKind"],
    OpKind.WIDE_DIAGONAL: OP_LAYOUT["kWideDiagonal"],
}

#: The op_layout.cuh constant name of each OpKind, which names its kernel body.
KIND_NAMES: dict[OpKind, str] = {
    OpKind.DENSE: "kDense",
    OpKind.DIAGONAL: "kDiagonal",
    OpKind.PERMUTATION: "kPermutationKind",
    OpKind.WIDE_DIAGONAL: "kWideDiagonal",
}


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

    Dense and permutation items own every amplitude the matrix mixes, so their targets
    and controls are fixed; a diagonal item owns one amplitude, so only controls are.
    """
    diagonal = op.kind in (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL)
    fixed = op.controls if diagonal else op.controls + op.targets
    return tuple(sorted(fixed))


def data_entries(op: GateOp) -> int:
    """Complex entries of one state's data of ``op``: 4^k for dense, 2^k otherwise."""
    return 1 << (2 * len(op.targets) if op.kind is OpKind.DENSE else len(op.targets))


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
        row[layout["kKind"]] = KIND_CODES[op.kind]
        row[layout["kNumTargets"]] = len(op.targets)
        row[layout["kNumSorted"]] = len(positions)
        row[layout["kDataOffset"]] = offset
        row[layout["kControlValue"]] = sum(
            ((op.control_values >> i) & 1) << qubit for i, qubit in enumerate(op.controls)
        )
        row[layout["kTargetMask"]] = sum(1 << qubit for qubit in op.targets)
        row[layout["kTargets"] : layout["kTargets"] + len(op.targets)] = op.targets
        row[layout["kSorted"] : layout["kSorted"] + len(positions)] = positions
        if op.kind is OpKind.PERMUTATION:
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

"""The GPU's program segments: which consecutive ops run as one blocked launch.

A program is split once, when it is uploaded, into blocked runs (at least
:data:`MIN_BLOCKED_OPS` consecutive ops whose every qubit lies below the block width of
``qc_apply_blocked_run``, applied block by block in shared memory) and the ops between
them, launched one by one (``devices/gpu.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qiskit_cupy.compiler.op_registry import OP_LAYOUT
from qiskit_cupy.devices.kernel_source import BLOCK_BITS

#: The fewest consecutive ops a blocked run takes: one op is one pass over the states anyway.
MIN_BLOCKED_OPS = 2


@dataclass(frozen=True)
class ProgramSegment:
    """Consecutive ops of a program that run the same way.

    Attributes:
        start: The first op's index.
        stop: One past the last op's index.
        blocked: The ops run as one ``qc_apply_blocked_run`` (every qubit of each lies
            below the block width, and there are at least :data:`MIN_BLOCKED_OPS`); otherwise
            each runs as its own ``qc_apply_op``.
        highest_qubit: The highest qubit any of the ops reads or writes.
    """

    start: int
    stop: int
    blocked: bool
    highest_qubit: int


def highest_qubits(rows: np.ndarray) -> np.ndarray:
    """The highest qubit each op row reads or writes: its targets and sorted positions.

    Args:
        rows: Encoded op rows, int64, one op per row.

    Returns:
        One int64 per row; -1 for a row of no qubits.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, OP_LAYOUT["kOpWidth"])
    highest = np.full(len(rows), -1, dtype=np.int64)
    fields = (
        ("kNumTargets", "kTargets", "kSorted"),
        ("kNumSorted", "kSorted", "kPermutation"),
    )
    for count_at, first, end in fields:
        slots = rows[:, OP_LAYOUT[first] : OP_LAYOUT[end]]
        used = np.arange(slots.shape[1]) < rows[:, OP_LAYOUT[count_at], None]
        highest = np.maximum(highest, np.where(used, slots, -1).max(axis=1, initial=-1))
    return highest


def program_segments(rows: np.ndarray, block_bits: int) -> tuple[ProgramSegment, ...]:
    """Split a program into blocked runs and ops launched one by one.

    A blocked run is a longest stretch of at least :data:`MIN_BLOCKED_OPS` consecutive
    ops whose every qubit lies below ``block_bits``; the ops between runs form segments
    of their own. Computed once per program (when it is uploaded); whether a run is
    launched blocked also needs states wider than ``block_bits`` (``launches.blocked_run``).

    Args:
        rows: The encoded op rows, on the host.
        block_bits: Width of the blocks of ``qc_apply_blocked_run``.

    Returns:
        The segments, in order, covering every op once.
    """
    highest = highest_qubits(rows)
    fits = highest < block_bits

    def segment(start: int, stop: int, blocked: bool) -> ProgramSegment:
        return ProgramSegment(start, stop, blocked, int(highest[start:stop].max()))

    segments: list[ProgramSegment] = []
    loose = 0  # the first op not yet in a segment
    index = 0
    while index < len(fits):
        if not fits[index]:
            index += 1
            continue
        stop = index
        while stop < len(fits) and fits[stop]:
            stop += 1
        if stop - index >= MIN_BLOCKED_OPS:
            if loose < index:
                segments.append(segment(loose, index, False))
            segments.append(segment(index, stop, True))
            loose = stop
        index = stop
    if loose < len(fits):
        segments.append(segment(loose, len(fits), False))
    return tuple(segments)


def segment_passes(segments: tuple[ProgramSegment, ...], num_qubits: int, precision: str) -> int:
    """The passes over the states the segments make: one per blocked run (on states wider
    than a block, where the run is launched blocked), one per other op."""
    blocks = num_qubits > BLOCK_BITS[precision]
    return sum(1 if segment.blocked and blocks else segment.stop - segment.start for segment in segments)

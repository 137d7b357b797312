"""The simulator's intermediate representation: one gate op on a state.

Lowering (``lowering.py``) produces these ops from a circuit, fusion (``fusion.py``)
merges them, and ``program.py`` encodes them into the buffers the kernels read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from qiskit_cupy.errors import UnsupportedInstructionError

#: Largest number of targets of a dense or diagonal op (kMaxTargets in op_layout.cuh).
MAX_TARGETS = 5
#: Largest number of targets of a permutation op (kMaxPermutationTargets).
MAX_PERMUTATION_TARGETS = 2
#: Largest number of targets of a wide diagonal op (kMaxWideTargets).
MAX_WIDE_TARGETS = 16


class OpKind(enum.Enum):
    """How an op's data acts on the amplitudes of its targets."""

    DENSE = "dense"
    DIAGONAL = "diagonal"
    PERMUTATION = "permutation"
    WIDE_DIAGONAL = "wide_diagonal"


@dataclass(frozen=True, eq=False)
class GateOp:
    """A matrix on target qubits, applied where the control qubits hold given values.

    Attributes:
        kind: How ``data`` is read.
        targets: Target qubits; target j is bit j of the matrix index (Qiskit order).
        data: The 2^k x 2^k matrix (dense), its 2^k diagonal (diagonal and wide
            diagonal, whose targets are ascending), or the phase of each input basis
            state (permutation).
        controls: Control qubits, disjoint from the targets.
        control_values: Bit i is the value control i must hold.
        permutation: For permutation ops, the image of each input basis state.
    """

    kind: OpKind
    targets: tuple[int, ...]
    data: np.ndarray
    controls: tuple[int, ...] = ()
    control_values: int = 0
    permutation: tuple[int, ...] = field(default=())

    @property
    def qubits(self) -> tuple[int, ...]:
        """Every qubit the op reads: controls and targets."""
        return self.controls + self.targets

    def dense_matrix(self) -> np.ndarray:
        """Return the op's action on its targets as a dense matrix (controls excluded).

        Returns:
            A complex 2^k x 2^k matrix.
        """
        if self.kind is OpKind.DENSE:
            return self.data
        if self.kind in (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL):
            return np.diag(self.data)
        dim = len(self.permutation)
        matrix = np.zeros((dim, dim), dtype=complex)
        matrix[list(self.permutation), list(range(dim))] = self.data
        return matrix


def ops_from_matrix(
    matrix: np.ndarray,
    targets: tuple[int, ...],
    controls: tuple[int, ...] = (),
    control_values: int | None = None,
    name: str = "unitary",
) -> list[GateOp]:
    """Build the cheapest ops that apply ``matrix`` exactly.

    Args:
        matrix: Square matrix on the targets, Qiskit (little-endian) index order.
        targets: Target qubits.
        controls: Control qubits.
        control_values: Required control values, bit i for control i (all ones if None).
        name: Instruction name, for error messages.

    Returns:
        Qubits on which the matrix acts as a control (it does not mix their values and
        is the identity for one of them) become controls, and qubits on which it acts
        trivially are dropped. Then: one diagonal op if the matrix is diagonal (a diagonal on more than MAX_TARGETS
        qubits becomes one op per value of the extra qubits, which act as controls), one
        permutation op if it has one nonzero per row and column (up to two targets), one
        dense op otherwise.

    Raises:
        UnsupportedInstructionError: A non-diagonal matrix has more than MAX_TARGETS
            targets.
    """
    matrix = np.asarray(matrix, dtype=complex)
    values = (1 << len(controls)) - 1 if control_values is None else control_values
    nonzero = np.abs(matrix) > _STRUCTURE_TOLERANCE
    if np.count_nonzero(nonzero) == np.count_nonzero(np.diagonal(nonzero)):
        return diagonal_ops(np.diagonal(matrix), targets, controls, values)
    matrix, targets, controls, values = _factor_out_controls(matrix, targets, controls, values)
    nonzero = matrix != 0
    if (
        len(targets) <= MAX_PERMUTATION_TARGETS
        and (nonzero.sum(axis=0) == 1).all()
        and (nonzero.sum(axis=1) == 1).all()
    ):
        rows = nonzero.argmax(axis=0)
        phases = matrix[rows, np.arange(matrix.shape[1])]
        permutation = tuple(int(row) for row in rows)
        return [GateOp(OpKind.PERMUTATION, targets, phases, controls, values, permutation)]
    if len(targets) > MAX_TARGETS:
        raise UnsupportedInstructionError(
            f"'{name}' acts on {len(targets)} target qubits; at most {MAX_TARGETS} are "
            "supported for a non-diagonal matrix"
        )
    return [GateOp(OpKind.DENSE, targets, matrix.copy(), controls, values)]


#: Largest entry treated as zero, and largest deviation from one treated as one, when
#: looking for controls in a matrix.
_STRUCTURE_TOLERANCE = 1e-14


def _factor_out_controls(
    matrix: np.ndarray, targets: tuple[int, ...], controls: tuple[int, ...], values: int
) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...], int]:
    """Move target qubits that act as controls to the controls; drop spectator qubits.

    Returns:
        The reduced matrix, the remaining targets, the controls and their values.
    """
    bit = 0
    while bit < len(targets) and len(targets) > 1:
        indices = np.arange(matrix.shape[0])
        low = indices[(indices >> bit) & 1 == 0]
        high = indices[(indices >> bit) & 1 == 1]
        mixes = np.abs(matrix[np.ix_(low, high)]).max() > _STRUCTURE_TOLERANCE or (
            np.abs(matrix[np.ix_(high, low)]).max() > _STRUCTURE_TOLERANCE
        )
        block_low, block_high = matrix[np.ix_(low, low)], matrix[np.ix_(high, high)]
        identity = np.eye(len(low))
        remaining = targets[:bit] + targets[bit + 1 :]
        if mixes:
            bit += 1
        elif np.allclose(block_low, block_high, rtol=0, atol=_STRUCTURE_TOLERANCE):
            matrix, targets = block_low, remaining
        elif np.allclose(block_high, identity, rtol=0, atol=_STRUCTURE_TOLERANCE):
            matrix, targets, controls = block_low, remaining, controls + (targets[bit],)
        elif np.allclose(block_low, identity, rtol=0, atol=_STRUCTURE_TOLERANCE):
            values |= 1 << len(controls)
            matrix, targets, controls = block_high, remaining, controls + (targets[bit],)
        else:
            bit += 1
    return matrix, targets, controls, values


def diagonal_ops(
    diagonal: np.ndarray, targets: tuple[int, ...], controls: tuple[int, ...] = (), values: int = 0
) -> list[GateOp]:
    """Build the ops that multiply amplitudes by a diagonal.

    Spectator qubits are dropped and qubits on which the diagonal is one for one value
    become controls. Up to MAX_TARGETS remaining targets give a diagonal op, up to
    MAX_WIDE_TARGETS a wide diagonal op (targets ascending); beyond that, the highest
    targets act as controls of one wide op per value they can hold.

    Args:
        diagonal: The 2^k diagonal entries; bit j of an entry's index is targets[j].
        targets: Target qubits.
        controls: Control qubits.
        values: Required control values, bit i for control i.

    Returns:
        The ops, which commute with each other.
    """
    diagonal, targets, controls, values = _factor_diagonal(
        np.asarray(diagonal, dtype=complex), targets, controls, values
    )
    if len(targets) <= MAX_TARGETS:
        return [GateOp(OpKind.DIAGONAL, targets, diagonal, controls, values)]
    diagonal, targets = _ascending(diagonal, targets)
    if len(targets) <= MAX_WIDE_TARGETS:
        return [GateOp(OpKind.WIDE_DIAGONAL, targets, diagonal, controls, values)]
    kept, extra = targets[:MAX_WIDE_TARGETS], targets[MAX_WIDE_TARGETS:]
    block = 1 << MAX_WIDE_TARGETS
    return [
        GateOp(
            OpKind.WIDE_DIAGONAL,
            kept,
            diagonal[value * block : (value + 1) * block].copy(),
            controls + extra,
            values | (value << len(controls)),
        )
        for value in range(1 << len(extra))
    ]


def _factor_diagonal(
    diagonal: np.ndarray, targets: tuple[int, ...], controls: tuple[int, ...], values: int
) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...], int]:
    """Drop spectator targets of a diagonal and move control-like targets to controls."""
    bit = 0
    while bit < len(targets) and len(targets) > 1:
        pairs = diagonal.reshape(-1, 2, 1 << bit)
        low, high = pairs[:, 0, :].ravel(), pairs[:, 1, :].ravel()
        remaining = targets[:bit] + targets[bit + 1 :]
        if np.allclose(low, high, rtol=0, atol=_STRUCTURE_TOLERANCE):
            diagonal, targets = low, remaining
        elif np.allclose(high, 1, rtol=0, atol=_STRUCTURE_TOLERANCE):
            diagonal, targets, controls = low, remaining, controls + (targets[bit],)
        elif np.allclose(low, 1, rtol=0, atol=_STRUCTURE_TOLERANCE):
            values |= 1 << len(controls)
            diagonal, targets, controls = high, remaining, controls + (targets[bit],)
        else:
            bit += 1
    return diagonal, targets, controls, values


def _ascending(diagonal: np.ndarray, targets: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Reorder a diagonal's entries so that its targets are ascending."""
    count = len(targets)
    order = sorted(range(count), key=lambda bit: targets[bit])
    tensor = diagonal.reshape((2,) * count)
    axes = [count - 1 - order[count - 1 - axis] for axis in range(count)]
    return tensor.transpose(axes).reshape(-1), tuple(targets[bit] for bit in order)

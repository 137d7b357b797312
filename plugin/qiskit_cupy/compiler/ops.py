"""The simulator's intermediate representation: one gate op on a state.

Lowering (``lowering.py``) produces these ops from a circuit, fusion (``fusion.py``)
merges them, and ``program.py`` encodes them into the buffers the kernels read. The
kinds and their limits come from the op-kind registry (``op_registry.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from qiskit_cupy.compiler.op_registry import OP_KINDS


class OpKind(enum.Enum):
    """How an op's data acts on the amplitudes of its targets.

    A kind the kernels run has as its value the name of its entry in the op-kind
    registry (``op_layout.cuh``, read by ``op_registry.py``).
    """

    DENSE = "kDense"
    DIAGONAL = "kDiagonal"
    PERMUTATION = "kPermutationKind"
    WIDE_DIAGONAL = "kWideDiagonal"
    #: A dense matrix wider than the kernels' dense bodies, applied through the
    #: device's BLAS (``devices/wide_matrix.py``) instead of the op program.
    WIDE_DENSE = "wide_dense"

    @property
    def in_registry(self) -> bool:
        """Whether the op kernels run this kind (every kind but WIDE_DENSE)."""
        return self.value in OP_KINDS


#: Largest number of targets of a dense or diagonal op.
MAX_TARGETS = OP_KINDS[OpKind.DENSE.value].max_targets
#: Largest number of targets of a permutation op.
MAX_PERMUTATION_TARGETS = OP_KINDS[OpKind.PERMUTATION.value].max_targets
#: Largest number of targets of a wide diagonal op.
MAX_WIDE_TARGETS = OP_KINDS[OpKind.WIDE_DIAGONAL.value].max_targets
#: The permutation of a SWAP: input basis state j goes to j with its two bits exchanged.
SWAP_PERMUTATION = (0, 2, 1, 3)


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
        source: Where each entry of ``data`` came from in the matrix it was built
            from (flat indices), so that the same op can be rebuilt for other parameter
            values without repeating the analysis.
    """

    kind: OpKind
    targets: tuple[int, ...]
    data: np.ndarray
    controls: tuple[int, ...] = ()
    control_values: int = 0
    permutation: tuple[int, ...] = field(default=())
    source: np.ndarray | None = None

    @property
    def qubits(self) -> tuple[int, ...]:
        """Every qubit the op reads: controls and targets."""
        return self.controls + self.targets

    def dense_matrix(self) -> np.ndarray:
        """Return the op's action on its targets as a dense matrix (controls excluded).

        Returns:
            A complex 2^k x 2^k matrix.
        """
        if self.kind in (OpKind.DENSE, OpKind.WIDE_DENSE):
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
    source: np.ndarray | None = None,
) -> list[GateOp]:
    """Build the cheapest ops that apply ``matrix`` exactly.

    Qubits on which the matrix acts as a control (it does not mix their values and is
    the identity for one of them) become controls, and qubits on which it acts
    trivially are dropped. Then: diagonal ops if the matrix is diagonal (see
    :func:`diagonal_ops`), one permutation op if it has one nonzero per row and column
    (up to two targets), one dense op otherwise.

    Args:
        matrix: Square matrix on the targets, Qiskit (little-endian) index order.
        targets: Target qubits.
        controls: Control qubits.
        control_values: Required control values, bit i for control i (all ones if None).
        name: Instruction name, for error messages.
        source: For each matrix entry, where it comes from (an index into some other
            array); each op's ``source`` then says where each of its data entries comes
            from. Defaults to the entries' flat indices in ``matrix``.

    Returns:
        The ops.

    A non-diagonal matrix with more than MAX_TARGETS targets left becomes one
    WIDE_DENSE op.
    """
    matrix = np.asarray(matrix, dtype=complex)
    if source is None:
        source = np.arange(matrix.size).reshape(matrix.shape)
    values = (1 << len(controls)) - 1 if control_values is None else control_values
    nonzero = np.abs(matrix) > _STRUCTURE_TOLERANCE
    if np.count_nonzero(nonzero) == np.count_nonzero(np.diagonal(nonzero)):
        return diagonal_ops(np.diagonal(matrix), targets, controls, values, np.diagonal(source))
    matrix, source, targets, controls, values = _factor_out_controls(
        matrix, source, targets, controls, values
    )
    nonzero = matrix != 0
    if (
        len(targets) <= MAX_PERMUTATION_TARGETS
        and (nonzero.sum(axis=0) == 1).all()
        and (nonzero.sum(axis=1) == 1).all()
    ):
        rows = nonzero.argmax(axis=0)
        columns = np.arange(matrix.shape[1])
        permutation = tuple(int(row) for row in rows)
        return [
            GateOp(
                OpKind.PERMUTATION,
                targets,
                matrix[rows, columns],
                controls,
                values,
                permutation,
                source[rows, columns],
            )
        ]
    kind = OpKind.DENSE if len(targets) <= MAX_TARGETS else OpKind.WIDE_DENSE
    return [GateOp(kind, targets, matrix.copy(), controls, values, (), source.copy())]


#: Largest entry treated as zero, and largest deviation from one treated as one, when
#: looking for controls in a matrix.
_STRUCTURE_TOLERANCE = 1e-14


def _factor_out_controls(
    matrix: np.ndarray,
    source: np.ndarray,
    targets: tuple[int, ...],
    controls: tuple[int, ...],
    values: int,
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], tuple[int, ...], int]:
    """Move target qubits that act as controls to the controls; drop spectator qubits.

    Returns:
        The reduced matrix and its sources, the remaining targets, the controls and
        their values.
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
        kept = None
        if mixes:
            bit += 1
        elif np.allclose(block_low, block_high, rtol=0, atol=_STRUCTURE_TOLERANCE):
            kept, targets = low, remaining
        elif np.allclose(block_high, identity, rtol=0, atol=_STRUCTURE_TOLERANCE):
            kept, targets, controls = low, remaining, controls + (targets[bit],)
        elif np.allclose(block_low, identity, rtol=0, atol=_STRUCTURE_TOLERANCE):
            values |= 1 << len(controls)
            kept, targets, controls = high, remaining, controls + (targets[bit],)
        else:
            bit += 1
        if kept is not None:
            matrix, source = matrix[np.ix_(kept, kept)], source[np.ix_(kept, kept)]
    return matrix, source, targets, controls, values


def diagonal_ops(
    diagonal: np.ndarray,
    targets: tuple[int, ...],
    controls: tuple[int, ...] = (),
    values: int = 0,
    source: np.ndarray | None = None,
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
        source: Where each entry comes from (see :func:`ops_from_matrix`); defaults to
            the entries' indices.

    Returns:
        The ops, which commute with each other.
    """
    diagonal = np.asarray(diagonal, dtype=complex)
    source = np.arange(diagonal.size) if source is None else source
    diagonal, source, targets, controls, values = _factor_diagonal(
        diagonal, source, targets, controls, values
    )
    if len(targets) <= MAX_TARGETS:
        return [GateOp(OpKind.DIAGONAL, targets, diagonal, controls, values, (), source)]
    order = ascending_order(targets)
    diagonal, source = diagonal[order], source[order]
    targets = tuple(sorted(targets))
    if len(targets) <= MAX_WIDE_TARGETS:
        return [GateOp(OpKind.WIDE_DIAGONAL, targets, diagonal, controls, values, (), source)]
    kept, extra = targets[:MAX_WIDE_TARGETS], targets[MAX_WIDE_TARGETS:]
    block = 1 << MAX_WIDE_TARGETS
    return [
        GateOp(
            OpKind.WIDE_DIAGONAL,
            kept,
            diagonal[value * block : (value + 1) * block].copy(),
            controls + extra,
            values | (value << len(controls)),
            (),
            source[value * block : (value + 1) * block].copy(),
        )
        for value in range(1 << len(extra))
    ]


def _factor_diagonal(
    diagonal: np.ndarray,
    source: np.ndarray,
    targets: tuple[int, ...],
    controls: tuple[int, ...],
    values: int,
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], tuple[int, ...], int]:
    """Drop spectator targets of a diagonal and move control-like targets to controls."""
    bit = 0
    while bit < len(targets) and len(targets) > 1:
        indices = np.arange(diagonal.size)
        low = indices[(indices >> bit) & 1 == 0]
        high = indices[(indices >> bit) & 1 == 1]
        remaining = targets[:bit] + targets[bit + 1 :]
        kept = None
        if np.allclose(diagonal[low], diagonal[high], rtol=0, atol=_STRUCTURE_TOLERANCE):
            kept, targets = low, remaining
        elif np.allclose(diagonal[high], 1, rtol=0, atol=_STRUCTURE_TOLERANCE):
            kept, targets, controls = low, remaining, controls + (targets[bit],)
        elif np.allclose(diagonal[low], 1, rtol=0, atol=_STRUCTURE_TOLERANCE):
            values |= 1 << len(controls)
            kept, targets, controls = high, remaining, controls + (targets[bit],)
        else:
            bit += 1
        if kept is not None:
            diagonal, source = diagonal[kept], source[kept]
    return diagonal, source, targets, controls, values


def ascending_order(targets: tuple[int, ...]) -> np.ndarray:
    """The entry order that makes a diagonal's targets ascending.

    Entry j' of the reordered diagonal is entry ``order[j']`` of the original, where
    bit b' of j' is the value of the b'-th smallest target.
    """
    count = len(targets)
    ranked = sorted(range(count), key=lambda bit: targets[bit])
    indices = np.arange(1 << count)
    order = np.zeros(1 << count, dtype=np.int64)
    for new_bit, old_bit in enumerate(ranked):
        order |= ((indices >> new_bit) & 1) << old_bit
    return order

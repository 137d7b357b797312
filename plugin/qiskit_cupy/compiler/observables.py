"""Observables lowered to the pieces the expectation kernel sums, sharing passes.

A term of a ``SparseObservable`` is a tensor product of single-qubit factors I, X, Y, Z
and the projectors 0, 1, +, -, r, l. In the computational basis its matrix elements are
nonzero only between i and i ^ flip, and each is a product of per-qubit factors that
depend on bit i_q alone:

==========  =====================  ==================
factor      not flipped (j_q=i_q)  flipped (j_q≠i_q)
==========  =====================  ==================
X           —                      1
Y           —                      -i (-1)^i_q
Z           (-1)^i_q               —
0, 1        [i_q = 0], [i_q = 1]   —
+, -        1/2                    1/2, -1/2
r, l        1/2                    -i/2 (-1)^i_q, i/2 (-1)^i_q
==========  =====================  ==================

so a term is a sum of *pieces* (flip mask, sign mask, condition mask and value, complex
weight) that ``kernels/include/expectation.cuh`` evaluates: Paulis and the projectors 0
and 1 give one piece, and each of +, -, r, l doubles the count. Equal pieces of all the
observables of a PUB are evaluated once, and pieces with the same flip mask (the X/Y
pattern) share one pass over the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from qiskit.quantum_info import SparseObservable

from qiskit_cupy.errors import InvalidCircuitError

#: Most pieces one pass evaluates (``kPiecesPerPass`` in ``expectation.cuh``).
PIECES_PER_PASS = 8

#: Most pieces one term may expand to (2 per factor +, -, r or l): beyond it, a term
#: would cost more passes over the state than is reasonable, and is refused.
MAX_PIECES_PER_TERM = 1 << 12

#: A piece's key: (flip mask, sign mask, condition mask, condition value).
PieceKey = tuple[int, int, int, int]

#: For each factor letter, its (flip, weight, sign) choices: whether it flips the
#: qubit, its complex weight and whether it adds (-1)^i_q. 0 and 1 are conditions.
_CHOICES: dict[str, tuple[tuple[bool, complex, bool], ...]] = {
    "X": ((True, 1, False),),
    "Y": ((True, -1j, True),),
    "Z": ((False, 1, True),),
    "+": ((False, 0.5, False), (True, 0.5, False)),
    "-": ((False, 0.5, False), (True, -0.5, False)),
    "r": ((False, 0.5, False), (True, -0.5j, True)),
    "l": ((False, 0.5, False), (True, 0.5j, True)),
}


@dataclass(frozen=True)
class ObservablePieces:
    """Observables as the expectation kernel takes them.

    Attributes:
        passes: int64 rows (flip mask, first piece, piece count), covering the pieces in
            order, at most PIECES_PER_PASS pieces each.
        pieces: int64 rows (sign mask, condition mask, condition value).
        weights: complex128 (observables, pieces): each observable as a sum of pieces.
    """

    passes: np.ndarray
    pieces: np.ndarray
    weights: np.ndarray

    def values(self, sums: np.ndarray) -> np.ndarray:
        """Return each observable's expectation value per state.

        Args:
            sums: The kernel's sums, float64 (pieces, batch, 2).

        Returns:
            float64 (observables, batch): the real parts (the observables are Hermitian).

        The weighted sums run over the pieces in order, in separate real
        multiplications and additions (a matrix product rounds by the shape of its
        operands): a state's values do not depend on the batch it ran in.
        """
        values = np.zeros((len(self.weights), sums.shape[1]))
        for weights, piece in zip(self.weights.T, sums):
            rows = np.flatnonzero(weights)
            real, imag = weights.real[rows, None], weights.imag[rows, None]
            values[rows] += real * piece[None, :, 0] - imag * piece[None, :, 1]
        return values

    def groups(self, max_pieces: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Split the tables, at pass boundaries, into groups of at most ``max_pieces``
        pieces (at least one pass each); each group's passes count from its first piece.

        Returns:
            (passes, pieces) of each group, in order: their pieces concatenated are
            ``self.pieces``.
        """
        groups = []
        start = 0
        while start < len(self.passes):
            first = int(self.passes[start, 1])
            stop = start + 1
            while (
                stop < len(self.passes) and self.passes[stop, 1] + self.passes[stop, 2] - first <= max_pieces
            ):
                stop += 1
            passes = self.passes[start:stop].copy()
            passes[:, 1] -= first
            last = int(passes[-1, 1] + passes[-1, 2])
            groups.append((passes, self.pieces[first : first + last]))
            start = stop
        return groups


@dataclass(frozen=True)
class EvaluateObservables:
    """A point in the program where observable pieces are evaluated on the states; the
    sums are kept under ``label`` (one host copy per group of pieces, in order)."""

    label: str
    pieces: ObservablePieces


def lower_observables(
    observables: Iterable[SparseObservable], qubits: Sequence[int], where: str
) -> ObservablePieces:
    """Lower observables on the circuit's qubits to shared pieces and passes.

    Args:
        observables: The observables, each on ``len(qubits)`` qubits.
        qubits: The circuit qubit that each observable qubit acts on.
        where: Names the PUB in errors.

    Returns:
        The pieces, passes and weights.

    Raises:
        InvalidCircuitError: A coefficient is not finite or a term has too many of the
            projectors +, -, r, l.
    """
    weights_by_observable: list[dict[PieceKey, complex]] = []
    for observable in observables:
        weights: dict[PieceKey, complex] = {}
        for label, indices, coefficient in observable.to_sparse_list():
            if not np.isfinite(coefficient):
                raise InvalidCircuitError(f"{where}: an observable coefficient is {coefficient}")
            for key, weight in _term_pieces(label, [qubits[index] for index in indices], where):
                weights[key] = weights.get(key, 0) + coefficient * weight
        weights_by_observable.append(weights)
    return _tables(weights_by_observable)


def pauli_pieces(terms: Sequence[tuple[int, int, int]]) -> ObservablePieces:
    """Lower Pauli terms (x mask, z mask, number of Y) to one observable per term.

    ``P = i^num_y X^x Z^z``, whose elements are ``i^num_y (-1)^parity((i ^ x) & z)``.
    """
    weights = []
    for x_mask, z_mask, num_y in terms:
        phase = 1j**num_y * (-1) ** (bin(x_mask & z_mask).count("1") & 1)
        weights.append({(x_mask, z_mask, 0, 0): phase})
    return _tables(weights)


def _term_pieces(label: str, qubits: list[int], where: str) -> list[tuple[PieceKey, complex]]:
    """Expand one term (letters on circuit qubits) into (piece key, weight) pairs."""
    expanding = sum(letter in "+-rl" for letter in label)
    if 1 << expanding > MAX_PIECES_PER_TERM:
        raise InvalidCircuitError(
            f"{where}: a term has {expanding} of the projectors +, -, r, l; at most "
            f"{MAX_PIECES_PER_TERM.bit_length() - 1} are evaluated natively"
        )
    pieces: list[tuple[PieceKey, complex]] = [((0, 0, 0, 0), 1 + 0j)]
    for letter, qubit in zip(label, qubits):
        bit = 1 << qubit
        if letter in "01":
            value = bit if letter == "1" else 0
            pieces = [((f, s, c | bit, v | value), w) for (f, s, c, v), w in pieces]
            continue
        pieces = [
            ((f | (bit if flips else 0), s ^ (bit if signs else 0), c, v), w * weight)
            for (f, s, c, v), w in pieces
            for flips, weight, signs in _CHOICES[letter]
        ]
    return pieces


def _tables(weights_by_observable: list[dict[PieceKey, complex]]) -> ObservablePieces:
    """Order the distinct pieces by flip mask, cut passes, and lay out the weights."""
    keys = sorted({key for weights in weights_by_observable for key in weights})
    column = {key: index for index, key in enumerate(keys)}
    matrix = np.zeros((len(weights_by_observable), len(keys)), dtype=np.complex128)
    for row, weights in enumerate(weights_by_observable):
        for key, weight in weights.items():
            matrix[row, column[key]] = weight
    passes = []
    start = 0
    while start < len(keys):
        stop = start + 1
        while stop < len(keys) and stop - start < PIECES_PER_PASS and keys[stop][0] == keys[start][0]:
            stop += 1
        passes.append((keys[start][0], start, stop - start))
        start = stop
    pieces = np.array([key[1:] for key in keys], dtype=np.int64).reshape(-1, 3)
    return ObservablePieces(np.array(passes, dtype=np.int64).reshape(-1, 3), pieces, matrix)

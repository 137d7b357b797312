"""Op construction from matrices (``compiler/ops.py``) against independent references.

Every case checks the structure the ops were given (kind, targets, controls and their
values) and that the ops, multiplied back into one matrix on the input's qubits, equal
the input. The references are Qiskit's gate matrices (``qiskit.quantum_info.Operator``)
and NumPy; the re-expansion uses only ``GateOp.dense_matrix()``, the controls, the
control values and the targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import (
    CCXGate,
    CPhaseGate,
    CRYGate,
    CSwapGate,
    CUGate,
    CXGate,
    CZGate,
    RYGate,
    RZGate,
    RZZGate,
    SwapGate,
    XGate,
    YGate,
    iSwapGate,
)
from qiskit.quantum_info import Operator, random_unitary

from qiskit_cupy.compiler.ops import (
    MAX_PERMUTATION_TARGETS,
    MAX_TARGETS,
    MAX_WIDE_TARGETS,
    GateOp,
    OpKind,
    diagonal_ops,
    ops_from_matrix,
)

ATOL = 1e-13


# --------------------------------------------------------------------------- helpers


def gate_matrix(gate: object) -> np.ndarray:
    """The matrix of a Qiskit gate or circuit, Qiskit (little-endian) order."""
    return Operator(gate).data


def controlled(matrix: np.ndarray, num_controls: int, values: int | None = None) -> np.ndarray:
    """``matrix`` controlled on the low ``num_controls`` bits holding ``values``."""
    values = (1 << num_controls) - 1 if values is None else values
    dim = len(matrix)
    out = np.eye(dim << num_controls, dtype=complex)
    indices = values + (np.arange(dim) << num_controls)
    out[np.ix_(indices, indices)] = matrix
    return out


def random_phases(count: int, seed: int) -> np.ndarray:
    """``count`` random unit-modulus complex numbers."""
    return np.exp(2j * np.pi * np.random.default_rng(seed).random(count))


def gather(indices: np.ndarray, positions: Sequence[int]) -> np.ndarray:
    """Bit b of the result is bit ``positions[b]`` of each index."""
    out = np.zeros_like(indices)
    for bit, position in enumerate(positions):
        out |= ((indices >> position) & 1) << bit
    return out


def deposit(values: np.ndarray, positions: Sequence[int]) -> np.ndarray:
    """Bit ``positions[b]`` of the result is bit b of each value."""
    out = np.zeros_like(values)
    for bit, position in enumerate(positions):
        out |= ((values >> bit) & 1) << position
    return out


def control_pattern(op: GateOp, bit_of: dict[int, int]) -> tuple[int, int]:
    """The mask of the op's control bits on the local qubits, and the values they need."""
    mask = sum(1 << bit_of[control] for control in op.controls)
    value = sum(((op.control_values >> i) & 1) << bit_of[control] for i, control in enumerate(op.controls))
    return mask, value


def op_full_matrix(op: GateOp, qubits: Sequence[int]) -> np.ndarray:
    """The op's matrix on ``qubits`` (bit i of an index is ``qubits[i]``).

    Built from ``dense_matrix()`` on the targets, applied where the controls hold their
    values and the identity elsewhere.
    """
    bit_of = {qubit: i for i, qubit in enumerate(qubits)}
    target_bits = [bit_of[target] for target in op.targets]
    mask, value = control_pattern(op, bit_of)
    local = op.dense_matrix()
    dim = 1 << len(qubits)
    columns = np.arange(dim)
    active = columns[(columns & mask) == value]
    out = np.eye(dim, dtype=complex)
    out[np.ix_(active, active)] = 0
    target_mask = sum(1 << bit for bit in target_bits)
    column_entry = gather(active, target_bits)
    rest = active & ~target_mask
    for row_entry in range(len(local)):
        rows = rest | deposit(np.array(row_entry), target_bits)
        out[rows, active] = local[row_entry, column_entry]
    return out


def ops_full_matrix(ops: Sequence[GateOp], qubits: Sequence[int]) -> np.ndarray:
    """The product of the ops' matrices on ``qubits``, the first op applied first."""
    total = np.eye(1 << len(qubits), dtype=complex)
    for op in ops:
        total = op_full_matrix(op, qubits) @ total
    return total


def ops_full_diagonal(ops: Sequence[GateOp], qubits: Sequence[int]) -> np.ndarray:
    """The product of diagonal ops' diagonals on ``qubits`` (bit i is ``qubits[i]``)."""
    bit_of = {qubit: i for i, qubit in enumerate(qubits)}
    indices = np.arange(1 << len(qubits))
    total = np.ones(indices.size, dtype=complex)
    for op in ops:
        assert op.kind in (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL)
        mask, value = control_pattern(op, bit_of)
        entries = gather(indices, [bit_of[target] for target in op.targets])
        total *= np.where((indices & mask) == value, op.data[entries], 1)
    return total


def check_well_formed(op: GateOp) -> None:
    """The invariants every op holds, whatever it was built from."""
    k = len(op.targets)
    assert k >= 1
    assert len(set(op.targets)) == k
    assert len(set(op.controls)) == len(op.controls)
    assert not set(op.targets) & set(op.controls)
    assert 0 <= op.control_values < (1 << len(op.controls))
    if op.kind is OpKind.DENSE:
        assert k <= MAX_TARGETS and op.data.shape == (1 << k, 1 << k)
    elif op.kind is OpKind.WIDE_DENSE:
        assert k > MAX_TARGETS and op.data.shape == (1 << k, 1 << k)
    elif op.kind is OpKind.DIAGONAL:
        assert k <= MAX_TARGETS and op.data.shape == (1 << k,)
    elif op.kind is OpKind.WIDE_DIAGONAL:
        assert k <= MAX_WIDE_TARGETS and op.data.shape == (1 << k,)
        assert list(op.targets) == sorted(op.targets)
    else:
        assert op.kind is OpKind.PERMUTATION
        assert k <= MAX_PERMUTATION_TARGETS and op.data.shape == (1 << k,)
        assert sorted(op.permutation) == list(range(1 << k))
        assert np.allclose(np.abs(op.data), 1)


def control_map(op: GateOp) -> dict[int, int]:
    """Each control qubit of the op and the value it must hold."""
    return {control: (op.control_values >> i) & 1 for i, control in enumerate(op.controls)}


# ----------------------------------------------------------------- ops_from_matrix


@dataclass(frozen=True)
class Expected:
    """One expected op: its kind, targets (in order) and each control's value."""

    kind: OpKind
    targets: tuple[int, ...]
    controls: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MatrixCase:
    """A matrix, the qubits it is given on, and the ops it must become."""

    matrix: np.ndarray
    targets: tuple[int, ...]
    expected: tuple[Expected, ...]
    controls: tuple[int, ...] = ()
    control_values: int | None = None


def _flipped_cx() -> np.ndarray:
    """CX with its control on bit 1 and its target on bit 0."""
    circuit = QuantumCircuit(2)
    circuit.cx(1, 0)
    return gate_matrix(circuit)


def _monomial(num_targets: int, seed: int) -> np.ndarray:
    """A random permutation matrix times random phases."""
    rng = np.random.default_rng(seed)
    dim = 1 << num_targets
    matrix = np.zeros((dim, dim), dtype=complex)
    matrix[rng.permutation(dim), np.arange(dim)] = random_phases(dim, seed + 1)
    return matrix


def _diagonal_with_control_and_spectator() -> tuple[np.ndarray, tuple[int, ...]]:
    """A 7-target diagonal: bit 0 a spectator, bit 3 a control (value 1), 5 real targets."""
    indices = np.arange(1 << 7)
    reduced = random_phases(1 << 5, seed=17)
    diagonal = np.where((indices >> 3) & 1 == 1, reduced[gather(indices, [1, 2, 4, 5, 6])], 1)
    return diagonal, (8, 3, 12, 0, 5, 9, 2)


_CU = (0.3, 0.4, 0.5, 0.6)
_DIAG7, _DIAG7_TARGETS = _diagonal_with_control_and_spectator()

MATRIX_CASES: dict[str, MatrixCase] = {
    # permutations
    "x": MatrixCase(gate_matrix(XGate()), (3,), (Expected(OpKind.PERMUTATION, (3,)),)),
    "y-phased": MatrixCase(gate_matrix(YGate()), (0,), (Expected(OpKind.PERMUTATION, (0,)),)),
    "swap": MatrixCase(gate_matrix(SwapGate()), (2, 5), (Expected(OpKind.PERMUTATION, (2, 5)),)),
    "iswap": MatrixCase(gate_matrix(iSwapGate()), (1, 0), (Expected(OpKind.PERMUTATION, (1, 0)),)),
    "monomial2": MatrixCase(_monomial(2, 3), (4, 1), (Expected(OpKind.PERMUTATION, (4, 1)),)),
    # controls factored out of a full controlled matrix
    "cx": MatrixCase(gate_matrix(CXGate()), (4, 1), (Expected(OpKind.PERMUTATION, (1,), {4: 1}),)),
    "cx-ctrl0": MatrixCase(
        gate_matrix(CXGate(ctrl_state=0)), (0, 2), (Expected(OpKind.PERMUTATION, (2,), {0: 0}),)
    ),
    "cx-control-on-bit1": MatrixCase(_flipped_cx(), (5, 6), (Expected(OpKind.PERMUTATION, (5,), {6: 1}),)),
    "cry": MatrixCase(gate_matrix(CRYGate(0.7)), (2, 0), (Expected(OpKind.DENSE, (0,), {2: 1}),)),
    "cry-ctrl0": MatrixCase(
        gate_matrix(CRYGate(0.7, ctrl_state=0)), (1, 3), (Expected(OpKind.DENSE, (3,), {1: 0}),)
    ),
    "cu-ctrl0": MatrixCase(
        gate_matrix(CUGate(*_CU, ctrl_state=0)), (0, 1), (Expected(OpKind.DENSE, (1,), {0: 0}),)
    ),
    "cu-ctrl1": MatrixCase(
        gate_matrix(CUGate(*_CU, ctrl_state=1)), (7, 2), (Expected(OpKind.DENSE, (2,), {7: 1}),)
    ),
    "ccx": MatrixCase(gate_matrix(CCXGate()), (0, 1, 2), (Expected(OpKind.PERMUTATION, (2,), {0: 1, 1: 1}),)),
    "ccx-ctrl01": MatrixCase(
        gate_matrix(CCXGate(ctrl_state="01")),
        (6, 3, 9),
        (Expected(OpKind.PERMUTATION, (9,), {6: 1, 3: 0}),),
    ),
    "cswap": MatrixCase(gate_matrix(CSwapGate()), (0, 1, 2), (Expected(OpKind.PERMUTATION, (1, 2), {0: 1}),)),
    "controlled-dense5": MatrixCase(
        controlled(random_unitary(32, seed=5).data, 1, 0),
        (10, 0, 1, 2, 3, 4),
        (Expected(OpKind.DENSE, (0, 1, 2, 3, 4), {10: 0}),),
    ),
    "monomial3-is-dense": MatrixCase(_monomial(3, 8), (2, 0, 1), (Expected(OpKind.DENSE, (2, 0, 1)),)),
    # explicit controls, combined with factored ones
    "cx-with-given-control": MatrixCase(
        gate_matrix(CXGate()),
        (2, 3),
        (Expected(OpKind.PERMUTATION, (3,), {5: 0, 2: 1}),),
        controls=(5,),
        control_values=0,
    ),
    "ry-with-given-controls": MatrixCase(
        gate_matrix(RYGate(0.2)),
        (4,),
        (Expected(OpKind.DENSE, (4,), {0: 1, 6: 1}),),
        controls=(0, 6),
    ),
    # spectator qubits (kron with the identity) are dropped
    "spectator-bit0": MatrixCase(
        np.kron(gate_matrix(RYGate(0.9)), np.eye(2)), (3, 5), (Expected(OpKind.DENSE, (5,)),)
    ),
    "spectator-bit1": MatrixCase(
        np.kron(np.eye(2), gate_matrix(RYGate(0.9))), (3, 5), (Expected(OpKind.DENSE, (3,)),)
    ),
    "spectator-with-cx": MatrixCase(
        np.kron(gate_matrix(CXGate()), np.eye(2)),
        (7, 0, 4),
        (Expected(OpKind.PERMUTATION, (4,), {0: 1}),),
    ),
    "spectator-with-dense5": MatrixCase(
        np.kron(random_unitary(32, seed=6).data, np.eye(2)),
        (9, 1, 2, 3, 4, 5),
        (Expected(OpKind.DENSE, (1, 2, 3, 4, 5)),),
    ),
    # wide dense
    "wide-dense6": MatrixCase(
        random_unitary(64, seed=7).data,
        (5, 0, 4, 1, 3, 2),
        (Expected(OpKind.WIDE_DENSE, (5, 0, 4, 1, 3, 2)),),
    ),
    "wide-dense6-controlled": MatrixCase(
        controlled(random_unitary(64, seed=9).data, 1, 1),
        (7, 0, 1, 2, 3, 4, 5),
        (Expected(OpKind.WIDE_DENSE, (0, 1, 2, 3, 4, 5), {7: 1}),),
    ),
    # diagonals
    "cz": MatrixCase(gate_matrix(CZGate()), (3, 1), (Expected(OpKind.DIAGONAL, (1,), {3: 1}),)),
    "cphase-ctrl0": MatrixCase(
        gate_matrix(CPhaseGate(0.4, ctrl_state=0)),
        (0, 2),
        (Expected(OpKind.DIAGONAL, (2,), {0: 0}),),
    ),
    "ccz": MatrixCase(
        np.diag([1, 1, 1, 1, 1, 1, 1, -1]).astype(complex),
        (4, 6, 5),
        (Expected(OpKind.DIAGONAL, (5,), {4: 1, 6: 1}),),
    ),
    "rzz": MatrixCase(gate_matrix(RZZGate(0.5)), (4, 2), (Expected(OpKind.DIAGONAL, (4, 2)),)),
    "rz-spectator": MatrixCase(
        np.kron(gate_matrix(RZGate(0.5)), np.eye(2)), (0, 1), (Expected(OpKind.DIAGONAL, (1,)),)
    ),
    "diag3": MatrixCase(np.diag(random_phases(8, 1)), (5, 0, 3), (Expected(OpKind.DIAGONAL, (5, 0, 3)),)),
    "diag5": MatrixCase(
        np.diag(random_phases(32, 2)),
        (9, 4, 0, 7, 2),
        (Expected(OpKind.DIAGONAL, (9, 4, 0, 7, 2)),),
    ),
    "diag7-control-spectator": MatrixCase(
        np.diag(_DIAG7), _DIAG7_TARGETS, (Expected(OpKind.DIAGONAL, (3, 12, 5, 9, 2), {0: 1}),)
    ),
    "wide-diag6": MatrixCase(
        np.diag(random_phases(64, 3)),
        (9, 2, 7, 0, 4, 1),
        (Expected(OpKind.WIDE_DIAGONAL, (0, 1, 2, 4, 7, 9)),),
    ),
    "wide-diag7-with-given-control": MatrixCase(
        np.diag(random_phases(128, 4)),
        (6, 5, 4, 3, 2, 1, 0),
        (Expected(OpKind.WIDE_DIAGONAL, (0, 1, 2, 3, 4, 5, 6), {20: 0}),),
        controls=(20,),
        control_values=0,
    ),
}

for _k in range(1, MAX_TARGETS + 1):
    MATRIX_CASES[f"dense{_k}"] = MatrixCase(
        random_unitary(1 << _k, seed=100 + _k).data,
        tuple(range(2 * _k - 1, -1, -2)),
        (Expected(OpKind.DENSE, tuple(range(2 * _k - 1, -1, -2))),),
    )


@pytest.mark.parametrize("name", sorted(MATRIX_CASES))
def test_ops_from_matrix_structure(name: str) -> None:
    """Each matrix becomes the expected ops: kinds, targets, controls and values."""
    case = MATRIX_CASES[name]
    ops = ops_from_matrix(case.matrix, case.targets, case.controls, case.control_values)
    for op in ops:
        check_well_formed(op)
    got = [(op.kind, op.targets, control_map(op)) for op in ops]
    want = [(e.kind, e.targets, e.controls) for e in case.expected]
    assert got == want


@pytest.mark.parametrize("name", sorted(MATRIX_CASES))
def test_ops_from_matrix_reexpand(name: str) -> None:
    """The ops, expanded back onto the input's qubits, equal the (controlled) input."""
    case = MATRIX_CASES[name]
    ops = ops_from_matrix(case.matrix, case.targets, case.controls, case.control_values)
    qubits = case.controls + case.targets
    want = controlled(case.matrix, len(case.controls), case.control_values)
    np.testing.assert_allclose(ops_full_matrix(ops, qubits), want, rtol=0, atol=ATOL)


@pytest.mark.parametrize("name", sorted(MATRIX_CASES))
def test_ops_from_matrix_sources(name: str) -> None:
    """Each op's ``source`` points at the matrix entries its data came from."""
    case = MATRIX_CASES[name]
    matrix = np.asarray(case.matrix, dtype=complex)
    for op in ops_from_matrix(case.matrix, case.targets, case.controls, case.control_values):
        assert op.source is not None and op.source.shape == op.data.shape
        np.testing.assert_array_equal(matrix.ravel()[op.source], op.data)


def test_ops_from_matrix_custom_source() -> None:
    """A caller's ``source`` array is carried through to the ops' sources."""
    matrix = gate_matrix(CRYGate(0.3))
    source = np.arange(matrix.size).reshape(matrix.shape) + 1000
    (op,) = ops_from_matrix(matrix, (0, 1), source=source)
    np.testing.assert_array_equal(op.source - 1000, [[5, 7], [13, 15]])


def test_reference_helpers_agree_with_qiskit() -> None:
    """The test's own ``controlled`` helper matches Qiskit's controlled gates."""
    np.testing.assert_allclose(controlled(gate_matrix(XGate()), 1), gate_matrix(CXGate()))
    np.testing.assert_allclose(
        controlled(gate_matrix(XGate()), 2, 0b01), gate_matrix(CCXGate(ctrl_state="01"))
    )
    np.testing.assert_allclose(
        controlled(gate_matrix(RYGate(0.7)), 1, 0), gate_matrix(CRYGate(0.7, ctrl_state=0))
    )


# --------------------------------------------------------------------- diagonal_ops


@pytest.mark.parametrize("num_targets", [MAX_TARGETS + 1, 10, MAX_WIDE_TARGETS])
def test_diagonal_ops_wide_single_op_ascending(num_targets: int) -> None:
    """Up to MAX_WIDE_TARGETS targets give one wide diagonal, targets ascending."""
    rng = np.random.default_rng(num_targets)
    targets = tuple(int(t) for t in rng.permutation(num_targets + 3)[:num_targets])
    diagonal = random_phases(1 << num_targets, seed=num_targets)
    ops = diagonal_ops(diagonal, targets)
    assert len(ops) == 1
    (op,) = ops
    check_well_formed(op)
    assert op.kind is OpKind.WIDE_DIAGONAL
    assert op.targets == tuple(sorted(targets)) and op.controls == ()
    np.testing.assert_allclose(ops_full_diagonal(ops, targets), diagonal, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(diagonal[op.source], op.data)


@pytest.mark.parametrize(
    ("extra", "controls", "values"),
    [(1, (), 0), (2, (), 0), (2, (40,), 1), (1, (40, 41), 0b10)],
)
def test_diagonal_ops_split_beyond_wide_limit(extra: int, controls: tuple[int, ...], values: int) -> None:
    """Beyond MAX_WIDE_TARGETS, the highest targets become controls of one op per value."""
    num_targets = MAX_WIDE_TARGETS + extra
    rng = np.random.default_rng(extra)
    targets = tuple(int(t) for t in rng.permutation(num_targets))
    diagonal = random_phases(1 << num_targets, seed=50 + extra)
    ops = diagonal_ops(diagonal, targets, controls, values)
    assert len(ops) == 1 << extra
    low, high = tuple(range(MAX_WIDE_TARGETS)), tuple(range(MAX_WIDE_TARGETS, num_targets))
    seen = set()
    for op in ops:
        check_well_formed(op)
        assert op.kind is OpKind.WIDE_DIAGONAL
        assert op.targets == low
        assert set(op.controls) == set(controls) | set(high)
        mapping = control_map(op)
        assert {c: mapping[c] for c in controls} == {c: (values >> i) & 1 for i, c in enumerate(controls)}
        seen.add(tuple(mapping[c] for c in high))
        np.testing.assert_array_equal(diagonal[op.source], op.data)
    assert len(seen) == 1 << extra
    qubits = controls + targets
    want = np.ones(1 << len(qubits), dtype=complex)
    indices = np.arange(want.size)
    control_ok = (indices & ((1 << len(controls)) - 1)) == values
    want = np.where(control_ok, diagonal[indices >> len(controls)], 1)
    np.testing.assert_allclose(ops_full_diagonal(ops, qubits), want, rtol=0, atol=ATOL)


def test_diagonal_ops_factor_control_and_spectator() -> None:
    """diagonal_ops drops spectators and turns one-valued halves into controls."""
    ops = diagonal_ops(_DIAG7, _DIAG7_TARGETS)
    assert [(op.kind, op.targets, control_map(op)) for op in ops] == [
        (OpKind.DIAGONAL, (3, 12, 5, 9, 2), {0: 1})
    ]
    np.testing.assert_allclose(ops_full_diagonal(ops, _DIAG7_TARGETS), _DIAG7, rtol=0, atol=ATOL)


def test_diagonal_ops_control_value_zero() -> None:
    """A diagonal that is one where a qubit is 1 is controlled on that qubit being 0."""
    reduced = random_phases(4, seed=3)
    diagonal = np.concatenate([reduced, np.ones(4)])  # bit 2 (qubit 8) = 1: identity
    ops = diagonal_ops(diagonal, (1, 0, 8))
    assert [(op.kind, op.targets, control_map(op)) for op in ops] == [(OpKind.DIAGONAL, (1, 0), {8: 0})]
    np.testing.assert_allclose(ops_full_diagonal(ops, (1, 0, 8)), diagonal, rtol=0, atol=ATOL)


# -------------------------------------------------------------------- dense_matrix


def test_dense_matrix_of_permutation() -> None:
    """A permutation op's dense matrix has phase[j] at (permutation[j], j)."""
    op = GateOp(OpKind.PERMUTATION, (0, 1), np.array([1, 1j, -1, -1j]), permutation=(2, 0, 3, 1))
    want = np.zeros((4, 4), dtype=complex)
    want[[2, 0, 3, 1], [0, 1, 2, 3]] = [1, 1j, -1, -1j]
    np.testing.assert_array_equal(op.dense_matrix(), want)


def test_dense_matrix_of_diagonal() -> None:
    """A diagonal op's dense matrix is its diagonal on the diagonal."""
    data = random_phases(4, seed=11)
    for kind in (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL):
        np.testing.assert_array_equal(GateOp(kind, (0, 1), data).dense_matrix(), np.diag(data))

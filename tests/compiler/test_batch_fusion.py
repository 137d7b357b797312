"""Merging runs of one-qubit ops for per-state-data batches keeps each state's unitary.

Reference: qiskit.quantum_info.Operator of the ops as unitary gates, per batch entry,
before and after the merge (within 1e-12).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator, random_unitary

from qiskit_cupy.compiler.batch_fusion import merge_one_qubit_runs
from qiskit_cupy.compiler.ops import GateOp, OpKind

BATCH = 3
WIDTH = 3


def _random_ops(seed: int) -> list[GateOp]:
    """Dense and diagonal one-qubit ops (batched or shared data), two-qubit dense ops and
    a controlled one-qubit op, in a random order."""
    rng = np.random.default_rng(seed)
    ops = []
    for index in range(24):
        choice = rng.integers(4)
        qubit = int(rng.integers(WIDTH))
        if choice == 0:
            data = np.stack([random_unitary(2, seed=seed * 100 + index * 10 + b).data for b in range(BATCH)])
            ops.append(GateOp(OpKind.DENSE, (qubit,), data))
        elif choice == 1:
            phases = np.exp(1j * rng.uniform(-3, 3, size=(BATCH, 2)))
            ops.append(GateOp(OpKind.DIAGONAL, (qubit,), phases if index % 2 else phases[0]))
        elif choice == 2:
            pair = tuple(int(q) for q in rng.choice(WIDTH, 2, replace=False))
            ops.append(GateOp(OpKind.DENSE, pair, random_unitary(4, seed=seed + index).data))
        else:
            control = (qubit + 1) % WIDTH
            ops.append(
                GateOp(
                    OpKind.DENSE,
                    (qubit,),
                    random_unitary(2, seed=index).data,
                    controls=(control,),
                    control_values=1,
                )
            )
    return ops


def _unitary(ops: list[GateOp], entry: int) -> np.ndarray:
    """The ops' unitary for one batch entry."""
    circuit = QuantumCircuit(WIDTH)
    for op in ops:
        matrix = op.dense_matrix()
        if matrix.ndim == 3:
            matrix = matrix[entry]
        elif op.kind is OpKind.DIAGONAL and np.ndim(op.data) == 2:
            matrix = np.diag(op.data[entry])
        gate = QuantumCircuit(len(op.targets))
        gate.unitary(matrix, range(len(op.targets)))
        instruction = gate.to_gate()
        if op.controls:
            instruction = instruction.control(len(op.controls), ctrl_state=op.control_values)
        circuit.append(instruction, [*op.controls, *op.targets])
    return Operator(circuit).data


@pytest.mark.parametrize("seed", range(6))
def test_merged_ops_apply_the_same_unitary_to_every_state(seed: int) -> None:
    ops = _random_ops(seed)
    merged = merge_one_qubit_runs(ops)
    assert len(merged) < len(ops)
    for entry in range(BATCH):
        np.testing.assert_allclose(_unitary(merged, entry), _unitary(ops, entry), rtol=0, atol=1e-12)


def test_an_op_alone_on_its_qubit_is_kept_as_it_is() -> None:
    diagonal = GateOp(OpKind.DIAGONAL, (0,), np.array([1, 1j]))
    pair = GateOp(OpKind.DENSE, (0, 1), np.eye(4))
    assert merge_one_qubit_runs([diagonal, pair, diagonal]) == [diagonal, pair, diagonal]

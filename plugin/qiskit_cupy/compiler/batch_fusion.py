"""Fusion for batches whose ops carry data per state: runs of one-qubit ops, merged.

The fuser (``fusion.py``) builds each fused block's matrix once; a batch whose ops have
per-state data (parameter sets) would need every block built once per state. The
cheapest part of that is done here for any batch: consecutive one-qubit ops on the same
qubit (dense or diagonal, without controls, with the ops on other qubits between them,
which commute with them) become one dense op, their 2x2 matrices multiplied for all the
states at once. A hardware-efficient ansatz layer (RY, RZ on each qubit, then a CX
chain) so runs one op per qubit and layer instead of two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qiskit_cupy.compiler.ops import GateOp, OpKind


def merge_one_qubit_runs(ops: Sequence[GateOp]) -> list[GateOp]:
    """Merge each run of one-qubit ops on a qubit into one op.

    A merged op takes the place of the run's last op relative to the ops on its qubit
    (it is emitted just before the next op that touches the qubit, or at the end); an
    op alone in its run is kept as it is.

    Args:
        ops: Gate ops in the order they apply; data with a leading batch axis or shared.

    Returns:
        The ops, with the runs merged.
    """
    pending: dict[int, list[GateOp]] = {}
    merged: list[GateOp] = []

    def flush(qubits: Sequence[int]) -> None:
        for qubit in qubits:
            run = pending.pop(qubit, None)
            if run is not None:
                merged.append(run[0] if len(run) == 1 else _product(run))

    for op in ops:
        if _merges(op):
            pending.setdefault(op.targets[0], []).append(op)
        else:
            flush(op.qubits)
            merged.append(op)
    flush(list(pending))
    return merged


def _merges(op: GateOp) -> bool:
    """Whether an op is a one-qubit dense or diagonal op without controls."""
    return not op.controls and len(op.targets) == 1 and op.kind in (OpKind.DENSE, OpKind.DIAGONAL)


def _matrices(op: GateOp) -> np.ndarray:
    """An op's 2x2 matrix per batch entry, (entries, 2, 2); one entry if shared."""
    data = np.asarray(op.data, dtype=np.complex128)
    if op.kind is OpKind.DENSE:
        return data.reshape(-1, 2, 2)
    diagonal = data.reshape(-1, 2)
    matrices = np.zeros((len(diagonal), 2, 2), dtype=np.complex128)
    matrices[:, 0, 0] = diagonal[:, 0]
    matrices[:, 1, 1] = diagonal[:, 1]
    return matrices


def _product(run: list[GateOp]) -> GateOp:
    """One dense op applying a run of one-qubit ops on one qubit, in order."""
    product = _matrices(run[0])
    for op in run[1:]:
        product = _matrices(op) @ product
    data = product[0] if len(product) == 1 else product
    return GateOp(OpKind.DENSE, run[0].targets, data)

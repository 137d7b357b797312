"""An independent reference for op sequences: each op's full matrix evolved on a Statevector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit.quantum_info import Statevector

from qiskit_cupy.compiler.ops import GateOp


def controlled_matrix(op: GateOp) -> np.ndarray:
    """The op's matrix on (targets..., controls...), identity where the controls differ."""
    size = 1 << len(op.targets)
    full = np.eye(size << len(op.controls), dtype=complex)
    start = op.control_values * size
    full[start : start + size, start : start + size] = op.dense_matrix()
    return full


def evolve_ops(state: Statevector, ops: Sequence[GateOp]) -> Statevector:
    """``state`` after ``ops``, in order, through Qiskit's own evolution."""
    for op in ops:
        state = state.evolve(controlled_matrix(op), qargs=list(op.targets + op.controls))
    return state

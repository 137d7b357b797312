"""The draws of trajectories, as the host computes them: the counter-based generator the
device's draws use (``measure.cuh``'s ``trajectory_draw``), and how a node changes the
rows' draw counters.

A draw is keyed by (seed, shot number, the row's draw counter), so the host can compute
any row's draw without the device: to split branches of shots at a measurement, and
to find noise that no row of a chunk draws (``trajectories.py``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from qiskit_cupy.compiler.classical_code import EVERY_STATE, OPCODES
from qiskit_cupy.compiler.dynamic_nodes import (
    Classical,
    Collapse,
    DynamicNode,
    Gates,
    KrausChoice,
    NoiseDraw,
    Save,
)

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finalizer on uint64 arrays (``measure.cuh``'s ``mix64``)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: NDArray[np.uint64] = x ^ (x >> np.uint64(31))
    return mixed


def counter_after(counter: int | None, node: DynamicNode) -> int | None:
    """Every row's draw counter after a node ran on all of them, or None where the rows'
    counters may now differ (a draw under a mask, a loop)."""
    if counter is None or isinstance(node, (Gates, Save, NoiseDraw)):  # a draw counts itself
        return counter
    if isinstance(node, Classical):
        draws = int(np.count_nonzero(node.code.code[:, 0] == OPCODES["kDraw"]))
        if not draws:
            return counter
        return counter + draws if node.mask == EVERY_STATE else None
    if isinstance(node, (Collapse, KrausChoice)) and node.mask == EVERY_STATE:
        return counter + 1
    return None


def trajectory_draws(seed: int, shots: np.ndarray, counters: np.ndarray) -> NDArray[np.float64]:
    """The uniform draws ``dynamic.cuh``'s ``trajectory_draw`` gives, for many shots at once.

    Args:
        seed: The experiment's seed.
        shots: Shot numbers.
        counters: Each shot's draw counter.

    Returns:
        float64 draws in [0, 1), bit for bit the device's.
    """
    with np.errstate(over="ignore"):
        shot = np.asarray(shots, dtype=np.uint64)
        key = _mix64(
            np.full(shot.shape, seed, dtype=np.uint64) ^ _mix64(shot + np.uint64(0x632BE59BD9B4E019))
        )
        counter = np.asarray(counters, dtype=np.uint64)
        bits = _mix64(_mix64(key) + (counter + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    draws: NDArray[np.float64] = (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return draws

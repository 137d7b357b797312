"""The values of Aer's save instructions, from the host copies a run left at each save.

At a save (``compiler/saves.py``) the trajectory engine copies each branch's state (or,
reduced on the device, its marginal distribution for probabilities, or each Pauli
term's expectation for expectation values), the branches' classical rows, and which
branch each shot is in. Here each branch's value is computed
once, then reduced over the shots by the save's subtype: one shot's value (``single``;
shot 0's), every shot's (``list``), their mean (``average``) or sum (``accum``), each
``c_``-prefixed variant kept per hex value of the classical memory at the save. The
result shapes are Aer's: ``Statevector``, ``DensityMatrix``, ``ProbDistribution``,
dicts keyed by hex, NumPy arrays and floats.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.quantum_info import DensityMatrix, Statevector
from qiskit.result import ProbDistribution

from qiskit_cupy.compiler.saves import EXPECTATION_KINDS, SaveRequest
from qiskit_cupy.devices.base import HostCopy

#: Amplitudes and probabilities at most this large are left out of the dict saves.
ZERO_THRESHOLD = 1e-10


@dataclass
class SavePoint:
    """What one chunk kept at one save.

    Attributes:
        request: The save.
        data: Host copy of the branches' states (``batch * 2**n`` amplitudes) or, for
            probability saves, of their marginal distributions (``batch x 2**k``), or,
            for expectation saves, of each Pauli term's value (``terms x batch``).
        rows: Host copy of the branches' classical rows.
        shot_states: For each shot of the chunk, its branch at the save.
    """

    request: SaveRequest
    data: HostCopy
    rows: HostCopy
    shot_states: np.ndarray


def _reordered(state: np.ndarray, num_qubits: int, qubits: tuple[int, ...]) -> np.ndarray:
    """The state's amplitudes as a (2**k, rest) matrix whose row index has bit t on
    ``qubits[t]`` (the other qubits, in order, index the columns)."""
    tensor = np.asarray(state, dtype=np.complex128).reshape([2] * num_qubits)
    kept = [num_qubits - 1 - qubit for qubit in reversed(qubits)]
    rest = [axis for axis in range(num_qubits) if axis not in kept]
    return np.transpose(tensor, kept + rest).reshape(1 << len(qubits), -1)


def _branch_value(request: SaveRequest, data: np.ndarray, num_qubits: int) -> Any:
    """The save's value for one branch, in array form (before its Aer shape)."""
    kind, qubits = request.kind, request.qubits
    if kind in ("save_probabilities", "save_probabilities_dict"):
        return np.asarray(data, dtype=np.float64)
    if kind == "save_density_matrix":
        matrix = _reordered(data, num_qubits, qubits)
        return matrix @ matrix.conj().T
    if kind in EXPECTATION_KINDS:  # data: each Pauli term's expectation in this branch
        mean = sum(first * value for (_, first, _), value in zip(request.paulis, data))
        if kind == "save_expval":
            return float(mean)
        square = sum(second * value for (_, _, second), value in zip(request.paulis, data))
        return np.array([mean, square - mean * mean])
    amplitudes = _reordered(data, num_qubits, qubits)[:, 0]
    if kind in ("save_amplitudes", "save_amplitudes_sq"):
        chosen = amplitudes[list(request.indices)]
        return chosen if kind == "save_amplitudes" else np.abs(chosen) ** 2
    return amplitudes  # save_statevector, save_statevector_dict


def _shaped(request: SaveRequest) -> Callable[[Any], Any]:
    """How a value in array form takes Aer's shape for this save."""
    kind = request.kind
    if kind == "save_statevector":
        return lambda value: Statevector(value)
    if kind == "save_statevector_dict":
        return lambda value: {hex(i): complex(a) for i, a in enumerate(value) if abs(a) > ZERO_THRESHOLD}
    if kind == "save_probabilities_dict":
        return lambda value: ProbDistribution(
            {hex(i): float(p) for i, p in enumerate(value) if p > ZERO_THRESHOLD}
        )
    if kind == "save_density_matrix":
        return lambda value: DensityMatrix(value)
    if kind == "save_expval":
        return float
    return lambda value: value


def _memory_keys(rows: np.ndarray, clbit_slots: list[int]) -> list[str]:
    """Each row's classical memory as Aer's hex key."""
    values = [0] * len(rows)
    for clbit, slot in enumerate(clbit_slots):
        for index, bit in enumerate(rows[:, slot].tolist()):
            values[index] |= (bit & 1) << clbit
    return [hex(value) for value in values]


def _picked(values: list[Any], branches: np.ndarray) -> list[Any]:
    """The value of each branch in ``branches``, in order: one per shot."""
    return [values[g] for g in branches.tolist()]


def _reduce(
    subtype: str,
    values: list[Any],
    counts: np.ndarray,
    shaped: Callable[[Any], Any],
    per_shot: Callable[[], list[Any]],
) -> Any:
    """Reduce branch values, each holding ``counts[g]`` shots, by a base subtype."""
    if subtype == "single":
        return shaped(per_shot()[0])
    if subtype == "list":
        return [shaped(value) for value in per_shot()]
    total = sum(count * value for count, value in zip(counts.tolist(), values) if count)
    return shaped(total if subtype == "accum" else total / counts.sum())


def saved_values(
    points: list[list[SavePoint]], num_qubits: int, row_width: int, clbit_slots: list[int]
) -> dict[str, Any]:
    """The value of every save, from every chunk's save points, for the result's data.

    Args:
        points: For each chunk (in shot order), its save points, in program order.
        num_qubits: Width of the states.
        row_width: Slots per classical row.
        clbit_slots: The slot of each clbit.

    Returns:
        Label -> value, in Aer's shapes.
    """
    saved: dict[str, Any] = {}
    for position, first in enumerate(points[0]):
        request = first.request
        shaped = _shaped(request)
        values: list[Any] = []
        owners: list[np.ndarray] = []
        keys: list[str] = []
        for chunk_points in points:
            point = chunk_points[position]
            rows = point.rows.array.reshape(-1, row_width)
            data = point.data.array
            if request.kind in EXPECTATION_KINDS:  # piece sums -> each term's value, per branch
                data = request.pieces().values(data).T
            else:
                data = data.reshape(len(rows), -1)
            offset = len(values)
            values.extend(_branch_value(request, branch, num_qubits) for branch in data)
            owners.append(point.shot_states + offset)
            keys.extend(_memory_keys(rows, clbit_slots))
        owner = np.concatenate(owners)
        base = request.base_subtype
        if not request.conditional:
            counts = np.bincount(owner, minlength=len(values))
            saved[request.label] = _reduce(
                base,
                values,
                counts,
                shaped,
                functools.partial(_picked, values, owner),
            )
            continue
        by_memory: dict[str, Any] = {}
        shot_keys = np.array([keys[g] for g in owner.tolist()])
        for key in dict.fromkeys(shot_keys.tolist()):
            chosen = owner[shot_keys == key]
            counts = np.bincount(chosen, minlength=len(values))
            by_memory[key] = _reduce(
                base,
                values,
                counts,
                shaped,
                functools.partial(_picked, values, chosen),
            )
        saved[request.label] = by_memory
    return saved

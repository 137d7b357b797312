"""The ops of one gate: its matrix (or, for a parametric gate, its family's), factored.

Lowering (``lowering.py``) calls :func:`ops_of_gate` for every gate it meets. Standard
gates with bound parameters are cached by kind and values (bounded, thread-safe:
``cache.py``); a parametric gate's ops are built at generic values, and its family
(``parametric.py``) gives their data for any values.
"""

from __future__ import annotations

import dataclasses
from typing import TypeGuard

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import ControlledGate, Gate, Operation, ParameterExpression
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping

from qiskit_cupy.compiler.cache import BoundedCache
from qiskit_cupy.compiler.ops import GateOp, OpKind, ascending_order, ops_from_matrix
from qiskit_cupy.compiler.parametric import matrix_family
from qiskit_cupy.compiler.validation import require_unitary
from qiskit_cupy.errors import UnsupportedInstructionError

#: Controlled gates up to this width take their target block from their full matrix
#: (exact for gates such as CU, whose base gate omits a phase); wider ones use the
#: base gate's matrix.
_FULL_MATRIX_CONTROLLED_WIDTH = 6

#: Ops of bound standard gates on qubits 0..k-1, by gate kind and parameter values.
_GATE_OPS: BoundedCache[tuple[object, ...], list[GateOp]] = BoundedCache(4096)


#: The class of each standard gate: only these are cached, since their name, control
#: state and parameters determine their matrix.
_STANDARD_TYPES: dict[str, type[Operation]] = {
    name: type(gate) for name, gate in get_standard_gate_name_mapping().items()
}


def is_standard(operation: Operation) -> bool:
    """Whether an operation is the standard gate (or unitary) its name says it is."""
    if operation.name == "unitary":
        return isinstance(operation, UnitaryGate)
    return _STANDARD_TYPES.get(operation.name) is type(operation)


def _gate_key(gate: Gate) -> tuple[object, ...] | None:
    """A cache key for a standard gate with numeric parameters, else None."""
    if _STANDARD_TYPES.get(gate.name) is not type(gate):
        return None
    if not all(isinstance(parameter, (int, float)) for parameter in gate.params):
        return None
    return (type(gate), gate.name, gate.num_qubits, getattr(gate, "ctrl_state", None), tuple(gate.params))


def ops_of_gate(gate: Gate, parametric: bool) -> list[GateOp]:
    """Return the ops of ``gate`` on qubits 0..k-1, at generic values if it is parametric.

    Raises:
        InvalidCircuitError: The gate's matrix is not finite, or not unitary.
        UnsupportedInstructionError: The gate has no matrix.
    """
    local = tuple(range(gate.num_qubits))
    key = None if parametric else _gate_key(gate)
    if key is None:
        return _build_gate_ops(gate, local, parametric)
    return _GATE_OPS.get(key, lambda: _build_gate_ops(gate, local, parametric))


def _build_gate_ops(gate: Gate, qubits: tuple[int, ...], parametric: bool) -> list[GateOp]:
    """The ops of a gate on ``qubits``, at generic values if it is parametric."""
    if isinstance(gate, ControlledGate) and gate.num_ctrl_qubits > 0:
        count = gate.num_ctrl_qubits
        controls, targets = qubits[:count], qubits[count:]
        base = family_gate(gate)
        matrix = probe_matrix(base) if parametric else _matrix(base)
        rows = _controlled_rows(gate) if base is gate else None
        source = np.arange(matrix.size).reshape(matrix.shape)
        if rows is not None:
            matrix, source = matrix[np.ix_(rows, rows)], source[np.ix_(rows, rows)]
        return ops_from_matrix(matrix, targets, controls, gate.ctrl_state, gate.name, source)
    matrix = probe_matrix(gate) if parametric else _matrix(gate)
    return ops_from_matrix(matrix, qubits, name=gate.name)


def on_qubits(op: GateOp, qubits: tuple[int, ...]) -> GateOp:
    """Move an op from qubits 0..k-1 to ``qubits``, keeping wide diagonal targets ascending."""
    targets = tuple(qubits[q] for q in op.targets)
    controls = tuple(qubits[q] for q in op.controls)
    if op.kind is not OpKind.WIDE_DIAGONAL:  # every field but the qubits kept (faster than replace)
        return GateOp(op.kind, targets, op.data, controls, op.control_values, op.permutation, op.source)
    order = ascending_order(targets)
    source = None if op.source is None else op.source[order]
    return dataclasses.replace(
        op, targets=tuple(sorted(targets)), controls=controls, data=op.data[order], source=source
    )


def family_gate(gate: Gate) -> Gate:
    """The gate whose matrix family lowering evaluates: a controlled gate's base when the
    gate is wide or has no matrix of its own (as MCPhaseGate)."""
    if isinstance(gate, ControlledGate) and (
        gate.num_qubits > _FULL_MATRIX_CONTROLLED_WIDTH or not hasattr(gate, "__array__")
    ):
        return gate.base_gate
    return gate


def is_parametric(value: object) -> TypeGuard[ParameterExpression]:
    """Whether a gate parameter still depends on unbound circuit parameters."""
    return isinstance(value, ParameterExpression) and bool(value.parameters)


def probe_matrix(gate: Gate) -> np.ndarray:
    """The matrix of a parametric gate at generic parameter values.

    Structure found at generic values (which entries vanish, which qubits act as
    controls) holds for all values of an analytic family except on a set of measure
    zero, which the op's dense or diagonal form still covers exactly.
    """
    family = matrix_family(gate)
    probe = np.random.default_rng(len(gate.params)).uniform(0.5, 2.5, size=(1, len(gate.params)))
    matrix: NDArray[np.complex128] = family.flat_matrices(probe)[0]
    return matrix.reshape(family.shape)


def _matrix(gate: Gate) -> np.ndarray:
    """Return a gate's matrix, or raise a clear error for gates without one."""
    try:
        matrix = gate.to_matrix()
    except Exception as error:
        raise UnsupportedInstructionError(
            f"gate '{gate.name}' has neither a definition nor a matrix"
        ) from error
    standard = _STANDARD_TYPES.get(gate.name) is type(gate)
    return require_unitary(matrix, gate.name, check_unitarity=not standard)


def _controlled_rows(gate: ControlledGate) -> list[int]:
    """Indices of a controlled gate's matrix where its controls hold their values."""
    count = gate.num_ctrl_qubits
    return [gate.ctrl_state | (j << count) for j in range(1 << (gate.num_qubits - count))]

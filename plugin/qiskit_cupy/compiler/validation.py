"""Checks of circuits and parameter values: everything refused before work is enqueued.

Lowering (``lowering.py``) runs :func:`check_circuit` on every circuit it is given and
:func:`require_unitary` / :func:`float_parameter` on every matrix and parameter it
meets, nested definitions included; the backend checks ``parameter_binds`` with
:func:`parameter_values`. Each failure is an ``InvalidCircuitError``,
``UnsupportedInstructionError`` or ``InvalidOptionError`` whose message says what is
wrong; the backend adds which circuit.
"""

from __future__ import annotations

import cmath
import math
import numbers
from typing import Any

import numpy as np
from qiskit.circuit import Gate, Instruction, Parameter, QuantumCircuit
from qiskit.circuit.library import UnitaryGate

from qiskit_cupy.compiler.gates import DYNAMIC_NAMES, INSTRUCTION_TREATMENTS
from qiskit_cupy.errors import InvalidCircuitError, InvalidOptionError, UnsupportedInstructionError


def check_circuit(circuit: QuantumCircuit, bound: bool) -> None:
    """Reject unbound parameters, non-finite values, malformed and unsupported instructions.

    Raises:
        InvalidCircuitError: A parameter is unbound or not finite, or an instruction's
            qubits and clbits do not match its shape.
        UnsupportedInstructionError: An instruction cannot run; it is named.
    """
    if circuit.parameters and not bound:
        names = ", ".join(sorted(parameter.name for parameter in circuit.parameters))
        raise InvalidCircuitError(
            f"circuit '{circuit.name}' has unbound parameters ({names}); bind them with "
            "QuantumCircuit.assign_parameters or the parameter_binds option before running it"
        )
    check_finite(circuit.global_phase, "the global phase")
    for position, instruction in enumerate(circuit.data):
        operation = instruction.operation
        where = _Where(position, operation.name)
        check_shape(instruction, where)
        for parameter in getattr(operation, "params", ()):
            check_finite(parameter, _Where(position, operation.name, "a parameter of "))
        if isinstance(operation, UnitaryGate):
            require_unitary(operation.to_matrix(), str(where))
        if (
            operation.name not in INSTRUCTION_TREATMENTS
            and operation.name not in DYNAMIC_NAMES
            and isinstance(operation, Instruction)
            and not isinstance(operation, Gate)
            and operation.definition is None
        ):
            raise UnsupportedInstructionError(
                f"instruction '{operation.name}' is not supported by the cupy simulator"
            )


class _Where:
    """Names an instruction in a message; the text is only made when a check fails."""

    __slots__ = ("name", "position", "prefix")

    def __init__(self, position: int, name: str, prefix: str = "") -> None:
        self.position, self.name, self.prefix = position, name, prefix

    def __str__(self) -> str:
        return f"{self.prefix}instruction {self.position} ('{self.name}')"


def check_shape(instruction: Any, where: str | _Where) -> None:
    """Require an instruction's qubits and clbits to match its operation, without repeats."""
    operation = instruction.operation
    qubits, clbits = instruction.qubits, instruction.clbits
    if len(qubits) != operation.num_qubits or len(clbits) != operation.num_clbits:
        raise InvalidCircuitError(
            f"{where} acts on {operation.num_qubits} qubits and {operation.num_clbits} "
            f"clbits but is applied to {len(qubits)} qubits and {len(clbits)} clbits"
        )
    if len(set(qubits)) != len(qubits) or len(set(clbits)) != len(clbits):
        raise InvalidCircuitError(f"{where} names the same qubit or clbit more than once")


def check_finite(value: Any, what: object) -> None:
    """Require a numeric value (where it is one) to be finite."""
    if type(value) is float:  # the common case, without the ABC check below
        if not math.isfinite(value):
            raise InvalidCircuitError(f"{what} is {value}; values must be finite")
        return
    if isinstance(value, numbers.Number) and not cmath.isfinite(complex(value)):  # type: ignore[call-overload]  # typeshed's Number lacks __complex__
        raise InvalidCircuitError(f"{what} is {value}; values must be finite")
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" and not np.isfinite(value).all():
        raise InvalidCircuitError(f"{what} holds values that are not finite (NaN or infinity)")


#: Largest entry of |M^dagger M - I| accepted for a matrix operation (Qiskit's
#: UnitaryGate check uses the same absolute tolerance).
UNITARY_TOLERANCE = 1e-8


def require_unitary(matrix: np.ndarray, name: str, check_unitarity: bool = True) -> np.ndarray:
    """Return ``matrix`` if it is finite (and, where asked, unitary within UNITARY_TOLERANCE).

    Raises:
        InvalidCircuitError: The matrix holds NaN or infinity, or is not unitary.
    """
    matrix = np.asarray(matrix, dtype=complex)
    if not np.isfinite(matrix).all():
        raise InvalidCircuitError(
            f"the matrix of '{name}' holds values that are not finite (NaN or infinity); check its parameters"
        )
    if check_unitarity:
        deviation = np.abs(matrix.conj().T @ matrix - np.eye(matrix.shape[0])).max()
        if deviation > UNITARY_TOLERANCE:
            raise InvalidCircuitError(
                f"the matrix of '{name}' is not unitary: |M^dagger M - I| reaches "
                f"{deviation:.3g}, above the tolerance {UNITARY_TOLERANCE:g}"
            )
    return matrix


def float_parameter(value: object, what: str, name: str) -> float:
    """Return a bound numeric parameter as a float.

    Raises:
        InvalidCircuitError: The value is still an unbound parameter expression.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except TypeError as error:
        raise InvalidCircuitError(
            f"'{name}' has an unbound {what} {value}; bind the circuit's parameters "
            "(QuantumCircuit.assign_parameters) before running it"
        ) from error
    if not math.isfinite(number):
        raise InvalidCircuitError(f"'{name}' has a {what} of {number}; values must be finite")
    return number


def parameter_values(
    circuits: list[QuantumCircuit], parameter_binds: list[dict[Parameter, Any]] | None
) -> list[dict[Parameter, np.ndarray] | None]:
    """Check ``parameter_binds`` against the circuits; return each circuit's value arrays.

    Raises:
        InvalidOptionError: The binds do not match the circuits or their parameters.
    """
    if parameter_binds is None:
        return [None] * len(circuits)
    if len(parameter_binds) != len(circuits):
        raise InvalidOptionError(
            f"parameter_binds has {len(parameter_binds)} entries for {len(circuits)} "
            "circuits; give one dict per circuit"
        )
    values_per_circuit: list[dict[Parameter, np.ndarray] | None] = []
    for index, (circuit, bind) in enumerate(zip(circuits, parameter_binds)):
        if not circuit.parameters and not bind:
            values_per_circuit.append(None)
            continue
        unknown = [str(key) for key in bind if key not in circuit.parameters]
        missing = sorted(p.name for p in circuit.parameters if p not in bind)
        if unknown or missing:
            raise InvalidOptionError(
                f"parameter_binds for circuit '{circuit.name}' must bind exactly its "
                f"parameters; unknown: {unknown or 'none'}, missing: {missing or 'none'}"
            )
        arrays = {}
        for key, value in bind.items():
            try:
                arrays[key] = np.atleast_1d(np.asarray(value, dtype=float))
            except (TypeError, ValueError) as error:
                raise InvalidOptionError(
                    f"parameter_binds for circuit {index} ('{circuit.name}'): the values of "
                    f"{key} must be real numbers, not {value!r}"
                ) from error
            if not np.isfinite(arrays[key]).all():
                raise InvalidOptionError(
                    f"parameter_binds for circuit {index} ('{circuit.name}'): the values of "
                    f"{key} must be finite; NaN or infinity given"
                )
        lengths = {array.shape for array in arrays.values()}
        if len(lengths) != 1 or len(next(iter(lengths))) != 1 or next(iter(lengths))[0] == 0:
            raise InvalidOptionError(
                f"parameter_binds for circuit '{circuit.name}' must give every parameter "
                "the same number (at least one) of values"
            )
        values_per_circuit.append(arrays)
    return values_per_circuit


def statevector_parameter(operation: Instruction, qubits: tuple[int, ...], num_qubits: int) -> np.ndarray:
    """The checked amplitudes of Aer's ``set_statevector``: on every qubit, in order,
    finite, of norm 1.

    Raises:
        InvalidCircuitError: Any of these fails.
    """
    name = operation.name
    if qubits != tuple(range(num_qubits)):
        raise InvalidCircuitError(f"'{name}' must act on every qubit of the circuit, in order")
    try:
        amplitudes = np.asarray(operation.params[0], dtype=np.complex128).reshape(-1)
    except (IndexError, TypeError, ValueError) as error:
        raise InvalidCircuitError(f"'{name}' holds no amplitudes") from error
    if amplitudes.size != 1 << num_qubits:
        raise InvalidCircuitError(f"'{name}' needs {1 << num_qubits} amplitudes, not {amplitudes.size}")
    if not np.isfinite(amplitudes).all():
        raise InvalidCircuitError(f"'{name}' holds amplitudes that are not finite")
    if not np.isclose(np.vdot(amplitudes, amplitudes).real, 1.0, atol=1e-8):
        raise InvalidCircuitError(f"'{name}' holds a state whose norm is not 1")
    return amplitudes

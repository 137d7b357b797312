"""A device's noise from its Target, as Qiskit Aer's ``NoiseModel.from_backend`` builds it,
without qiskit-aer.

For each instruction of the Target on given qubits, with ``InstructionProperties``:

- a depolarizing error whose strength makes the instruction's average gate infidelity,
  relaxation included, its reported ``error`` (capped at the largest a channel can have);
- then thermal relaxation of each of its qubits over the instruction's ``duration``,
  from the qubit's ``t1`` and ``t2`` (``Target.qubit_properties``): amplitude damping to
  |0> with probability 1 - exp(-t/T1), then the pure dephasing that brings the
  coherence to exp(-t/T2) (T2 is capped at 2 T1, as physics demands);
- for ``measure``, a symmetric readout error of probability ``error`` instead.

Missing properties contribute nothing: an instruction without error or duration is
ideal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import Instruction, QuantumCircuit
from qiskit.circuit.library import PauliGate
from qiskit.transpiler import Target

from qiskit_cupy.compiler.noise import ErrorChannel, NoiseTable

#: Instructions that are not gates: no gate error is built for them.
_NOT_GATES = frozenset({"measure", "reset", "delay", "barrier"})


def thermal_relaxation_kraus(t1: float, t2: float, time: float) -> tuple[np.ndarray, ...]:
    """Kraus matrices of a qubit's relaxation (to |0>) and dephasing over ``time``.

    Args:
        t1: Relaxation time (inf for none).
        t2: Dephasing time, at most 2 * t1 (larger values are capped).
        time: How long the qubit waits.
    """
    damping = 1.0 - math.exp(-time / t1) if math.isfinite(t1) and t1 > 0 else 0.0
    coherence = math.exp(-time / min(t2, 2 * t1)) if math.isfinite(t2) and t2 > 0 else 1.0
    left = math.sqrt(1.0 - damping)  # what amplitude damping leaves of the coherence
    dephasing = min(1.0, coherence / left) if left > 0 else 1.0
    damp = (
        np.array([[1, 0], [0, left]], dtype=complex),
        np.array([[0, math.sqrt(damping)], [0, 0]], dtype=complex),
    )
    dephase = (
        np.array([[1, 0], [0, dephasing]], dtype=complex),
        np.array([[0, 0], [0, math.sqrt(max(0.0, 1.0 - dephasing**2))]], dtype=complex),
    )
    return tuple(after @ before for after in dephase for before in damp)


def average_gate_infidelity(operators: Sequence[np.ndarray]) -> float:
    """1 - the average gate fidelity of a channel, from its Kraus matrices."""
    dim = int(operators[0].shape[0])
    process_fidelity = float(sum(abs(np.trace(operator)) ** 2 for operator in operators)) / dim**2
    return 1.0 - (dim * process_fidelity + 1) / (dim + 1)


def depolarizing_strength(error: float, num_qubits: int, relaxation_infidelity: float) -> float:
    """The depolarizing parameter that brings a gate's infidelity, on top of its
    relaxation's, to ``error`` (0 where relaxation alone reaches it)."""
    dim = 2**num_qubits
    error = min(error, dim / (dim + 1))
    if error <= relaxation_infidelity:
        return 0.0
    relaxation_fidelity = 1.0 - relaxation_infidelity
    strength = dim * (error - relaxation_infidelity) / (dim * relaxation_fidelity - 1)
    return float(min(strength, 4**num_qubits / (4**num_qubits - 1)))


def depolarizing_channel(strength: float, num_qubits: int) -> ErrorChannel:
    """rho -> (1 - strength) rho + strength I / d, as a mixture of Pauli branches."""
    labels = ["".join(letters) for letters in itertools.product("IXYZ", repeat=num_qubits)]
    share = strength / 4**num_qubits
    probabilities = [1.0 - strength + share if label == "I" * num_qubits else share for label in labels]
    circuits = []
    for label in labels:
        circuit = QuantumCircuit(num_qubits)
        circuit.append(PauliGate(label), range(num_qubits))
        circuits.append(circuit)
    return ErrorChannel(probabilities, circuits)


def _kraus_channel(operators: Sequence[np.ndarray], num_qubits: int) -> ErrorChannel:
    circuit = QuantumCircuit(num_qubits)
    circuit.append(Instruction("kraus", num_qubits, 0, list(operators)), range(num_qubits))
    return ErrorChannel([1.0], [circuit])


def _relaxation(target: Target, qubits: tuple[int, ...], duration: float) -> list[np.ndarray] | None:
    """The tensor product of each qubit's relaxation over ``duration`` (None: none known)."""
    properties = target.qubit_properties
    if not duration or properties is None:
        return None
    total: list[np.ndarray] = [np.eye(1, dtype=complex)]
    for qubit in qubits:
        qubit_properties = properties[qubit] if qubit < len(properties) else None
        t1 = getattr(qubit_properties, "t1", None) or math.inf
        t2 = getattr(qubit_properties, "t2", None) or math.inf
        kraus = thermal_relaxation_kraus(t1, t2, duration)
        total = [np.kron(operator, partial) for operator in kraus for partial in total]  # qubit i is bit i
    return total


def _combined(first: Sequence[np.ndarray], then: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [after @ before for after in then for before in first]


def noise_from_target(target: Target) -> NoiseTable:
    """The noise of every instruction of a device's Target (see the module docstring)."""
    table = NoiseTable()
    for name in target.operation_names:
        for qargs, properties in target[name].items():
            if qargs is None or properties is None:
                continue
            error = getattr(properties, "error", None) or 0.0
            if name == "measure":
                if error > 0:
                    table.add_readout(np.array([[1 - error, error], [error, 1 - error]]), qargs[0])
                continue
            if name in _NOT_GATES:
                continue
            channel = _gate_channel(target, tuple(qargs), error, getattr(properties, "duration", None) or 0.0)
            if channel is not None:
                table.add_error(channel, [name], tuple(qargs))
    return table


def _gate_channel(
    target: Target, qubits: tuple[int, ...], error: float, duration: float
) -> ErrorChannel | None:
    relaxation = _relaxation(target, qubits, duration)
    relaxation_infidelity = 0.0 if relaxation is None else average_gate_infidelity(relaxation)
    strength = depolarizing_strength(error, len(qubits), relaxation_infidelity) if error > 0 else 0.0
    if relaxation is None or relaxation_infidelity < 1e-15:
        return depolarizing_channel(strength, len(qubits)) if strength > 0 else None
    if strength <= 0:
        return _kraus_channel(relaxation, len(qubits))
    depolarizing = depolarizing_channel(strength, len(qubits))
    pauli_kraus = [
        math.sqrt(probability) * _pauli_matrix(circuit)
        for probability, circuit in zip(depolarizing.probabilities, depolarizing.circuits)
    ]
    return _kraus_channel(
        _combined(pauli_kraus, relaxation), len(qubits)
    )  # depolarizing, then relaxation, as Aer


def _pauli_matrix(circuit: QuantumCircuit) -> np.ndarray:
    return np.asarray(circuit.data[0].operation.to_matrix(), dtype=complex)


def device_target_copy(backend: Any) -> Target:
    """A device backend's Target (basis gates, coupling map, properties), copied."""
    import copy

    target = getattr(backend, "target", None)
    if not isinstance(target, Target):
        raise TypeError(f"from_backend needs a BackendV2 with a Target, not {type(backend).__name__}")
    return copy.deepcopy(target)

"""Quantum channels in circuits: what each channel instruction means, checked.

Three instructions carry a channel (a completely positive, trace-preserving map) on
their qubits:

- ``kraus``: Kraus matrices in its params (``qiskit.quantum_info.Kraus.to_instruction()``,
  Aer's ``kraus`` instruction);
- ``superop``: a superoperator matrix in its first param (Aer's ``superop``, and
  ``qiskit.quantum_info.SuperOp``), column-stacking convention as Qiskit's ``SuperOp``;
- ``quantum_channel``: Qiskit Aer's ``QuantumError`` appended to a circuit, read through
  the error's public ``probabilities`` and ``circuits``, as is this backend's own
  noise-model error (``noise.py``).

Each is read into one of the two forms the trajectory engine runs:

- :class:`Mixture`: branch j (a small circuit of gates, resets and nested channels on
  the channel's qubits) with a probability that does not depend on the state; one draw
  per trajectory picks the branch.
- :class:`KrausMap`: Kraus matrices whose probabilities depend on the state; the device
  computes each trajectory's <K_i^dagger K_i>, draws, rescales and applies K_i.

Kraus matrices that are all multiples of unitaries are a mixture, and are read as one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from qiskit.circuit import ControlFlowOp, Instruction, QuantumCircuit
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import Kraus, Operator, SparseObservable, SparsePauliOp, SuperOp

from qiskit_cupy.compiler.observables import ObservablePieces, lower_observables
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError

T = TypeVar("T")

#: Instruction names that carry a channel.
CHANNEL_NAMES = ("kraus", "superop", "quantum_channel")
#: How far from trace-preserving, or from a probability distribution, a channel may be.
CHANNEL_ATOL = 1e-8
#: Widest channel the engine applies (its Kraus matrices are dense ops under a mask).
MAX_CHANNEL_QUBITS = 3
#: Instructions a mixture's branch circuit may hold besides unitary gates.
_BRANCH_NON_GATES = frozenset({"reset", "id", "barrier", "delay", *CHANNEL_NAMES})


@dataclass(frozen=True)
class Mixture:
    """Branches picked with fixed probabilities.

    Attributes:
        probabilities: Each branch's probability; they sum to 1.
        branches: Each branch's circuit on the channel's qubits, or None where the
            branch is the identity.
    """

    probabilities: tuple[float, ...]
    branches: tuple[QuantumCircuit | None, ...]


@dataclass(frozen=True)
class KrausMap:
    """Kraus matrices (Qiskit's little-endian order on the channel's qubits)."""

    operators: tuple[np.ndarray, ...]


Channel = Mixture | KrausMap


def read_channel(operation: Instruction, num_qubits: int) -> Channel:
    """Read and check the channel an instruction carries.

    Args:
        operation: An instruction whose name is in CHANNEL_NAMES.
        num_qubits: The qubits it is applied to.

    Returns:
        The channel, as a mixture where its branches' probabilities do not depend on
        the state, else as Kraus matrices.

    Raises:
        InvalidCircuitError: The matrices are not finite, of the wrong shape, or not
            trace-preserving; the probabilities are not a distribution.
        UnsupportedInstructionError: The channel is wider than MAX_CHANNEL_QUBITS or a
            branch holds an instruction that is not a gate, a reset or a channel.
    """
    name = operation.name
    if num_qubits > MAX_CHANNEL_QUBITS:
        raise UnsupportedInstructionError(
            f"'{name}' acts on {num_qubits} qubits; channels of at most {MAX_CHANNEL_QUBITS} run"
        )
    if name == "quantum_channel":
        error = getattr(operation, "_quantum_error", operation)
        if hasattr(error, "probabilities") and hasattr(error, "circuits"):
            return _mixture(name, error.probabilities, error.circuits, num_qubits)
        if len(operation.params) == 1 and operation.definition is not None:  # portable_channels' form
            branches = [instruction.operation.definition for instruction in operation.definition.data]
            return _mixture(name, operation.params[0], branches, num_qubits)
        raise UnsupportedInstructionError(f"'{name}' carries no quantum error this backend can read")
    if name == "superop":
        matrix = _finite_matrix(name, operation.params[0] if operation.params else None, 4**num_qubits)
        try:
            superop = SuperOp(matrix)
        except Exception as error:
            raise InvalidCircuitError(f"'{name}' holds no superoperator: {error}") from error
        if not superop.is_cptp(atol=CHANNEL_ATOL):
            raise InvalidCircuitError(f"'{name}' is not a completely positive, trace-preserving map")
        operators = Kraus(superop).data
    else:
        operators = [_finite_matrix(name, matrix, 2**num_qubits) for matrix in operation.params]
    return _kraus(name, tuple(np.asarray(matrix, dtype=complex) for matrix in operators))


class ChannelCache(Generic[T]):
    """What was read of each channel instruction object, kept for one lowering: a noise
    model appends the same error object after every instruction it follows.

    Args:
        read: Reads an instruction on that many qubits.
    """

    def __init__(self, read: Callable[[Instruction, int], T]) -> None:
        self._read = read
        self._entries: dict[tuple[int, int], tuple[Instruction, T]] = {}

    def get(self, operation: Instruction, num_qubits: int) -> T:
        """What ``read`` gives for the instruction, read on its first use."""
        key = (id(operation), num_qubits)
        entry = self._entries.get(key)
        if entry is None or entry[0] is not operation:
            entry = (operation, self._read(operation, num_qubits))
            self._entries[key] = entry
        return entry[1]


def _finite_matrix(name: str, value: object, size: int) -> np.ndarray:
    try:
        matrix = np.asarray(value, dtype=complex)
    except (TypeError, ValueError) as error:
        raise InvalidCircuitError(f"'{name}' holds a parameter that is not a matrix: {value!r}") from error
    if matrix.shape != (size, size):
        raise InvalidCircuitError(f"'{name}' needs {size}x{size} matrices, not shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise InvalidCircuitError(f"'{name}' holds a matrix that is not finite")
    return matrix


def _kraus(name: str, operators: tuple[np.ndarray, ...]) -> Channel:
    """Kraus matrices, checked trace-preserving; a mixture where each is a multiple of a
    unitary."""
    if not operators:
        raise InvalidCircuitError(f"'{name}' holds no Kraus matrix")
    size = operators[0].shape[0]
    identity = np.eye(size)
    products = [operator.conj().T @ operator for operator in operators]
    if not np.allclose(sum(products), identity, atol=CHANNEL_ATOL):
        raise InvalidCircuitError(f"'{name}' is not trace-preserving: sum of K^dagger K is not the identity")
    weights = [float(np.real(np.trace(product))) / size for product in products]
    if all(
        np.allclose(product, weight * identity, atol=CHANNEL_ATOL)
        for product, weight in zip(products, weights)
    ):
        kept = [(weight, operator) for weight, operator in zip(weights, operators) if weight > CHANNEL_ATOL]
        total = sum(weight for weight, _ in kept)
        branches = tuple(_unitary_branch(operator / np.sqrt(weight)) for weight, operator in kept)
        return Mixture(tuple(weight / total for weight, _ in kept), branches)
    return KrausMap(tuple(operators))


def _unitary_branch(matrix: np.ndarray) -> QuantumCircuit | None:
    """A branch that applies a unitary; None where it is the identity up to a phase."""
    phase = matrix[0, 0] if abs(matrix[0, 0]) > 0.5 else 1.0
    if np.allclose(matrix, phase * np.eye(len(matrix)), atol=CHANNEL_ATOL):
        return None
    width = int(np.log2(len(matrix)))
    circuit = QuantumCircuit(width)
    circuit.append(UnitaryGate(matrix, check_input=False), range(width))
    return circuit


def _mixture(
    name: str, probabilities: Sequence[float], circuits: Sequence[QuantumCircuit], num_qubits: int
) -> Mixture:
    values = np.asarray(probabilities, dtype=float)
    if len(values) != len(circuits) or not len(values):
        raise InvalidCircuitError(f"'{name}' needs one probability per branch circuit")
    if (
        not np.isfinite(values).all()
        or (values < -CHANNEL_ATOL).any()
        or abs(values.sum() - 1) > CHANNEL_ATOL
    ):
        raise InvalidCircuitError(f"'{name}' has branch probabilities that are not a distribution: {values}")
    branches: list[QuantumCircuit | None] = []
    for circuit in circuits:
        if not isinstance(circuit, QuantumCircuit) or circuit.num_qubits != num_qubits or circuit.num_clbits:
            raise InvalidCircuitError(
                f"'{name}' has a branch that is not a circuit on its {num_qubits} qubits"
            )
        for instruction in circuit.data:
            operation = instruction.operation
            if operation.name not in _BRANCH_NON_GATES and not hasattr(operation, "to_matrix"):
                raise UnsupportedInstructionError(
                    f"'{name}' has a branch holding '{operation.name}', which is not a gate, reset or channel"
                )
        branches.append(None if _is_identity(circuit) else circuit)
    return Mixture(tuple(float(max(value, 0.0)) for value in values / values.sum()), tuple(branches))


def _is_identity(circuit: QuantumCircuit) -> bool:
    """Whether a branch does nothing: only gates whose product is a phase times the
    identity (Aer's Pauli errors name their no-error branch ``pauli`` 'I'), barriers
    and delays."""
    names = {instruction.operation.name for instruction in circuit.data}
    if names & {"reset", *CHANNEL_NAMES}:
        return False
    matrix = Operator(circuit).data
    return bool(
        np.allclose(matrix, matrix[0, 0] * np.eye(len(matrix)), atol=CHANNEL_ATOL) and abs(matrix[0, 0]) > 0.5
    )


def kraus_weights(channel: KrausMap, qubits: Sequence[int]) -> tuple[ObservablePieces, np.ndarray]:
    """The device's form of each Kraus operator's weight <K_i^dagger K_i>.

    Args:
        channel: The Kraus matrices.
        qubits: The circuit qubits the channel acts on.

    Returns:
        The observable pieces on those qubits, and float64 coefficients of shape
        (operators, pieces, 2): the weight of operator i is the sum of
        ``coefficients[i, p, 0] * Re(piece p) + coefficients[i, p, 1] * Im(piece p)``.
    """
    observables = [
        SparseObservable.from_sparse_pauli_op(
            SparsePauliOp.from_operator(Operator(operator.conj().T @ operator))
        )
        for operator in channel.operators
    ]
    pieces = lower_observables(observables, list(qubits), "kraus")
    coefficients = np.stack([pieces.weights.real, -pieces.weights.imag], axis=-1)
    return pieces, np.ascontiguousarray(coefficients, dtype=np.float64)


def kraus_operators(operation: Instruction, num_qubits: int) -> tuple[np.ndarray, ...]:
    """Kraus matrices of a channel instruction, read and checked by :func:`read_channel`
    (a mixture's from the superoperator of its branches' own channels)."""
    channel = read_channel(operation, num_qubits)
    if isinstance(channel, KrausMap):
        return channel.operators
    total = SuperOp(np.zeros((4**num_qubits, 4**num_qubits)))
    for probability, branch in zip(channel.probabilities, channel.branches):
        term = SuperOp(np.eye(4**num_qubits)) if branch is None else SuperOp(branch)
        total = total + probability * term
    return tuple(np.asarray(operator) for operator in Kraus(total).data)


def portable_channels(circuit: QuantumCircuit) -> QuantumCircuit:
    """The circuit with each ``quantum_channel`` instruction (whose error QPY does not
    carry) in a form QPY carries, in control-flow blocks too, for shipping: the
    probabilities as its parameter and each branch circuit as one instruction of its
    definition, which :func:`read_channel` reads as the same mixture (so draws, and
    results, are those of the original). The circuit itself where it holds none."""
    if not any(
        instruction.operation.name == "quantum_channel" or isinstance(instruction.operation, ControlFlowOp)
        for instruction in circuit.data
    ):
        return circuit
    portable = circuit.copy_empty_like()
    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, ControlFlowOp):
            operation = operation.replace_blocks([portable_channels(block) for block in operation.blocks])
        elif operation.name == "quantum_channel":
            operation = _portable_mixture(operation)
        portable.append(operation, instruction.qubits, instruction.clbits)
    return portable


def _portable_mixture(operation: Instruction) -> Instruction:
    channel = read_channel(operation, operation.num_qubits)
    if isinstance(channel, KrausMap):
        return Instruction("kraus", operation.num_qubits, 0, list(channel.operators))
    carrier = QuantumCircuit(operation.num_qubits)
    for index, branch in enumerate(channel.branches):
        body = QuantumCircuit(operation.num_qubits) if branch is None else branch
        carrier.append(body.to_instruction(label=f"branch_{index}"), carrier.qubits)
    portable = Instruction("quantum_channel", operation.num_qubits, 0, [np.asarray(channel.probabilities)])
    portable.definition = carrier
    return portable

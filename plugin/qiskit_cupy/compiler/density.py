"""Lowering for ``method="density_matrix"``: rho as a vector of 2n qubits.

The density matrix rho of an n-qubit circuit is held as a state of 2n qubits whose
amplitude ``r + (c << n)`` is ``rho[r, c]``: qubit q of the circuit is position q (the
row index) and position q + n (the column index). Then

- a gate U on qubits Q is U on Q and its complex conjugate on Q + n (rho -> U rho U^dagger);
- a channel with Kraus matrices K_i on Q is the superoperator sum_i conj(K_i) (x) K_i on
  (Q, Q + n); resets and readout errors are such channels;
- |0><0| is the zero state of 2n qubits;
- ``save_density_matrix`` (of every qubit) keeps a copy of the vector, which the result
  shows as a ``DensityMatrix``;
- the probabilities are the diagonal: :class:`DensityDiagonal` turns each rho into an
  n-qubit state whose squared amplitudes are rho's diagonal, which the terminal
  measurement samples as a statevector's.

Every op is an ordinary gate op of the 2n-qubit state, so both devices run density
matrices with the fused kernels of statevectors. Measurements must end the circuit:
what a mid-circuit measurement decides is then known only per shot (trajectories).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from qiskit.circuit import Instruction, QuantumCircuit

from qiskit_cupy.compiler.channels import ChannelCache, kraus_operators
from qiskit_cupy.compiler.gates import DYNAMIC_NAMES, INSTRUCTION_TREATMENTS, Treatment
from qiskit_cupy.compiler.lowering import LoweredCircuit, MeasureTerminal, SaveStatevector, _Lowerer
from qiskit_cupy.compiler.noise import readout_matrix
from qiskit_cupy.compiler.ops import GateOp, ops_from_matrix
from qiskit_cupy.compiler.saves import METHOD_LABEL, save_request
from qiskit_cupy.errors import UnsupportedInstructionError

#: The Kraus matrices of a reset to |0>.
RESET_KRAUS = (np.array([[1, 0], [0, 0]], dtype=complex), np.array([[0, 1], [0, 0]], dtype=complex))


@dataclass(frozen=True)
class DensityDiagonal:
    """The end of a density-matrix program: each rho of 2n qubits becomes the n-qubit
    state whose squared amplitudes are its diagonal (``runtime/steps.py``)."""

    num_qubits: int


@dataclass(frozen=True)
class _Channel:
    """A channel met during the walk, as Kraus matrices on circuit qubits."""

    operators: tuple[np.ndarray, ...]
    qubits: tuple[int, ...]


def superoperator(operators: tuple[np.ndarray, ...]) -> np.ndarray:
    """The superoperator of Kraus matrices on this module's vector layout (row index low).

    Returns:
        sum_i conj(K_i) (x) K_i: its low k index bits act on the row qubits, its high k on
        the column qubits.
    """
    total: np.ndarray = np.sum([np.kron(np.conj(operator), operator) for operator in operators], axis=0)
    return total


def conjugate_shifted(op: GateOp, shift: int) -> GateOp:
    """The complex conjugate of an op, on the qubits ``shift`` above its own."""
    return replace(
        op,
        targets=tuple(target + shift for target in op.targets),
        controls=tuple(control + shift for control in op.controls),
        data=np.conj(op.data),
        source=None,
    )


class _DensityLowerer(_Lowerer):
    """Walks a circuit into the ops of its density matrix."""

    def __init__(self, circuit: QuantumCircuit) -> None:
        super().__init__(circuit, save_final_state=False, allow_parameters=False)
        self.readouts: dict[int, np.ndarray] = {}
        self.channels: ChannelCache[tuple[np.ndarray, ...]] = ChannelCache(kraus_operators)
        self.superoperators: dict[int, tuple[tuple[np.ndarray, ...], np.ndarray]] = {}

    def _lower_instruction(
        self, operation: Instruction, qubits: tuple[int, ...], clbits: tuple[int, ...]
    ) -> None:
        name = operation.name
        treatment = INSTRUCTION_TREATMENTS.get(name)
        if treatment is Treatment.CHANNEL:
            self._check_not_measured(name, qubits)
            self.result.steps.append(_Channel(self.channels.get(operation, len(qubits)), qubits))  # type: ignore[arg-type]  # replaced by ops in lower_density
        elif treatment is Treatment.READOUT:
            self.readouts[clbits[0]] = readout_matrix(operation)
        elif treatment is Treatment.RESET:
            for qubit in qubits:
                self._check_not_measured(name, (qubit,))
                self.result.steps.append(_Channel(RESET_KRAUS, (qubit,)))  # type: ignore[arg-type]  # replaced by ops in lower_density
        elif name in ("save_density_matrix", "save_state"):
            self._save_density_matrix(operation, qubits)
        elif (
            treatment in (Treatment.SAVE, Treatment.SAVE_STATEVECTOR, Treatment.SET_STATE)
            or name in DYNAMIC_NAMES
        ):
            raise UnsupportedInstructionError(
                f"'{name}' is not supported with method 'density_matrix'; use method 'statevector'"
            )
        else:
            super()._lower_instruction(operation, qubits, clbits)

    def _save_density_matrix(self, operation: Instruction, qubits: tuple[int, ...]) -> None:
        """Keep rho under the save's label: of every qubit, in order, before any measurement."""
        label = save_request(operation, qubits, self.circuit.num_qubits).label
        if operation.name == "save_state" and operation.label in (None, METHOD_LABEL):
            label = "density_matrix"
        if qubits != tuple(range(self.circuit.num_qubits)):
            raise UnsupportedInstructionError(
                f"'{operation.name}' with method 'density_matrix' saves every qubit, in order"
            )
        self._check_not_measured(operation.name, qubits)
        self.result.steps.append(SaveStatevector(label))

    def _check_not_measured(self, name: str, qubits: tuple[int, ...]) -> None:
        if self.measured.intersection(qubits):
            raise UnsupportedInstructionError(
                f"'{name}' after a measurement of its qubits: method 'density_matrix' runs "
                "circuits whose measurements all come at the end; use method 'statevector'"
            )

    def lower_density(self) -> LoweredCircuit:
        n = self.circuit.num_qubits
        qubits = {bit: index for index, bit in enumerate(self.circuit.qubits)}
        clbits = {bit: index for index, bit in enumerate(self.circuit.clbits)}
        self._walk(self.circuit, qubits, clbits)
        steps: list[object] = []
        if self.readouts or any(isinstance(step, _Channel) for step in self.result.steps):
            self.result.noise = "superop"
        for step in self.result.steps:
            if isinstance(step, _Channel):
                steps.extend(self._channel_ops(step.operators, step.qubits, n))
            elif isinstance(step, GateOp):
                steps.extend((step, conjugate_shifted(step, n)))
            else:
                steps.append(step)
        steps.extend(self._readout_ops(n))
        steps.append(DensityDiagonal(n))
        if self.result.measured_qubits:
            steps.append(MeasureTerminal(tuple(self.result.measured_qubits)))
        self.result.steps = steps  # type: ignore[assignment]  # the density program's own steps
        return self.result

    def _channel_ops(
        self, operators: tuple[np.ndarray, ...], qubits: tuple[int, ...], n: int
    ) -> list[GateOp]:
        targets = qubits + tuple(qubit + n for qubit in qubits)
        entry = self.superoperators.get(id(operators))
        if entry is None or entry[0] is not operators:
            entry = self.superoperators[id(operators)] = (operators, superoperator(operators))
        return ops_from_matrix(entry[1], targets, name="superop")

    def _readout_ops(self, n: int) -> list[GateOp]:
        """Each readout error as the classical channel on its clbit's measured qubit."""
        by_qubit: dict[int, np.ndarray] = {}
        for clbit, matrix in self.readouts.items():
            if clbit not in self.result.clbit_sources:
                raise UnsupportedInstructionError(f"'roerror' on clbit {clbit}, which no measurement writes")
            qubit = self.result.measured_qubits[self.result.clbit_sources[clbit]]
            if qubit in by_qubit and not np.array_equal(by_qubit[qubit], matrix):
                raise UnsupportedInstructionError(
                    f"qubit {qubit} is read into clbits with different readout errors; "
                    "use method 'statevector'"
                )
            by_qubit[qubit] = matrix
        ops: list[GateOp] = []
        for qubit, matrix in by_qubit.items():
            operators = tuple(_readout_operator(matrix, true, read) for true in (0, 1) for read in (0, 1))
            ops.extend(self._channel_ops(operators, (qubit,), n))
        return ops


def _readout_operator(matrix: np.ndarray, true: int, read: int) -> np.ndarray:
    """The Kraus matrix |read><true| sqrt(matrix[true][read]) of a readout channel."""
    operator = np.zeros((2, 2), dtype=complex)
    operator[read, true] = np.sqrt(matrix[true][read])
    return operator


def lower_density_matrix(circuit: QuantumCircuit) -> LoweredCircuit:
    """Lower a circuit (every parameter bound) into the ops of its density matrix.

    Returns:
        A program on 2 * ``circuit.num_qubits`` qubits, ending in a DensityDiagonal and,
        for a measuring circuit, the terminal measurement.

    Raises:
        InvalidCircuitError: A parameter, matrix or channel is malformed.
        UnsupportedInstructionError: The circuit measures before its end, holds control
            flow or a save instruction, or an instruction that cannot run.
    """
    lowered = _DensityLowerer(circuit).lower_density()
    lowered.num_qubits = 2 * circuit.num_qubits
    lowered.method = "density_matrix"
    return lowered

"""An exact reference for small noisy circuits: the distribution of their clbits.

Independent of the simulator: it evolves a ``qiskit.quantum_info.DensityMatrix`` of the
circuit's qubits plus one ancilla qubit per clbit, through each instruction's own
quantum-information object:

- a gate: its ``Operator``;
- ``kraus``: ``Kraus`` of its matrices; ``superop``: ``SuperOp`` of its matrix;
  ``quantum_channel`` (an Aer ``QuantumError``, or the backend's own error instruction):
  the mixture of its branch circuits' channels, each built the same way;
- ``reset``: the reset channel (Kraus |0><0| and |0><1|);
- ``measure`` of q into c: the ancilla of c is reset, then a CNOT from q copies the
  outcome into it (this dephases q exactly as a measurement does);
- ``roerror`` on c: the classical channel of the readout matrix on c's ancilla.

The clbits' distribution is the diagonal of the ancillas' reduced state. The circuits
must have one classical register (count keys are then plain bit strings).
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction
from qiskit.quantum_info import DensityMatrix, Kraus, Operator, SuperOp

RESET = Kraus([np.array([[1, 0], [0, 0]]), np.array([[0, 1], [0, 0]])])
CNOT = Operator(np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]))  # control qarg 0


def readout_channel(matrix: np.ndarray) -> Kraus:
    """The channel that reads b as r with probability matrix[b][r], on a classical bit."""
    operators = []
    for true in (0, 1):
        for read in (0, 1):
            operator = np.zeros((2, 2))
            operator[read, true] = np.sqrt(matrix[true][read])
            operators.append(operator)
    return Kraus(operators)


def channel_of(operation: Instruction) -> SuperOp:
    """The superoperator of a gate or channel instruction, from its own meaning."""
    name = operation.name
    if name == "kraus":
        return SuperOp(Kraus([np.asarray(matrix) for matrix in operation.params]))
    if name == "superop":
        return SuperOp(np.asarray(operation.params[0]))
    if name == "reset":
        return SuperOp(RESET)
    if name == "quantum_channel":
        error = getattr(operation, "_quantum_error", operation)
        total = None
        for probability, circuit in zip(error.probabilities, error.circuits):
            term = probability * circuit_channel(circuit)
            total = term if total is None else total + term
        return total
    return SuperOp(Operator(operation))


def circuit_channel(circuit: QuantumCircuit) -> SuperOp:
    """The superoperator of a small circuit of gates, resets and channels."""
    index = {bit: position for position, bit in enumerate(circuit.qubits)}
    total = SuperOp(np.eye(4**circuit.num_qubits))
    for instruction in circuit.data:
        if instruction.operation.name in ("barrier", "id", "delay"):
            continue
        qargs = [index[bit] for bit in instruction.qubits]
        total = total.compose(channel_of(instruction.operation), qargs=qargs)
    return total


def noisy_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    """The exact probability of each clbit string (clbit 0 rightmost)."""
    n, c = circuit.num_qubits, circuit.num_clbits
    qubit = {bit: position for position, bit in enumerate(circuit.qubits)}
    clbit = {bit: n + position for position, bit in enumerate(circuit.clbits)}
    state = DensityMatrix.from_int(0, 2 ** (n + c))
    for instruction in circuit.data:
        operation = instruction.operation
        qargs = [qubit[bit] for bit in instruction.qubits]
        if operation.name in ("barrier", "id", "delay"):
            continue
        if operation.name == "measure":
            ancilla = clbit[instruction.clbits[0]]
            state = state.evolve(RESET, [ancilla]).evolve(CNOT, [qargs[0], ancilla])
        elif operation.name == "roerror":
            state = state.evolve(
                readout_channel(np.asarray(operation.params[0])), [clbit[instruction.clbits[0]]]
            )
        else:
            state = state.evolve(channel_of(operation), qargs)
    probabilities = state.probabilities(list(range(n, n + c)))
    return {format(value, f"0{c}b"): float(p) for value, p in enumerate(probabilities) if p > 1e-15}

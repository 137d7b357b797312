"""An exact reference for small dynamic circuits: every branch, with its probability.

Independent of the simulator: it walks the circuit instruction by instruction with
``qiskit.quantum_info.Statevector``, splitting the state at each measurement or reset
into its two outcomes (weighted by their probabilities), and evaluates classical
conditions with Qiskit's own bit and register semantics. It handles what the random
circuits of the tests use: gates, measure, reset, barrier and ``if_else`` on a clbit or
register value (legacy tuple conditions). The result is the exact distribution of the
classical register, as the hex strings ``Result.get_counts`` keys carry after
formatting.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from qiskit.circuit import ClassicalRegister, Clbit, QuantumCircuit
from qiskit.quantum_info import Operator, Statevector

#: Branches lighter than this are dropped (their mass is far below any statistical test).
NEGLIGIBLE = 1e-14


def _condition_holds(condition: tuple, clbits: list[int], index: dict[Clbit, int]) -> bool:
    target, value = condition
    if isinstance(target, Clbit):
        return clbits[index[target]] == int(value)
    if isinstance(target, ClassicalRegister):
        register = sum(clbits[index[bit]] << position for position, bit in enumerate(target))
        return register == int(value)
    raise TypeError(f"reference cannot evaluate condition {condition!r}")


def _project(state: Statevector, qubit: int, outcome: int) -> tuple[float, Statevector]:
    """Probability of ``outcome`` on ``qubit`` and the normalized projected state."""
    data = state.data.copy()
    indices = np.arange(len(data))
    data[((indices >> qubit) & 1) != outcome] = 0
    weight = float(np.vdot(data, data).real)
    if weight < NEGLIGIBLE:
        return 0.0, state
    return weight, Statevector(data / np.sqrt(weight))


def _flip(state: Statevector, qubit: int) -> Statevector:
    indices = np.arange(len(state.data))
    return Statevector(state.data[indices ^ (1 << qubit)])


def exact_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    """The exact probability of each classical register value of a dynamic circuit.

    Returns:
        Register value as a bit string (clbit 0 rightmost) -> probability.
    """
    index = {bit: position for position, bit in enumerate(circuit.clbits)}
    qubit_index = {bit: position for position, bit in enumerate(circuit.qubits)}
    branches = [(1.0, Statevector.from_label("0" * circuit.num_qubits), [0] * circuit.num_clbits)]

    def run(instructions, qubit_map, clbit_map, branches):
        for instruction in instructions:
            operation = instruction.operation
            qubits = [qubit_map[bit] for bit in instruction.qubits]
            clbits = [clbit_map[bit] for bit in instruction.clbits]
            name = operation.name
            if name == "barrier":
                continue
            if name in ("measure", "reset"):
                split = []
                for weight, state, bits in branches:
                    for outcome in (0, 1):
                        probability, projected = _project(state, qubits[0], outcome)
                        if probability * weight < NEGLIGIBLE:
                            continue
                        new_bits = list(bits)
                        if name == "measure":
                            new_bits[clbits[0]] = outcome
                        elif outcome:
                            projected = _flip(projected, qubits[0])
                        split.append((weight * probability, projected, new_bits))
                branches = split
            elif name == "if_else":
                true_body, false_body = operation.params
                taken, other = [], []
                for branch in branches:
                    (taken if _condition_holds(operation.condition, branch[2], index) else other).append(
                        branch
                    )
                inner_q = dict(zip(true_body.qubits, qubits))
                inner_c = {bit: clbits[position] for position, bit in enumerate(true_body.clbits)}
                taken = run(true_body.data, inner_q, inner_c, taken)
                if false_body is not None:
                    inner_q = dict(zip(false_body.qubits, qubits))
                    inner_c = {bit: clbits[position] for position, bit in enumerate(false_body.clbits)}
                    other = run(false_body.data, inner_q, inner_c, other)
                branches = taken + other
            else:
                matrix = Operator(operation)
                branches = [(w, state.evolve(matrix, qargs=qubits), bits) for w, state, bits in branches]
        return branches

    identity_clbits = {bit: position for bit, position in index.items()}
    final = run(circuit.data, qubit_index, identity_clbits, branches)
    distribution: dict[str, float] = defaultdict(float)
    for weight, _, bits in final:
        key = "".join(str(bit) for bit in reversed(bits))
        distribution[key] += weight
    return dict(distribution)

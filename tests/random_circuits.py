"""Random circuits that use every standard gate, for tests against Statevector, and
random dynamic circuits (mid-circuit measurements, resets, conditioned blocks)."""

from __future__ import annotations

import numpy as np
from qiskit.circuit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit.library import (
    DiagonalGate,
    MCPhaseGate,
    MCXGate,
    RXXGate,
    UGate,
    UnitaryGate,
    get_standard_gate_name_mapping,
)
from qiskit.quantum_info import random_clifford, random_unitary

#: Standard gates that act on the state (not measure, reset, delay).
STANDARD_GATES = {
    name: gate
    for name, gate in get_standard_gate_name_mapping().items()
    if name not in ("measure", "reset", "delay")
}


def _standard_gate(name: str, rng: np.random.Generator):
    gate = STANDARD_GATES[name]
    angles = rng.uniform(-2 * np.pi, 2 * np.pi, size=len(gate.params))
    return gate.base_class(*angles) if len(angles) else gate.base_class()


def _extra_gate(kind: str, num_qubits: int, rng: np.random.Generator):
    """Operations beyond the standard set: wide controls, unitaries, annotated operations,
    Cliffords, wide diagonals."""
    if kind == "mcx":
        controls = int(rng.integers(1, num_qubits))
        return MCXGate(controls, ctrl_state=int(rng.integers(0, 1 << controls)))
    if kind == "mcphase":
        controls = int(rng.integers(1, num_qubits))
        return MCPhaseGate(float(rng.uniform(-np.pi, np.pi)), controls)
    if kind == "unitary":
        width = int(rng.integers(1, min(num_qubits, 5) + 1))
        return UnitaryGate(random_unitary(1 << width, seed=int(rng.integers(1 << 30))))
    if kind == "controlled_rotation":
        angles = rng.uniform(-np.pi, np.pi, size=3)
        base = UGate(*angles) if num_qubits == 2 or rng.random() < 0.5 else RXXGate(angles[0])
        controls = int(rng.integers(1, min(num_qubits - base.num_qubits, 4) + 1))
        state = int(rng.integers(0, 1 << controls))
        return base.control(controls, ctrl_state=state, annotated=False)
    if kind == "annotated":
        base = UGate(*rng.uniform(-np.pi, np.pi, size=3)).inverse(annotated=True)
        controls = int(rng.integers(1, min(num_qubits - 1, 3) + 1))
        return base.control(controls, ctrl_state=int(rng.integers(0, 1 << controls)), annotated=True)
    if kind == "clifford":
        return random_clifford(min(num_qubits, 3), seed=int(rng.integers(1 << 30)))
    width = int(rng.integers(1, num_qubits + 1))
    return DiagonalGate(list(np.exp(1j * rng.uniform(-np.pi, np.pi, size=1 << width))))


EXTRA_KINDS = ("mcx", "mcphase", "unitary", "controlled_rotation", "annotated", "clifford", "diagonal")


def random_circuit(num_qubits: int, num_gates: int, seed: int) -> QuantumCircuit:
    """Return a circuit of random gates on random, randomly ordered qubits.

    Standard gates are drawn uniformly from every one that fits; one gate in five is
    an extra kind (see EXTRA_KINDS).
    """
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(num_qubits, name=f"random_{num_qubits}_{seed}")
    names = [name for name, gate in STANDARD_GATES.items() if gate.num_qubits <= num_qubits]
    for _ in range(num_gates):
        if num_qubits >= 2 and rng.random() < 0.2:
            gate = _extra_gate(str(rng.choice(EXTRA_KINDS)), num_qubits, rng)
        else:
            gate = _standard_gate(str(rng.choice(names)), rng)
        qubits = [int(q) for q in rng.permutation(num_qubits)[: gate.num_qubits]]
        circuit.append(gate, qubits)
    circuit.global_phase = float(rng.uniform(-np.pi, np.pi))
    return circuit


def low_heavy_circuit(num_qubits: int, num_gates: int, seed: int, low: int = 8) -> QuantumCircuit:
    """Return a random circuit whose gates mostly act on its lowest ``low`` qubits.

    Every qubit starts in a random product state; then stretches of random gates on the
    low qubits (which a GPU applies as blocked runs once the state is wider than its
    shared-memory block) alternate with single random gates on any qubit.
    """
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(num_qubits, name=f"low_heavy_{num_qubits}_{seed}")
    for qubit in range(num_qubits):
        circuit.ry(float(rng.uniform(0.2, 2.9)), qubit)
        circuit.rz(float(rng.uniform(-3, 3)), qubit)
    narrow = random_circuit(low, num_gates, seed + 1)
    wide = random_circuit(num_qubits, max(1, num_gates // 6), seed + 2)
    for index, instruction in enumerate(narrow.data):
        circuit.append(instruction.operation, [narrow.find_bit(q).index for q in instruction.qubits])
        if index % 6 == 5 and index // 6 < len(wide.data):
            extra = wide.data[index // 6]
            circuit.append(extra.operation, [wide.find_bit(q).index for q in extra.qubits])
    circuit.global_phase = narrow.global_phase + wide.global_phase
    return circuit


def random_dynamic_circuit(seed: int, num_qubits: int = 3, depth: int = 8) -> QuantumCircuit:
    """Random unitaries, mid-circuit measurements, resets and conditioned blocks."""
    rng = np.random.default_rng(seed)
    creg = ClassicalRegister(num_qubits, "c")
    circuit = QuantumCircuit(QuantumRegister(num_qubits), creg)
    for _ in range(depth):
        kind = rng.integers(5)
        qubit = int(rng.integers(num_qubits))
        if kind == 0:
            circuit.measure(qubit, int(rng.integers(num_qubits)))
        elif kind == 1:
            circuit.reset(qubit)
        elif kind == 2:
            condition = (creg[int(rng.integers(num_qubits))], int(rng.integers(2)))
            body_qubits = sorted(rng.choice(num_qubits, size=2, replace=False).tolist())
            with circuit.if_test(condition) as otherwise:
                circuit.append(UnitaryGate(random_unitary(4, seed=int(rng.integers(1 << 30)))), body_qubits)
            if rng.integers(2):
                with otherwise:
                    circuit.append(UnitaryGate(random_unitary(2, seed=int(rng.integers(1 << 30)))), [qubit])
        else:
            pair = rng.choice(num_qubits, size=2, replace=False).tolist()
            circuit.append(UnitaryGate(random_unitary(4, seed=int(rng.integers(1 << 30)))), pair)
    circuit.measure(range(num_qubits), range(num_qubits))
    return circuit


def measured_randomly(circuit: QuantumCircuit, rng: np.random.Generator) -> QuantumCircuit:
    """The circuit with every qubit measured, or a random subset in random order (the
    marginal path)."""
    if rng.random() < 0.5:
        circuit.measure_all()
        return circuit
    count = int(rng.integers(1, circuit.num_qubits + 1))
    qubits = [int(q) for q in rng.permutation(circuit.num_qubits)[:count]]
    measured = QuantumCircuit(circuit.num_qubits, count, name=circuit.name)
    measured.compose(circuit, inplace=True)
    measured.global_phase = circuit.global_phase
    measured.measure(qubits, range(count))
    return measured

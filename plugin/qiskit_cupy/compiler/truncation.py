"""Idle qubits removed from a circuit, as Aer's truncation removes them.

A circuit transpiled for a large device names all of its qubits but acts on a few; the
others stay |0> and a state over them would not fit anywhere. The primitives run the
circuit on the qubits it uses (and those its observables act on) instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from qiskit.circuit import Barrier, QuantumCircuit, QuantumRegister

#: Instructions that do nothing to a state: they alone do not make a qubit used.
_NO_OPS = frozenset({"barrier", "delay"})


def truncate_idle_qubits(
    circuit: QuantumCircuit, keep: Iterable[int] = ()
) -> tuple[QuantumCircuit, list[int]]:
    """Return the circuit on the qubits it uses or that ``keep`` names, and where each went.

    Barriers lose their idle qubits and delays on idle qubits are dropped. A circuit
    that uses every qubit, declares classical variables, or would lose a parameter, is
    returned as it is.

    Args:
        circuit: The circuit.
        keep: Qubit indices to keep even if no instruction uses them.

    Returns:
        The circuit to run, and for each original qubit its index there (-1 if removed).
    """
    used = set(keep)
    for instruction in circuit.data:
        if instruction.operation.name not in _NO_OPS:
            used.update(circuit.find_bit(qubit).index for qubit in instruction.qubits)
    identity = list(range(circuit.num_qubits))
    if len(used) == circuit.num_qubits or circuit.num_vars:
        return circuit, identity
    order = sorted(used)
    position = {old: new for new, old in enumerate(order)}
    smaller = QuantumCircuit(
        QuantumRegister(len(order), "q"),
        name=circuit.name,
        global_phase=circuit.global_phase,
        metadata=circuit.metadata,
    )
    smaller.add_bits(circuit.clbits)  # in their order: clbit k stays bit k of memory
    for register in circuit.cregs:
        smaller.add_register(register)
    for instruction in circuit.data:
        indices = [circuit.find_bit(qubit).index for qubit in instruction.qubits]
        kept = [smaller.qubits[position[index]] for index in indices if index in position]
        operation = instruction.operation
        if operation.name == "barrier":
            if kept:
                smaller.append(Barrier(len(kept), label=operation.label), kept)
            continue
        if len(kept) < len(indices):  # a delay on an idle qubit
            continue
        smaller.append(operation, kept, instruction.clbits, copy=False)
    if set(smaller.parameters) != set(circuit.parameters):
        return circuit, identity
    return smaller, [position.get(index, -1) for index in identity]

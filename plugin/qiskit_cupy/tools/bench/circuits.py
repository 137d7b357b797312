"""The benchmark circuits, the widths they are built at, and their conversion to cirq.

The same transpiled circuits (QFT, a qsim-style random circuit, a hardware-efficient
ansatz, GHZ) run on every simulator asked for: :func:`benchmark_circuit` builds one and
transpiles it to :data:`BASIS_GATES`, and :func:`to_cirq` gives qsim that same circuit.
:func:`parse_qubits` and :func:`format_qubits` read and write the widths as ``--qubits``
takes them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate, UGate, efficient_su2

#: Seed of the random circuits, the ansatz parameters and every simulator's sampler.
SEED = 1234
#: Layers (rotations, then a CX ladder) of the hardware-efficient ansatz.
HEA_LAYERS = 4
#: The gates every benchmark circuit is transpiled to before any simulator sees it.
BASIS_GATES = ("h", "x", "sx", "rx", "ry", "rz", "p", "r", "u", "cx", "cz", "cp", "swap", "reset")


def qft_circuit(num_qubits: int) -> QuantumCircuit:
    """Hadamards on every qubit, then the quantum Fourier transform, measured.

    Args:
        num_qubits: The width.

    Returns:
        The circuit (QFTGate not yet decomposed).
    """
    circuit = QuantumCircuit(num_qubits, name=f"qft_{num_qubits}")
    circuit.h(range(num_qubits))
    circuit.append(QFTGate(num_qubits), range(num_qubits))
    circuit.measure_all()
    return circuit


def random_circuit(num_qubits: int, seed: int = SEED) -> QuantumCircuit:
    """A qsim-style random circuit of depth equal to its width, measured.

    After a layer of Hadamards, each layer applies to every qubit a random choice of
    sqrt(X), sqrt(Y) and sqrt(W) (W = (X + Y) / sqrt(2)), never the same gate twice in a
    row on one qubit, then CZ on neighbouring pairs, alternating between even and odd
    pairs from layer to layer.

    Args:
        num_qubits: The width and the number of layers.
        seed: Seed of the gate choices.

    Returns:
        The circuit, in ``r``, ``h`` and ``cz`` gates.
    """
    rng = np.random.default_rng(seed)
    # R(pi/2, phi) is a square root of cos(phi) X + sin(phi) Y: sqrt(X), sqrt(Y), sqrt(W).
    axes = (0.0, math.pi / 2, math.pi / 4)
    circuit = QuantumCircuit(num_qubits, name=f"random_{num_qubits}")
    circuit.h(range(num_qubits))
    previous = [-1] * num_qubits
    for layer in range(num_qubits):
        for qubit in range(num_qubits):
            choice = int(rng.choice([axis for axis in range(len(axes)) if axis != previous[qubit]]))
            previous[qubit] = choice
            circuit.r(math.pi / 2, axes[choice], qubit)
        for qubit in range(layer % 2, num_qubits - 1, 2):
            circuit.cz(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def hea_circuit(num_qubits: int, seed: int = SEED) -> QuantumCircuit:
    """A hardware-efficient ansatz with random bound parameters, measured.

    :data:`HEA_LAYERS` layers of RY and RZ on every qubit followed by a CX ladder, then a
    last rotation layer (Qiskit's ``efficient_su2`` with linear entanglement).

    Args:
        num_qubits: The width.
        seed: Seed of the parameter values, drawn uniformly from [0, 2 pi).

    Returns:
        The circuit with every parameter bound.
    """
    ansatz = efficient_su2(num_qubits, ["ry", "rz"], entanglement="linear", reps=HEA_LAYERS)
    values = np.random.default_rng(seed).uniform(0.0, 2 * math.pi, ansatz.num_parameters)
    circuit = ansatz.assign_parameters(values)
    circuit.name = f"hea_{num_qubits}"
    circuit.measure_all()
    return circuit


def ghz_circuit(num_qubits: int) -> QuantumCircuit:
    """A GHZ state (Hadamard, then a CX chain), measured.

    Args:
        num_qubits: The width.

    Returns:
        The circuit.
    """
    circuit = QuantumCircuit(num_qubits, name=f"ghz_{num_qubits}")
    circuit.h(0)
    for qubit in range(num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


#: Layers of the mid-circuit measurement benchmark.
MIDCIRCUIT_LAYERS = 10
#: Syndrome rounds of the repetition-code benchmark.
REPETITION_ROUNDS = 5


def midcircuit_circuit(num_qubits: int, seed: int = SEED) -> QuantumCircuit:
    """Layers of random one-qubit gates and a CX chain, each followed by a mid-circuit
    measurement of two qubits; then every qubit is measured.

    Layer l measures qubits 2l and 2l + 1 (mod the width) into clbits of their own, so
    that the circuit keeps going on the collapsed state.

    Args:
        num_qubits: The width (at least 2).
        seed: Seed of the one-qubit gates' angles.

    Returns:
        The circuit: ``MIDCIRCUIT_LAYERS`` x 2 mid-circuit clbits, then the final ones.
    """
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(num_qubits, 2 * MIDCIRCUIT_LAYERS + num_qubits, name=f"midcircuit_{num_qubits}")
    for layer in range(MIDCIRCUIT_LAYERS):
        for qubit in range(num_qubits):
            circuit.u(*rng.uniform(0, 2 * math.pi, 3), qubit)
        for qubit in range(num_qubits - 1):
            circuit.cx(qubit, qubit + 1)
        for offset in range(2):
            circuit.measure((2 * layer + offset) % num_qubits, 2 * layer + offset)
    circuit.measure(range(num_qubits), range(2 * MIDCIRCUIT_LAYERS, circuit.num_clbits))
    return circuit


def repetition_code_circuit(num_qubits: int) -> QuantumCircuit:
    """Rounds of bit-flip repetition-code syndrome measurement on an encoded state.

    d = (width + 1) // 2 data qubits (even indices) and d - 1 ancillas between them (an
    even width leaves its last qubit idle).
    The data hold cos(0.6)|0...0> + sin(0.6)|1...1>; each round entangles every
    ancilla with its two neighbours, measures it and resets it. The data are measured
    at the end.

    Args:
        num_qubits: The width, at least 3 (9 gives distance 5).

    Returns:
        The circuit: ``REPETITION_ROUNDS`` x (d - 1) syndrome clbits, then d data clbits.
    """
    distance = (num_qubits + 1) // 2
    data = [2 * index for index in range(distance)]
    ancillas = [2 * index + 1 for index in range(distance - 1)]
    circuit = QuantumCircuit(
        num_qubits, REPETITION_ROUNDS * len(ancillas) + distance, name=f"repcode_{num_qubits}"
    )
    circuit.ry(1.2, data[0])
    for qubit in data[1:]:
        circuit.cx(data[0], qubit)
    for round_index in range(REPETITION_ROUNDS):
        for position, ancilla in enumerate(ancillas):
            circuit.cx(ancilla - 1, ancilla)
            circuit.cx(ancilla + 1, ancilla)
            circuit.measure(ancilla, round_index * len(ancillas) + position)
            circuit.reset(ancilla)
    circuit.measure(data, range(REPETITION_ROUNDS * len(ancillas), circuit.num_clbits))
    return circuit


#: The benchmark circuits by name: each takes the width and returns a measured circuit.
CIRCUITS: dict[str, Callable[[int], QuantumCircuit]] = {
    "qft": qft_circuit,
    "random": random_circuit,
    "hea": hea_circuit,
    "ghz": ghz_circuit,
    "midcircuit": midcircuit_circuit,
    "repcode": repetition_code_circuit,
}

#: Circuits with mid-circuit measurement or reset. They are not in the default
#: ``--circuits`` (their peers run one shot at a time, too slowly for every width).
DYNAMIC_CIRCUITS: frozenset[str] = frozenset({"midcircuit", "repcode"})

#: What ``--circuits`` runs by default: the static circuits.
DEFAULT_CIRCUITS: tuple[str, ...] = tuple(name for name in CIRCUITS if name not in DYNAMIC_CIRCUITS)


def benchmark_circuit(name: str, num_qubits: int) -> QuantumCircuit:
    """Build a benchmark circuit and transpile it to :data:`BASIS_GATES`, unoptimized.

    Every simulator is given this same circuit.

    Args:
        name: A key of :data:`CIRCUITS`.
        num_qubits: The width.

    Returns:
        The transpiled circuit.
    """
    return transpile(CIRCUITS[name](num_qubits), basis_gates=list(BASIS_GATES), optimization_level=0)


def parse_qubits(text: str) -> tuple[int, ...]:
    """Read widths: a comma-separated list of numbers and inclusive ``start:stop[:step]`` ranges.

    Args:
        text: For example ``"4:26:2"``, ``"4,6,10"`` or ``"4:8,12"``.

    Returns:
        The distinct widths, ascending.

    Raises:
        ValueError: The text is not of that form, or a width is below 1.
    """
    widths: set[int] = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            bounds = [int(bound) for bound in item.split(":")]
        except ValueError:
            raise ValueError(f"{item!r} is neither a width nor start:stop[:step]") from None
        if len(bounds) > 3 or (len(bounds) == 3 and bounds[2] < 1):
            raise ValueError(f"{item!r}: write start:stop or start:stop:step with step >= 1")
        start, stop = bounds[0], bounds[min(1, len(bounds) - 1)]
        step = bounds[2] if len(bounds) == 3 else 1
        widths.update(range(start, stop + 1, step))
    if not widths or min(widths) < 1:
        raise ValueError(f"{text!r}: give widths of at least 1 qubit")
    return tuple(sorted(widths))


def format_qubits(widths: Sequence[int]) -> str:
    """Write widths back as :func:`parse_qubits` reads them, as a range where they are one.

    Args:
        widths: Ascending widths.

    Returns:
        ``start:stop:step`` for three or more evenly spaced widths, else a comma list.
    """
    steps = {later - earlier for earlier, later in zip(widths, widths[1:])}
    if len(widths) >= 3 and len(steps) == 1:
        return f"{widths[0]}:{widths[-1]}:{steps.pop()}"
    return ",".join(map(str, widths))


# ---------------------------------------------------------------- cirq conversion


@functools.cache
def _cirq_gates() -> dict[str, Callable[..., Any]]:
    """Map each of :data:`BASIS_GATES` to a function of its parameters giving the cirq gate.

    Each cirq gate equals the Qiskit gate up to a global phase.
    """
    import cirq

    def fixed(gate: Any) -> Callable[[], Any]:
        return lambda: gate

    return {
        "h": fixed(cirq.H),
        "x": fixed(cirq.X),
        "sx": fixed(cirq.X**0.5),
        "rx": cirq.rx,
        "ry": cirq.ry,
        "rz": cirq.rz,
        "p": lambda angle: cirq.ZPowGate(exponent=angle / math.pi),
        "r": lambda theta, phi: cirq.PhasedXPowGate(phase_exponent=phi / math.pi, exponent=theta / math.pi),
        "cx": fixed(cirq.CNOT),
        "cz": fixed(cirq.CZ),
        "cp": lambda angle: cirq.CZPowGate(exponent=angle / math.pi),
        "swap": fixed(cirq.SWAP),
        "u": lambda theta, phi, lam: cirq.MatrixGate(UGate(theta, phi, lam).to_matrix()),
    }


def measured_clbit_qubits(circuit: QuantumCircuit) -> list[int]:
    """Return, for each classical bit in order, the index of the qubit measured into it.

    Raises:
        ValueError: A classical bit is never measured into.
    """
    sources: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            clbit = circuit.find_bit(instruction.clbits[0]).index
            sources[clbit] = circuit.find_bit(instruction.qubits[0]).index
    if sorted(sources) != list(range(circuit.num_clbits)):
        raise ValueError(f"circuit '{circuit.name}': every classical bit must be measured into")
    return [sources[clbit] for clbit in range(circuit.num_clbits)]


def to_cirq(circuit: QuantumCircuit, measure: bool = True) -> Any:
    """Convert a circuit in :data:`BASIS_GATES` to cirq, on ``LineQubit(i)`` for qubit ``i``.

    Args:
        circuit: The circuit (measurements and barriers are dropped).
        measure: End with one measurement, key ``"m"``, of the qubits measured into
            classical bits 0, 1, ... in that order.

    Returns:
        The ``cirq.Circuit``.

    Raises:
        ValueError: The circuit holds a gate outside :data:`BASIS_GATES`.
    """
    import cirq

    gates = _cirq_gates()
    qubits = cirq.LineQubit.range(circuit.num_qubits)
    operations = []
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in ("measure", "barrier"):
            continue
        if name not in gates:
            raise ValueError(f"gate '{name}' is not one of the benchmark basis gates")
        targets = [qubits[circuit.find_bit(qubit).index] for qubit in instruction.qubits]
        parameters = [float(value) for value in instruction.operation.params]
        operations.append(gates[name](*parameters).on(*targets))
    if measure:
        measured = [qubits[index] for index in measured_clbit_qubits(circuit)]
        operations.append(cirq.measure(*measured, key="m"))
    return cirq.Circuit(operations)

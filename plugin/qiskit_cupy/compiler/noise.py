"""Noise models: which error follows which instruction, and the noisy circuit it makes.

A :class:`NoiseTable` says, as Qiskit Aer's ``NoiseModel`` does, which quantum error
acts at each instruction (by name, on given qubits or on any) and which readout error
corrupts each measured bit. It is read from an Aer ``NoiseModel`` through its public
``to_dict()`` and ``QuantumError.from_dict`` (so qiskit-aer is needed only by users
who built one).

:func:`NoiseTable.apply` writes the errors into a copy of a circuit, where Aer applies
them: a quantum error after its instruction, but before a measurement; errors of a
multi-qubit measure or reset qubit by qubit; a readout error (``roerror``) on each
measured clbit; and inside control-flow blocks too. A local error on an instruction's
qubits takes precedence over an all-qubit error. The noisy circuit then runs as
trajectories (``dynamic.py``), its channels read by ``channels.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit.circuit import ControlFlowOp, Instruction, Measure, QuantumCircuit

from qiskit_cupy.errors import InvalidCircuitError, InvalidOptionError

#: How far a readout error's rows may be from summing to one.
READOUT_ATOL = 1e-8


class ErrorChannel(Instruction):  # type: ignore[misc]  # qiskit is untyped: Instruction is Any
    """A quantum error in a circuit: branch circuits picked with fixed probabilities.

    Named ``quantum_channel`` and read like Qiskit Aer's own ``QuantumError``
    instruction (``probabilities`` and ``circuits``).
    """

    def __init__(self, probabilities: Sequence[float], circuits: Sequence[QuantumCircuit]) -> None:
        super().__init__("quantum_channel", circuits[0].num_qubits, 0, [])
        self.probabilities = tuple(float(value) for value in probabilities)
        self.circuits = tuple(circuits)


class ReadoutErrorInstruction(Instruction):  # type: ignore[misc]  # qiskit is untyped: Instruction is Any
    """A readout error on one measured clbit: ``params[0][true][read]`` is the
    probability of reading ``read`` where the measurement gave ``true``."""

    def __init__(self, probabilities: np.ndarray) -> None:
        super().__init__("roerror", 0, 1, [np.asarray(probabilities, dtype=float)])


@dataclass
class NoiseTable:
    """Which error acts where.

    Attributes:
        default_errors: The error of an instruction name on any qubits.
        local_errors: The error of an instruction name on given qubits.
        default_readout: The readout error of every measured qubit without one of its own.
        local_readout: The readout error of given qubits.
    """

    default_errors: dict[str, ErrorChannel] = field(default_factory=dict)
    local_errors: dict[str, dict[tuple[int, ...], ErrorChannel]] = field(default_factory=dict)
    default_readout: np.ndarray | None = None
    local_readout: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def is_ideal(self) -> bool:
        """Whether the table holds no error at all."""
        return not (
            self.default_errors or self.local_errors or self.default_readout is not None or self.local_readout
        )

    def add_error(self, error: ErrorChannel, names: Sequence[str], qubits: tuple[int, ...] | None) -> None:
        """Set the error of instructions ``names``, on ``qubits`` or (None) on any."""
        for name in names:
            if qubits is None:
                self.default_errors[name] = error
            else:
                self.local_errors.setdefault(name, {})[qubits] = error

    def add_readout(self, probabilities: np.ndarray, qubit: int | None) -> None:
        """Set the readout error of ``qubit`` or (None) of every qubit.

        Raises:
            InvalidOptionError: The matrix is not 2x2 with rows that are distributions.
        """
        matrix = np.asarray(probabilities, dtype=float)
        if matrix.shape != (2, 2):
            raise InvalidOptionError(
                f"noise_model: a readout error must act on one qubit (a 2x2 matrix), not shape {matrix.shape}"
            )
        if (
            not np.isfinite(matrix).all()
            or (matrix < 0).any()
            or not np.allclose(matrix.sum(axis=1), 1, atol=READOUT_ATOL)
        ):
            raise InvalidOptionError(
                f"noise_model: readout error rows must be probability distributions: {matrix.tolist()}"
            )
        if qubit is None:
            self.default_readout = matrix
        else:
            self.local_readout[qubit] = matrix

    def error_for(self, name: str, qubits: tuple[int, ...]) -> ErrorChannel | None:
        """The error of instruction ``name`` on ``qubits``: the local one, else the default."""
        local = self.local_errors.get(name, {}).get(qubits)
        return local if local is not None else self.default_errors.get(name)

    def readout_for(self, qubit: int) -> np.ndarray | None:
        """The readout error of a measured qubit, if any."""
        local = self.local_readout.get(qubit)
        return local if local is not None else self.default_readout

    def apply(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """Return a copy of ``circuit`` with every error of the table written in.

        Raises:
            InvalidOptionError: An error's width does not match its instruction's.
        """
        if self.is_ideal:
            return circuit
        return self._noisy(circuit, list(range(circuit.num_qubits)))

    def _noisy(self, circuit: QuantumCircuit, outer: list[int]) -> QuantumCircuit:
        """A copy of ``circuit`` with errors; its qubit i is qubit ``outer[i]`` of the
        top-level circuit, whose indices the table's local errors name."""
        noisy = circuit.copy_empty_like()
        index = {bit: position for position, bit in enumerate(circuit.qubits)}
        for instruction in circuit.data:
            operation = instruction.operation
            qubits = tuple(outer[index[bit]] for bit in instruction.qubits)
            if isinstance(operation, ControlFlowOp):
                blocks = [self._noisy(block, list(qubits)) for block in operation.blocks]
                noisy.append(operation.replace_blocks(blocks), instruction.qubits, instruction.clbits)
                continue
            if operation.name == "measure":
                for bit, clbit, qubit in zip(instruction.qubits, instruction.clbits, qubits):
                    self._append_error(noisy, "measure", (qubit,), (bit,))
                    noisy.append(Measure(), (bit,), (clbit,))
                    readout = self.readout_for(qubit)
                    if readout is not None:
                        noisy.append(ReadoutErrorInstruction(readout), (), (clbit,))
                continue
            noisy.append(instruction)
            if operation.name == "reset":
                for bit, qubit in zip(instruction.qubits, qubits):
                    self._append_error(noisy, "reset", (qubit,), (bit,))
            elif instruction.qubits:
                self._append_error(noisy, operation.name, qubits, instruction.qubits)
        return noisy

    def _append_error(
        self, noisy: QuantumCircuit, name: str, qubits: tuple[int, ...], bits: Sequence[Any]
    ) -> None:
        error = self.error_for(name, qubits)
        if error is None:
            return
        if error.num_qubits != len(qubits):
            raise InvalidOptionError(
                f"noise_model: the error of '{name}' acts on {error.num_qubits} qubits, "
                f"but '{name}' on qubits {list(qubits)} acts on {len(qubits)}"
            )
        noisy.append(error, list(bits))


def readout_matrix(operation: Instruction) -> np.ndarray:
    """The checked 2x2 matrix of a ``roerror`` instruction.

    Raises:
        InvalidCircuitError: It is not on one clbit, or its rows are not distributions.
    """
    matrix = np.asarray(operation.params[0] if operation.params else None, dtype=float)
    if operation.num_clbits != 1 or matrix.shape != (2, 2):
        raise InvalidCircuitError("'roerror' must hold a 2x2 matrix and act on one clbit")
    if (
        not np.isfinite(matrix).all()
        or (matrix < 0).any()
        or not np.allclose(matrix.sum(axis=1), 1, atol=READOUT_ATOL)
    ):
        raise InvalidCircuitError(f"'roerror' rows must be probability distributions: {matrix.tolist()}")
    return matrix


def is_aer_noise_model(value: Any) -> bool:
    """Whether ``value`` is a Qiskit Aer ``NoiseModel`` (without importing qiskit-aer)."""
    return any(
        cls.__name__ == "NoiseModel" and cls.__module__.startswith("qiskit_aer")
        for cls in type(value).__mro__
    )


def table_from_aer(model: Any) -> NoiseTable:
    """Read a Qiskit Aer ``NoiseModel`` through its public API.

    Raises:
        InvalidOptionError: The model holds an error this backend cannot run (a
            non-local error, a multi-qubit readout error) or that its public form does
            not carry (Aer's ``to_dict`` refuses it, as it does Pauli-Lindblad errors).
    """
    from qiskit_aer.noise import QuantumError

    try:
        entries = model.to_dict()["errors"]
    except Exception as failure:  # Aer's own NoiseError, for errors it cannot write out
        raise InvalidOptionError(f"noise_model: this noise model cannot be read: {failure}") from failure
    table = NoiseTable()
    for entry in entries:
        if entry.get("noise_qubits"):
            raise InvalidOptionError("noise_model: non-local quantum errors are not supported")
        qubit_sets: list[tuple[int, ...] | None] = [
            tuple(int(q) for q in qubits) for qubits in entry.get("gate_qubits") or ()
        ] or [None]
        if entry["type"] == "roerror":
            for qubits in qubit_sets:
                if qubits is not None and len(qubits) != 1:
                    raise InvalidOptionError(
                        f"noise_model: readout errors on several qubits at once ({list(qubits)}) "
                        "are not supported"
                    )
                table.add_readout(
                    np.asarray(entry["probabilities"], dtype=float), None if qubits is None else qubits[0]
                )
            continue
        try:
            quantum_error = QuantumError.from_dict(entry)
        except Exception as failure:  # Aer's NoiseError: an error kind it cannot read back
            raise InvalidOptionError(
                f"noise_model: the error of {entry.get('operations')} cannot be read: {failure}"
            ) from failure
        channel = ErrorChannel(quantum_error.probabilities, quantum_error.circuits)
        for qubits in qubit_sets:
            table.add_error(channel, entry["operations"], qubits)
    return table


def noise_table(value: Any) -> NoiseTable | None:
    """The ``noise_model`` option read as a table: None for no model.

    Raises:
        InvalidOptionError: ``value`` is not a noise model, or holds an error that
            cannot run.
    """
    if value is None:
        return None
    if isinstance(value, NoiseTable):
        return value
    if is_aer_noise_model(value):
        table = table_from_aer(value)
        return None if table.is_ideal else table
    if isinstance(value, Mapping):
        raise InvalidOptionError(
            "noise_model must be a qiskit_aer.noise.NoiseModel, not a dict (use NoiseModel.from_dict)"
        )
    raise InvalidOptionError(
        f"noise_model must be a qiskit_aer.noise.NoiseModel or None, not {type(value).__name__}"
    )

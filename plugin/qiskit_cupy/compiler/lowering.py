"""Lowering: a QuantumCircuit becomes instructions: gate ops, save points, terminal measurement.

The executor turns each instruction into a step (``runtime/steps.py``) that enqueues
itself on a device; gate ops are the compiler's IR (``ops.py``), the others are the
small records below.
"""

from __future__ import annotations

import cmath
from dataclasses import dataclass, field
from typing import TypeGuard

import numpy as np
from qiskit.circuit import (
    AnnotatedOperation,
    Clbit,
    ControlledGate,
    ControlModifier,
    Gate,
    Instruction,
    InverseModifier,
    Operation,
    ParameterExpression,
    QuantumCircuit,
    Qubit,
)
from qiskit.circuit.library import GlobalPhaseGate
from qiskit.quantum_info import Operator

from qiskit_cupy.compiler.gate_ops import (
    family_gate,
    is_parametric,
    is_standard,
    on_qubits,
    ops_of_gate,
    probe_matrix,
)
from qiskit_cupy.compiler.gates import DYNAMIC_NAMES, INSTRUCTION_TREATMENTS, Treatment
from qiskit_cupy.compiler.observables import EvaluateObservables
from qiskit_cupy.compiler.ops import SWAP_PERMUTATION, GateOp, OpKind, ops_from_matrix
from qiskit_cupy.compiler.parametric import MatrixFamily, matrix_family
from qiskit_cupy.compiler.saves import save_request
from qiskit_cupy.compiler.validation import (
    check_circuit,
    float_parameter,
    require_unitary,
    statevector_parameter,
)
from qiskit_cupy.errors import UnsupportedInstructionError

#: Label of the final state kept by the ``save_statevector`` option.
FINAL_STATEVECTOR_LABEL = "statevector"


@dataclass(frozen=True)
class SaveStatevector:
    """A point in the program where a copy of the state is kept under ``label``."""

    label: str


@dataclass(frozen=True, eq=False)
class SetStatevector:
    """A point in the program where every state of the batch becomes ``amplitudes``
    (Aer's ``set_statevector``)."""

    amplitudes: np.ndarray


@dataclass(frozen=True)
class MeasureTerminal:
    """The end of a measuring circuit: sample ``qubits``; bit t of an outcome is qubits[t]."""

    qubits: tuple[int, ...]


#: One lowered instruction (the estimator appends an EvaluateObservables to its circuits').
LoweredInstruction = GateOp | SaveStatevector | SetStatevector | MeasureTerminal | EvaluateObservables


@dataclass(frozen=True)
class ParametricData:
    """How to compute a parametric op's data for any parameter values.

    The op's data is ``family.flat_matrices(values)[:, op.source]`` where ``values``
    are ``expressions`` evaluated for the bound circuit parameters.
    """

    family: MatrixFamily
    expressions: tuple[ParameterExpression | float, ...]


@dataclass
class LoweredCircuit:
    """A circuit as the executor runs it.

    Attributes:
        num_qubits: Width of the state.
        num_clbits: Number of classical bits of the result.
        steps: The instructions: gate ops and save points, in order, then the terminal
            measurement of a measuring circuit.
        measured_qubits: Distinct measured qubits, in order of first measurement; bit t
            of a sampled outcome is the value of ``measured_qubits[t]``.
        clbit_sources: For each measured clbit, the index into ``measured_qubits`` of
            the qubit whose value it holds (the last measurement into it wins).
        method: ``"statevector"``, or ``"density_matrix"`` for a density matrix held as
            a state of twice the circuit's qubits (``density.py``).
        noise: ``"ideal"``, or ``"superop"`` for a density matrix through channels (Aer's
            metadata values).
        parametric: For each step that depends on circuit parameters (when lowered
            with ``allow_parameters``), how to compute its data.
    """

    num_qubits: int
    num_clbits: int
    steps: list[LoweredInstruction] = field(default_factory=list)
    measured_qubits: list[int] = field(default_factory=list)
    clbit_sources: dict[int, int] = field(default_factory=dict)
    parametric: dict[int, ParametricData] = field(default_factory=dict)
    method: str = "statevector"
    noise: str = "ideal"

    @property
    def gate_ops(self) -> list[GateOp]:
        """The gate ops of every step, in order."""
        return [step for step in self.steps if isinstance(step, GateOp)]


class NeedsTrajectories(Exception):
    """Raised by the static lowering where a circuit turns out to be dynamic.

    Internal to the compiler: ``lower.py`` answers it by lowering the circuit as
    trajectories (``dynamic.py``); it never reaches a user.
    """


class _Lowerer:
    """Walks a circuit (and the definitions of its composite gates) into a LoweredCircuit."""

    def __init__(self, circuit: QuantumCircuit, save_final_state: bool, allow_parameters: bool) -> None:
        self.circuit = circuit
        self.save_final_state = save_final_state
        self.allow_parameters = allow_parameters
        self.phase_terms: list[ParameterExpression] = []
        self.result = LoweredCircuit(circuit.num_qubits, circuit.num_clbits)
        self.global_phase = 0.0
        self.touched: set[int] = set()
        self.measured: set[int] = set()

    def lower(self) -> LoweredCircuit:
        qubits = {bit: index for index, bit in enumerate(self.circuit.qubits)}
        clbits = {bit: index for index, bit in enumerate(self.circuit.clbits)}
        self._walk(self.circuit, qubits, clbits)
        if self.save_final_state:
            self.result.steps.append(SaveStatevector(FINAL_STATEVECTOR_LABEL))
        self._relabel_trailing_swaps()
        self._apply_global_phase()
        if self.result.measured_qubits:
            self.result.steps.append(MeasureTerminal(tuple(self.result.measured_qubits)))
        return self.result

    def _walk(self, circuit: QuantumCircuit, qubits: dict[Qubit, int], clbits: dict[Clbit, int]) -> None:
        self._add_phase(circuit.global_phase, "global phase", circuit.name)
        for instruction in circuit.data:
            operation = instruction.operation
            qubit_indices = tuple(qubits[bit] for bit in instruction.qubits)
            clbit_indices = tuple(clbits[bit] for bit in instruction.clbits)
            self._lower_instruction(operation, qubit_indices, clbit_indices)

    def _lower_instruction(
        self, operation: Instruction, qubits: tuple[int, ...], clbits: tuple[int, ...]
    ) -> None:
        name = operation.name
        treatment = INSTRUCTION_TREATMENTS.get(name)
        if treatment is Treatment.MATRIX and not is_standard(operation):
            treatment = None  # a gate that only shares a name: run it by its own meaning
        if treatment is Treatment.NO_OP:
            return
        if treatment is Treatment.MEASURE:
            for qubit, clbit in zip(qubits, clbits, strict=True):
                self._measure(qubit, clbit)
        elif treatment is Treatment.RESET:
            for qubit in qubits:
                self._reset(qubit)
        elif treatment is Treatment.GLOBAL_PHASE:
            self._add_phase(operation.params[0], "phase", name)
        elif treatment is Treatment.SET_STATE:
            self._set_statevector(operation, qubits)
        elif treatment is Treatment.SAVE_STATEVECTOR and getattr(operation, "_subtype", "single") == "single":
            self._save_statevector(operation, qubits)
        elif treatment in (Treatment.SAVE, Treatment.SAVE_STATEVECTOR):
            raise NeedsTrajectories(name)  # saves per shot or of reduced data: dynamic.py
        elif treatment in (Treatment.CHANNEL, Treatment.READOUT):
            raise NeedsTrajectories(name)  # noise is drawn per trajectory: dynamic.py
        elif treatment is Treatment.MATRIX:
            self._add_gate(operation, qubits)
        elif isinstance(operation, AnnotatedOperation):
            self._add_annotated(operation, qubits)
        elif not isinstance(operation, Instruction):
            self._add_operator(operation, qubits)
        elif name in DYNAMIC_NAMES:
            raise NeedsTrajectories(name)
        elif isinstance(operation, ControlledGate) and is_standard(operation.base_gate):
            self._add_gate(operation, qubits)  # a controlled unitary: its base's matrix
        elif operation.definition is not None:
            definition = operation.definition
            inner_qubits = dict(zip(definition.qubits, qubits))
            inner_clbits = dict(zip(definition.clbits, clbits))
            self._walk(definition, inner_qubits, inner_clbits)
        elif isinstance(operation, Gate):
            self._add_gate(operation, qubits)
        else:
            raise UnsupportedInstructionError(f"instruction '{name}' is not supported by the cupy simulator")

    def _add_phase(self, value: object, what: str, name: str) -> None:
        if self.allow_parameters and is_parametric(value):
            self.phase_terms.append(value)
        else:
            self.global_phase += float_parameter(value, what, name)

    def _add_gate(self, gate: Gate, qubits: tuple[int, ...]) -> None:
        self._check_not_measured(gate.name, qubits)
        parametric = any(is_parametric(parameter) for parameter in gate.params)
        if parametric and not self.allow_parameters:
            unbound = next(p for p in gate.params if is_parametric(p))
            float_parameter(unbound, "parameter", gate.name)
        self.touched.update(qubits)
        ops = ops_of_gate(gate, parametric)
        if parametric:
            base = family_gate(gate)
            data = ParametricData(matrix_family(base), tuple(base.params))
            for offset in range(len(ops)):
                self.result.parametric[len(self.result.steps) + offset] = data
        self.result.steps.extend(on_qubits(op, qubits) for op in ops)

    def _add_annotated(self, operation: AnnotatedOperation, qubits: tuple[int, ...]) -> None:
        """Apply a base operation under control, inverse and power modifiers.

        Each control modifier puts its controls in front of the qubits it receives, so
        walking the modifiers in order takes control qubits from the base backwards.
        Inverse and power commute with control and act on the base block.
        """
        self._check_not_measured(operation.name, qubits)
        self.touched.update(qubits)
        block = require_unitary(Operator(operation.base_op).data, operation.name)
        end = operation.num_qubits - operation.base_op.num_qubits
        controls: list[int] = []
        values = 0
        for modifier in operation.modifiers:
            if isinstance(modifier, ControlModifier):
                start = end - modifier.num_ctrl_qubits
                for offset, qubit in enumerate(qubits[start:end]):
                    values |= ((modifier.ctrl_state >> offset) & 1) << len(controls)
                    controls.append(qubit)
                end = start
            elif isinstance(modifier, InverseModifier):
                block = block.conj().T
            else:
                block = Operator(block).power(modifier.power).data
        targets = qubits[operation.num_qubits - operation.base_op.num_qubits :]
        self.result.steps.extend(ops_from_matrix(block, targets, tuple(controls), values, operation.name))

    def _add_operator(self, operation: Operation, qubits: tuple[int, ...]) -> None:
        """Apply an operation that is not an instruction (a Clifford, say) by its matrix."""
        self._check_not_measured(operation.name, qubits)
        self.touched.update(qubits)
        try:
            matrix = Operator(operation).data
        except Exception as error:
            raise UnsupportedInstructionError(
                f"operation '{operation.name}' has no matrix the simulator can apply"
            ) from error
        matrix = require_unitary(matrix, operation.name)
        self.result.steps.extend(ops_from_matrix(matrix, qubits, name=operation.name))

    def _check_not_measured(self, name: str, qubits: tuple[int, ...]) -> None:
        if self.measured.intersection(qubits):
            raise NeedsTrajectories(f"'{name}' after a measurement of its qubits")

    def _measure(self, qubit: int, clbit: int) -> None:
        if qubit not in self.measured:
            self.measured.add(qubit)
            self.result.measured_qubits.append(qubit)
        self.result.clbit_sources[clbit] = self.result.measured_qubits.index(qubit)

    def _reset(self, qubit: int) -> None:
        """A reset of a qubit still in |0> does nothing; any other makes the circuit dynamic."""
        if qubit in self.touched or qubit in self.measured:
            raise NeedsTrajectories(f"reset of qubit {qubit} after it was used")

    def _save_statevector(self, operation: Instruction, qubits: tuple[int, ...]) -> None:
        request = save_request(operation, qubits, self.circuit.num_qubits)
        if self.measured or request.qubits != tuple(range(self.circuit.num_qubits)):
            raise NeedsTrajectories("save_statevector after a measurement or of reordered qubits")
        self.result.steps.append(SaveStatevector(request.label))

    def _set_statevector(self, operation: Instruction, qubits: tuple[int, ...]) -> None:
        """Replace the state; after a measurement the circuit is dynamic, which refuses it."""
        if self.measured:
            raise NeedsTrajectories("set_statevector after a measurement")
        self.touched.update(qubits)
        self.result.steps.append(
            SetStatevector(statevector_parameter(operation, qubits, self.circuit.num_qubits))
        )

    def _relabel_trailing_swaps(self) -> None:
        """Drop the swaps that end the program and measure the swapped qubits instead.

        A swap of a and b followed only by measurements is the same as measuring b where
        a is measured and a where b is: a relabeling, free, instead of a pass over the
        state (QFT circuits end with n/2 of them).
        """
        steps, measured = self.result.steps, self.result.measured_qubits
        while steps and _is_plain_swap(swap := steps[-1]) and len(steps) - 1 not in self.result.parametric:
            steps.pop()
            first, second = swap.targets
            measured[:] = [
                second if qubit == first else first if qubit == second else qubit for qubit in measured
            ]

    def _apply_global_phase(self) -> None:
        """Apply the accumulated global phase first, when a saved state can show it."""
        saves = any(isinstance(step, SaveStatevector) for step in self.result.steps)
        if not saves or self.result.num_qubits == 0:
            return
        if self.phase_terms:
            total = sum(self.phase_terms[1:], self.phase_terms[0]) + self.global_phase
            phase_gate = GlobalPhaseGate(total)
            phase = probe_matrix(phase_gate)[0, 0]
        else:
            phase = cmath.exp(1j * self.global_phase)
            if np.isclose(phase, 1.0, rtol=0, atol=1e-15):
                return
        op = GateOp(OpKind.DIAGONAL, (0,), np.array([phase, phase]), source=np.zeros(2, dtype=np.int64))
        self.result.steps.insert(0, op)
        self.result.parametric = {index + 1: data for index, data in self.result.parametric.items()}
        if self.phase_terms:
            self.result.parametric[0] = ParametricData(matrix_family(phase_gate), (total,))


def _is_plain_swap(step: LoweredInstruction) -> TypeGuard[GateOp]:
    """Whether a step is an uncontrolled SWAP of two qubits."""
    return (
        isinstance(step, GateOp)
        and step.kind is OpKind.PERMUTATION
        and not step.controls
        and step.permutation == SWAP_PERMUTATION
        and bool(np.all(step.data == 1))
    )


def lower_circuit(
    circuit: QuantumCircuit, save_final_state: bool = False, allow_parameters: bool = False
) -> LoweredCircuit:
    """Lower a static circuit into gate ops, save points and terminal measurements.

    Args:
        circuit: A circuit with every parameter bound.
        save_final_state: End with a save of the state under FINAL_STATEVECTOR_LABEL.
        allow_parameters: Accept unbound parameters: their ops hold data for generic
            values and ``parametric`` says how to compute it for any values.

    Returns:
        The lowered circuit.

    Raises:
        NeedsTrajectories: The circuit is dynamic (``lower.py`` lowers it as such).
        InvalidCircuitError: A parameter is unbound or not finite, an instruction is
            malformed, or a matrix is not unitary (see ``validation.py``).
        UnsupportedInstructionError: An instruction cannot be simulated.
    """
    check_circuit(circuit, bound=allow_parameters)
    return _Lowerer(circuit, save_final_state, allow_parameters).lower()

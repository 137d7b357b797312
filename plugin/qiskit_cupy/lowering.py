"""Lowering: a QuantumCircuit becomes gate ops, save points and terminal measurements."""

from __future__ import annotations

import cmath
import dataclasses
from dataclasses import dataclass, field

import numpy as np
from qiskit.circuit import (
    AnnotatedOperation,
    ControlledGate,
    ControlModifier,
    Gate,
    Instruction,
    InverseModifier,
    Operation,
    ParameterExpression,
    QuantumCircuit,
)

from qiskit.circuit.library import GlobalPhaseGate, UnitaryGate, get_standard_gate_name_mapping
from qiskit.quantum_info import Operator

from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError
from qiskit_cupy.gates import CONTROL_FLOW_NAMES, INSTRUCTION_TREATMENTS, Treatment
from qiskit_cupy.ops import GateOp, OpKind, ascending_order, ops_from_matrix
from qiskit_cupy.parametric import MatrixFamily, matrix_family

#: Controlled gates up to this width take their target block from their full matrix
#: (exact for gates such as CU, whose base gate omits a phase); wider ones use the
#: base gate's matrix.
_FULL_MATRIX_CONTROLLED_WIDTH = 6

#: Label of the final state kept by the ``save_statevector`` option.
FINAL_STATEVECTOR_LABEL = "statevector"


@dataclass(frozen=True)
class SaveStatevector:
    """A point in the program where a copy of the state is kept under ``label``."""

    label: str


@dataclass(frozen=True)
class ParametricData:
    """How to compute a parametric op's data for any parameter values.

    The op's data is ``family.flat_matrices(values)[:, op.source]`` where ``values``
    are ``expressions`` evaluated for the bound circuit parameters.
    """

    family: MatrixFamily
    expressions: tuple


@dataclass
class LoweredCircuit:
    """A circuit as the executor runs it.

    Attributes:
        num_qubits: Width of the state.
        num_clbits: Number of classical bits of the result.
        steps: Gate ops and save points, in order.
        measured_qubits: Distinct measured qubits, in order of first measurement; bit t
            of a sampled outcome is the value of ``measured_qubits[t]``.
        clbit_sources: For each measured clbit, the index into ``measured_qubits`` of
            the qubit whose value it holds (the last measurement into it wins).
        parametric: For each step that depends on circuit parameters (when lowered
            with ``allow_parameters``), how to compute its data.
    """

    num_qubits: int
    num_clbits: int
    steps: list[GateOp | SaveStatevector] = field(default_factory=list)
    measured_qubits: list[int] = field(default_factory=list)
    clbit_sources: dict[int, int] = field(default_factory=dict)
    parametric: dict[int, ParametricData] = field(default_factory=dict)

    @property
    def gate_ops(self) -> list[GateOp]:
        """The gate ops of every step, in order."""
        return [step for step in self.steps if isinstance(step, GateOp)]


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
        return self.result

    def _walk(self, circuit: QuantumCircuit, qubits: dict, clbits: dict) -> None:
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
        if treatment is Treatment.MATRIX and not _is_standard(operation):
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
        elif treatment is Treatment.SAVE_STATEVECTOR:
            self._save_statevector(operation)
        elif treatment is Treatment.MATRIX:
            self._add_gate(operation, qubits)
        elif isinstance(operation, AnnotatedOperation):
            self._add_annotated(operation, qubits)
        elif not isinstance(operation, Instruction):
            self._add_operator(operation, qubits)
        elif name in CONTROL_FLOW_NAMES:
            raise UnsupportedInstructionError(
                f"control-flow instruction '{name}' is not supported yet"
            )
        elif operation.definition is not None:
            definition = operation.definition
            inner_qubits = dict(zip(definition.qubits, qubits))
            inner_clbits = dict(zip(definition.clbits, clbits))
            self._walk(definition, inner_qubits, inner_clbits)
        elif isinstance(operation, Gate):
            self._add_gate(operation, qubits)
        else:
            raise UnsupportedInstructionError(
                f"instruction '{name}' is not supported by the cupy simulator"
            )

    def _add_phase(self, value: object, what: str, name: str) -> None:
        if self.allow_parameters and _is_parametric(value):
            self.phase_terms.append(value)  # type: ignore[arg-type]
        else:
            self.global_phase += _float_parameter(value, what, name)

    def _add_gate(self, gate: Gate, qubits: tuple[int, ...]) -> None:
        self._check_not_measured(gate.name, qubits)
        parametric = any(_is_parametric(parameter) for parameter in gate.params)
        if parametric and not self.allow_parameters:
            unbound = next(p for p in gate.params if _is_parametric(p))
            _float_parameter(unbound, "parameter", gate.name)
        self.touched.update(qubits)
        key = None if parametric else _gate_key(gate)
        if key is not None and key in _GATE_OPS:
            self.result.steps.extend(_on_qubits(op, qubits) for op in _GATE_OPS[key])
            return
        ops = self._gate_ops(gate, tuple(range(gate.num_qubits)), parametric)
        if key is not None:
            if len(_GATE_OPS) >= _GATE_CACHE_SIZE:
                _GATE_OPS.clear()
            _GATE_OPS[key] = ops
        if parametric:
            family_gate = _family_gate(gate)
            data = ParametricData(matrix_family(family_gate), tuple(family_gate.params))
            for offset in range(len(ops)):
                self.result.parametric[len(self.result.steps) + offset] = data
        self.result.steps.extend(_on_qubits(op, qubits) for op in ops)

    @staticmethod
    def _gate_ops(gate: Gate, qubits: tuple[int, ...], parametric: bool) -> list[GateOp]:
        """The ops of a gate on ``qubits``, at generic values if it is parametric."""
        if isinstance(gate, ControlledGate) and gate.num_ctrl_qubits > 0:
            count = gate.num_ctrl_qubits
            controls, targets = qubits[:count], qubits[count:]
            family_gate = _family_gate(gate)
            matrix = _probe_matrix(family_gate) if parametric else _matrix(family_gate)
            rows = _controlled_rows(gate) if family_gate is gate else None
            source = np.arange(matrix.size).reshape(matrix.shape)
            if rows is not None:
                matrix, source = matrix[np.ix_(rows, rows)], source[np.ix_(rows, rows)]
            return ops_from_matrix(matrix, targets, controls, gate.ctrl_state, gate.name, source)
        matrix = _probe_matrix(gate) if parametric else _matrix(gate)
        return ops_from_matrix(matrix, qubits, name=gate.name)

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
        self.result.steps.extend(
            ops_from_matrix(block, targets, tuple(controls), values, operation.name)
        )

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
        blocked = self.measured.intersection(qubits)
        if blocked:
            raise UnsupportedInstructionError(
                f"'{name}' acts on qubit {min(blocked)} after it was measured; "
                "mid-circuit measurement is not supported yet"
            )

    def _measure(self, qubit: int, clbit: int) -> None:
        if qubit not in self.measured:
            self.measured.add(qubit)
            self.result.measured_qubits.append(qubit)
        self.result.clbit_sources[clbit] = self.result.measured_qubits.index(qubit)

    def _reset(self, qubit: int) -> None:
        if qubit in self.touched or qubit in self.measured:
            raise UnsupportedInstructionError(
                f"reset of qubit {qubit} after it was used is not supported yet; "
                "only resets of qubits still in |0> are accepted"
            )

    def _save_statevector(self, operation: Instruction) -> None:
        if self.measured:
            raise UnsupportedInstructionError(
                "save_statevector after a measurement is not supported yet"
            )
        label = getattr(operation, "label", None) or "statevector"
        self.result.steps.append(SaveStatevector(label))

    def _relabel_trailing_swaps(self) -> None:
        """Drop the swaps that end the program and measure the swapped qubits instead.

        A swap of a and b followed only by measurements is the same as measuring b where
        a is measured and a where b is: a relabeling, free, instead of a pass over the
        state (QFT circuits end with n/2 of them).
        """
        steps, measured = self.result.steps, self.result.measured_qubits
        while steps and _is_plain_swap(steps[-1]) and len(steps) - 1 not in self.result.parametric:
            first, second = steps.pop().targets
            measured[:] = [
                second if qubit == first else first if qubit == second else qubit
                for qubit in measured
            ]

    def _apply_global_phase(self) -> None:
        """Apply the accumulated global phase first, when a saved state can show it."""
        saves = any(isinstance(step, SaveStatevector) for step in self.result.steps)
        if not saves or self.result.num_qubits == 0:
            return
        if self.phase_terms:
            total = sum(self.phase_terms[1:], self.phase_terms[0]) + self.global_phase
            family_gate = GlobalPhaseGate(total)
            phase = _probe_matrix(family_gate)[0, 0]
        else:
            phase = cmath.exp(1j * self.global_phase)
            if np.isclose(phase, 1.0, rtol=0, atol=1e-15):
                return
        op = GateOp(OpKind.DIAGONAL, (0,), np.array([phase, phase]), source=np.zeros(2, dtype=np.int64))
        self.result.steps.insert(0, op)
        self.result.parametric = {index + 1: data for index, data in self.result.parametric.items()}
        if self.phase_terms:
            self.result.parametric[0] = ParametricData(matrix_family(family_gate), (total,))


#: Ops of bound gates on qubits 0..k-1, by gate kind and parameter values.
_GATE_OPS: dict[tuple, list[GateOp]] = {}
_GATE_CACHE_SIZE = 4096


#: The class of each standard gate: only these are cached, since their name, control
#: state and parameters determine their matrix.
_STANDARD_TYPES: dict[str, type] = {
    name: type(gate) for name, gate in get_standard_gate_name_mapping().items()
}


def _is_standard(operation: Operation) -> bool:
    """Whether an operation is the standard gate (or unitary) its name says it is."""
    if operation.name == "unitary":
        return isinstance(operation, UnitaryGate)
    return _STANDARD_TYPES.get(operation.name) is type(operation)


def _gate_key(gate: Gate) -> tuple | None:
    """A cache key for a standard gate with numeric parameters, else None."""
    if _STANDARD_TYPES.get(gate.name) is not type(gate):
        return None
    if not all(isinstance(parameter, (int, float)) for parameter in gate.params):
        return None
    return (type(gate), gate.name, gate.num_qubits, getattr(gate, "ctrl_state", None),
            tuple(gate.params))


def _on_qubits(op: GateOp, qubits: tuple[int, ...]) -> GateOp:
    """Move an op from qubits 0..k-1 to ``qubits``, keeping wide diagonal targets ascending."""
    targets = tuple(qubits[q] for q in op.targets)
    controls = tuple(qubits[q] for q in op.controls)
    if op.kind is not OpKind.WIDE_DIAGONAL:
        return dataclasses.replace(op, targets=targets, controls=controls)
    order = ascending_order(targets)
    source = None if op.source is None else op.source[order]
    return dataclasses.replace(
        op, targets=tuple(sorted(targets)), controls=controls, data=op.data[order], source=source
    )


def _family_gate(gate: Gate) -> Gate:
    """The gate whose matrix family lowering evaluates: a wide controlled gate's base."""
    if isinstance(gate, ControlledGate) and gate.num_qubits > _FULL_MATRIX_CONTROLLED_WIDTH:
        return gate.base_gate
    return gate


def _is_plain_swap(step: GateOp | SaveStatevector) -> bool:
    """Whether a step is an uncontrolled SWAP of two qubits."""
    return (
        isinstance(step, GateOp)
        and step.kind is OpKind.PERMUTATION
        and not step.controls
        and step.permutation == (0, 2, 1, 3)
        and bool(np.all(step.data == 1))
    )


def _is_parametric(value: object) -> bool:
    """Whether a gate parameter still depends on unbound circuit parameters."""
    return isinstance(value, ParameterExpression) and bool(value.parameters)


def _probe_matrix(gate: Gate) -> np.ndarray:
    """The matrix of a parametric gate at generic parameter values.

    Structure found at generic values (which entries vanish, which qubits act as
    controls) holds for all values of an analytic family except on a set of measure
    zero, which the op's dense or diagonal form still covers exactly.
    """
    family = matrix_family(gate)
    probe = np.random.default_rng(len(gate.params)).uniform(0.5, 2.5, size=(1, len(gate.params)))
    return family.flat_matrices(probe)[0].reshape(family.shape)


def _float_parameter(value: object, what: str, name: str) -> float:
    """Return a bound numeric parameter as a float.

    Raises:
        InvalidCircuitError: The value is still an unbound parameter expression.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except TypeError as error:
        raise InvalidCircuitError(
            f"'{name}' has an unbound {what} {value}; bind the circuit's parameters "
            "(QuantumCircuit.assign_parameters) before running it"
        ) from error
    if not np.isfinite(number):
        raise InvalidCircuitError(f"'{name}' has a {what} of {number}; values must be finite")
    return number


def _matrix(gate: Gate) -> np.ndarray:
    """Return a gate's matrix, or raise a clear error for gates without one."""
    try:
        matrix = gate.to_matrix()
    except Exception as error:
        raise UnsupportedInstructionError(
            f"gate '{gate.name}' has neither a definition nor a matrix"
        ) from error
    standard = _STANDARD_TYPES.get(gate.name) is type(gate)
    return require_unitary(matrix, gate.name, check_unitarity=not standard)


#: Largest entry of |M^dagger M - I| accepted for a matrix operation (Qiskit's
#: UnitaryGate check uses the same absolute tolerance).
UNITARY_TOLERANCE = 1e-8


def require_unitary(matrix: np.ndarray, name: str, check_unitarity: bool = True) -> np.ndarray:
    """Return ``matrix`` if it is finite (and, where asked, unitary within UNITARY_TOLERANCE).

    Raises:
        InvalidCircuitError: The matrix holds NaN or infinity, or is not unitary.
    """
    matrix = np.asarray(matrix, dtype=complex)
    if not np.isfinite(matrix).all():
        raise InvalidCircuitError(
            f"the matrix of '{name}' holds values that are not finite (NaN or infinity); "
            "check its parameters"
        )
    if check_unitarity:
        deviation = np.abs(matrix.conj().T @ matrix - np.eye(matrix.shape[0])).max()
        if deviation > UNITARY_TOLERANCE:
            raise InvalidCircuitError(
                f"the matrix of '{name}' is not unitary: |M^dagger M - I| reaches "
                f"{deviation:.3g}, above the tolerance {UNITARY_TOLERANCE:g}"
            )
    return matrix


def _controlled_rows(gate: ControlledGate) -> list[int]:
    """Indices of a controlled gate's matrix where its controls hold their values."""
    count = gate.num_ctrl_qubits
    return [gate.ctrl_state | (j << count) for j in range(1 << (gate.num_qubits - count))]


def lower_circuit(
    circuit: QuantumCircuit, save_final_state: bool = False, allow_parameters: bool = False
) -> LoweredCircuit:
    """Lower a circuit into gate ops, save points and terminal measurements.

    Args:
        circuit: A circuit with every parameter bound.
        save_final_state: End with a save of the state under FINAL_STATEVECTOR_LABEL.
        allow_parameters: Accept unbound parameters: their ops hold data for generic
            values and ``parametric`` says how to compute it for any values.

    Returns:
        The lowered circuit.

    Raises:
        InvalidCircuitError: A parameter is unbound.
        UnsupportedInstructionError: An instruction cannot be simulated.
    """
    return _Lowerer(circuit, save_final_state, allow_parameters).lower()

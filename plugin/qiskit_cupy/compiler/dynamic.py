"""Lowering of dynamic circuits: mid-circuit measurement, reset, control flow, Store.

A dynamic circuit runs as trajectories (``runtime/trajectories.py``): a batch of
states, each with a row of classical slots on the device (``compiler/classical.py``).
Lowering turns the circuit into a tree of nodes, each run on the whole batch:

- :class:`Gates`: gate ops, applied to the states whose ``mask`` slot is set;
- :class:`Collapse`: a measurement (into a clbit's slot) or a reset of one qubit;
- :class:`Classical`: a classical program, such as a Store or a condition into a mask;
- :class:`Save`: one of Aer's save instructions (``saves.py``);
- :class:`WhileLoop`: a body repeated while any state's loop condition holds.

Control flow becomes masks, never host decisions: an ``if_else`` computes two mask
slots (enclosing mask and condition, enclosing mask and not condition) and lowers each
block under its mask; a ``switch`` one mask per case; a ``for`` loop is unrolled with
its parameter bound per iteration; ``break`` and ``continue`` clear the masks of the
states that take them, from the loop's own mask (or iteration mask) down to the
current one, so those states skip the rest of the loop (or iteration). Only a
``while`` loop needs the host, once per iteration, to learn whether any state still
loops. Mask slots are scoped: a block's slots are freed when it ends.

Measurements that end the circuit (a trailing run of top-level measures) are not
collapsed one by one: each shot's outcome of all of them is drawn at once from its
state, as a static circuit samples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from qiskit.circuit import (
    Clbit,
    ForLoopOp,
    IfElseOp,
    Instruction,
    QuantumCircuit,
    Qubit,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.controlflow import CASE_DEFAULT

from qiskit_cupy.compiler.channels import Channel, ChannelCache, Mixture, kraus_weights, read_channel
from qiskit_cupy.compiler.classical import (
    compile_condition,
    compile_switch_target,
)
from qiskit_cupy.compiler.classical_code import (
    EVERY_STATE,
    FIRST_FREE_SLOT,
    ClassicalCode,
    SlotMap,
    draw_index,
    draw_thresholds,
    index_mask,
    load,
    op,
    push_const,
    readout_flip,
    store,
)
from qiskit_cupy.compiler.classical_stores import compile_store
from qiskit_cupy.compiler.control_flow import BlockSlots, bound_body, loop_exits
from qiskit_cupy.compiler.dynamic_nodes import (
    Classical,
    Collapse,
    DynamicCircuit,
    DynamicNode,
    Gates,
    KrausChoice,
    NoiseDraw,
    Save,
    WhileLoop,
)
from qiskit_cupy.compiler.gates import INSTRUCTION_TREATMENTS, Treatment
from qiskit_cupy.compiler.lowering import _Lowerer
from qiskit_cupy.compiler.noise import readout_matrix
from qiskit_cupy.compiler.ops import GateOp, OpKind, ops_from_matrix
from qiskit_cupy.compiler.saves import SaveRequest, save_request
from qiskit_cupy.compiler.validation import check_circuit, float_parameter
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError


@dataclass
class _LoopFrame:
    """A loop being lowered: where its masks sit on the mask stack."""

    first_mask: int  # index on the mask stack of the loop's own mask


class _DynamicLowerer(_Lowerer):
    """Walks a circuit into nodes; gates go through the static lowering's methods."""

    def __init__(self, circuit: QuantumCircuit) -> None:
        super().__init__(circuit, save_final_state=False, allow_parameters=False)
        self.root_slots = SlotMap(circuit.clbits)
        self.slots: BlockSlots | SlotMap = self.root_slots
        self.nodes: list[DynamicNode] = []
        self.masks: list[int] = []
        self.loops: list[_LoopFrame] = []
        self.measured_order: list[int] = []
        self.save_labels: set[str] = set()
        self._reserve_vars(circuit)
        self.next_slot = self.root_slots.num_slots
        self.row_width = self.next_slot
        self.draws_noise = False
        self.channels: ChannelCache[Channel] = ChannelCache(read_channel)

    @property
    def mask(self) -> int:
        """The current mask slot, or EVERY_STATE outside any condition."""
        return self.masks[-1] if self.masks else EVERY_STATE

    def _reserve_vars(self, circuit: QuantumCircuit) -> None:
        """Give every real-time variable of the circuit and its blocks a slot up front."""
        if circuit.num_input_vars:
            names = ", ".join(var.name for var in circuit.iter_input_vars())
            raise UnsupportedInstructionError(
                f"input variables ({names}) need values the simulator is not given; "
                "declare them with add_var and an initial value instead"
            )
        for var in circuit.iter_vars():
            self.root_slots.var(var)
        for instruction in circuit.data:
            for block in getattr(instruction.operation, "blocks", ()):
                self._reserve_vars(block)

    def lower_dynamic(self, save_final_state: bool) -> DynamicCircuit:
        """Lower the whole circuit; with ``save_final_state``, save the state under
        ``"statevector"`` before the trailing measurements."""
        data = self.circuit.data
        tail = len(data)
        while tail and data[tail - 1].operation.name in ("measure", "barrier"):
            tail -= 1
        qubits = {bit: index for index, bit in enumerate(self.circuit.qubits)}
        clbits = {bit: index for index, bit in enumerate(self.circuit.clbits)}
        for instruction in data[:tail]:
            self._lower_instruction(
                instruction.operation,
                tuple(qubits[bit] for bit in instruction.qubits),
                tuple(clbits[bit] for bit in instruction.clbits),
            )
        if save_final_state:
            every = tuple(range(self.circuit.num_qubits))
            self._save(SaveRequest("save_statevector", "statevector", every, "single"))
        self._flush()
        final_qubits: list[int] = []
        final_clbits: dict[int, int] = {}
        for instruction in data[tail:]:
            if instruction.operation.name != "measure":
                continue
            qubit, clbit = qubits[instruction.qubits[0]], clbits[instruction.clbits[0]]
            if qubit not in final_qubits:
                final_qubits.append(qubit)
            final_clbits[clbit] = final_qubits.index(qubit)
            self._note_measured(qubit)
        return DynamicCircuit(
            num_qubits=self.circuit.num_qubits,
            num_clbits=self.circuit.num_clbits,
            row_width=self.row_width,
            nodes=self.nodes,
            final_qubits=tuple(final_qubits),
            final_clbits=final_clbits,
            measured_qubits=self.measured_order,
            draws_noise=self.draws_noise,
        )

    # -- the walk -----------------------------------------------------------------

    def _walk(self, circuit: QuantumCircuit, qubits: dict[Qubit, int], clbits: dict[Clbit, int]) -> None:
        outer = self.slots
        if circuit is not self.circuit:
            self.slots = BlockSlots(self.root_slots, clbits)
        try:
            super()._walk(circuit, qubits, clbits)
        finally:
            self.slots = outer

    def _lower_instruction(
        self, operation: Instruction, qubits: tuple[int, ...], clbits: tuple[int, ...]
    ) -> None:
        name = operation.name
        treatment = INSTRUCTION_TREATMENTS.get(name)
        if treatment is Treatment.MEASURE:
            for qubit, clbit in zip(qubits, clbits, strict=True):
                self._note_measured(qubit)
                self._emit(Collapse(qubit, FIRST_FREE_SLOT + clbit, False, self.mask))
        elif treatment is Treatment.RESET:
            for qubit in qubits:
                self._emit(Collapse(qubit, EVERY_STATE, True, self.mask))
        elif treatment in (Treatment.SAVE, Treatment.SAVE_STATEVECTOR):
            self._save(save_request(operation, qubits, self.circuit.num_qubits))
        elif treatment is Treatment.SET_STATE:
            raise UnsupportedInstructionError(
                f"'{name}' in a circuit that runs as trajectories (after a measurement, "
                "with control flow, resets or noise) is not supported"
            )
        elif treatment is Treatment.CHANNEL:
            self._channel(self.channels.get(operation, len(qubits)), qubits)
        elif treatment is Treatment.READOUT:
            self._readout(operation, clbits)
        elif treatment is Treatment.GLOBAL_PHASE:
            self._add_phase(operation.params[0], "phase", name)
        elif name == "if_else":
            self._if_else(operation, qubits, clbits)
        elif name == "switch_case":
            self._switch(operation, qubits, clbits)
        elif name == "for_loop":
            self._for_loop(operation, qubits, clbits)
        elif name == "while_loop":
            self._while_loop(operation, qubits, clbits)
        elif name == "break_loop":
            self._exit_loop(name, iteration_only=False)
        elif name == "continue_loop":
            self._exit_loop(name, iteration_only=True)
        elif name == "box":
            self._block(operation.blocks[0], qubits, clbits)
        elif name == "store":
            self._emit(Classical(compile_store(operation.lvalue, operation.rvalue, self.slots), self.mask))
        else:
            super()._lower_instruction(operation, qubits, clbits)

    # -- noise ----------------------------------------------------------------------

    def _channel(self, channel: Channel, qubits: tuple[int, ...]) -> None:
        """Draw a branch of a mixture, or a Kraus operator, per trajectory; lower each
        branch (operator) under the mask of the trajectories that drew it."""
        self.draws_noise = True
        if isinstance(channel, Mixture):
            branches = [
                (index, branch) for index, branch in enumerate(channel.branches) if branch is not None
            ]
            if not branches:
                return
            if len(channel.branches) == 1:
                self._block(branches[0][1], qubits, ())
                return
            (index_slot,) = self._take_slots(1)
            self._flush()
            outer_nodes, self.nodes = self.nodes, []
            try:
                for index, branch in branches:
                    self._under_index(index_slot, index, functools.partial(self._block, branch, qubits, ()))
                body = tuple(self.nodes)
            finally:
                self.nodes = outer_nodes
                self._give_back(1)
            self.nodes.append(
                NoiseDraw(
                    draw_index(channel.probabilities, index_slot),
                    draw_thresholds(channel.probabilities),
                    frozenset(index for index, _ in branches),
                    self.mask,
                    body,
                )
            )
            return
        (index_slot,) = self._take_slots(1)
        try:
            self._emit(KrausChoice(*kraus_weights(channel, qubits), index_slot, self.mask))
            for index, operator in enumerate(channel.operators):
                ops = ops_from_matrix(operator, qubits, name="kraus")
                self._under_index(index_slot, index, functools.partial(self.result.steps.extend, ops))
        finally:
            self._give_back(1)

    def _under_index(self, index_slot: int, index: int, lower: Callable[[], None]) -> None:
        """Run ``lower`` with the mask of the active trajectories whose index slot holds
        ``index``."""
        (mask,) = self._take_slots(1)
        try:
            self._emit(Classical(index_mask(index_slot, index, self.mask, mask), EVERY_STATE))
            self.masks.append(mask)
            try:
                lower()
                self._flush()
            finally:
                self.masks.pop()
        finally:
            self._give_back(1)

    def _readout(self, operation: Instruction, clbits: tuple[int, ...]) -> None:
        """Flip a measured clbit with the probability its readout error gives its value."""
        self.draws_noise = True
        matrix = readout_matrix(operation)
        self._emit(Classical(readout_flip(matrix, FIRST_FREE_SLOT + clbits[0]), self.mask))

    def _check_not_measured(self, name: str, qubits: tuple[int, ...]) -> None:
        """Gates after a measurement are what a dynamic circuit is made of."""

    def _add_phase(self, value: object, what: str, name: str) -> None:
        """Apply a phase where it occurs: under a condition it is a relative phase, and
        a saved state shows it."""
        phase = float_parameter(value, what, name)
        if self.circuit.num_qubits and not np.isclose(phase % (2 * np.pi), 0, atol=1e-15):
            factor = np.exp(1j * phase)
            self.result.steps.append(
                GateOp(OpKind.DIAGONAL, (0,), np.array([factor, factor]), source=np.zeros(2, dtype=np.int64))
            )

    def _save(self, request: SaveRequest) -> None:
        if self.masks:
            raise UnsupportedInstructionError(
                f"'{request.kind}' inside control flow is not supported; save outside it"
            )
        if request.label in self.save_labels:
            raise InvalidCircuitError(f"two save instructions use the label '{request.label}'")
        self.save_labels.add(request.label)
        self._emit(Save(request))

    def _note_measured(self, qubit: int) -> None:
        if qubit not in self.measured_order:
            self.measured_order.append(qubit)

    # -- nodes --------------------------------------------------------------------

    def _flush(self) -> None:
        """Turn the gate ops lowered since the last node into a Gates node."""
        ops = [step for step in self.result.steps if isinstance(step, GateOp)]
        self.result.steps.clear()
        if not ops:
            return
        if self.mask != EVERY_STATE:
            wide = next((op for op in ops if op.kind is OpKind.WIDE_DENSE), None)
            if wide is not None:
                raise UnsupportedInstructionError(
                    f"a gate on {len(wide.targets)} qubits under a classical condition is wider "
                    "than the conditional kernels apply; decompose it first"
                )
        self.nodes.append(Gates(tuple(ops), self.mask))

    def _emit(self, node: DynamicNode) -> None:
        self._flush()
        self.nodes.append(node)

    def _block(self, block: QuantumCircuit, qubits: tuple[int, ...], clbits: tuple[int, ...]) -> None:
        """Lower a control-flow block whose bits are the instruction's, by position."""
        check_circuit(block, bound=False)
        self._walk(block, dict(zip(block.qubits, qubits)), dict(zip(block.clbits, clbits)))
        self._flush()

    def _take_slots(self, count: int) -> list[int]:
        """Take ``count`` scratch slots; the construct that takes them gives them back."""
        slots = list(range(self.next_slot, self.next_slot + count))
        self.next_slot += count
        self.row_width = max(self.row_width, self.next_slot)
        return slots

    def _give_back(self, count: int) -> None:
        self.next_slot -= count

    def _masked(self, condition: ClassicalCode) -> ClassicalCode:
        """Code pushing ``condition`` and the enclosing mask."""
        if self.mask == EVERY_STATE:
            return condition
        return condition + load(self.mask) + op("kLogicAnd")

    def _current_or_one(self) -> ClassicalCode:
        """Code pushing the enclosing mask (1 outside any condition)."""
        return push_const(1) if self.mask == EVERY_STATE else load(self.mask)

    def _under(
        self, mask: int, block: QuantumCircuit, qubits: tuple[int, ...], clbits: tuple[int, ...]
    ) -> None:
        """Lower a block with ``mask`` as the current mask."""
        self.masks.append(mask)
        try:
            self._block(block, qubits, clbits)
        finally:
            self.masks.pop()

    def _if_else(self, operation: IfElseOp, qubits: tuple[int, ...], clbits: tuple[int, ...]) -> None:
        true_block, false_block = operation.params
        condition = compile_condition(operation.condition, self.slots)
        true_mask, false_mask = self._take_slots(2)
        try:
            code = self._masked(condition) + store(true_mask)
            if false_block is not None:
                code = code + self._masked(condition + op("kLogicNot")) + store(false_mask)
            self._emit(Classical(code, EVERY_STATE))
            self._under(true_mask, true_block, qubits, clbits)
            if false_block is not None:
                self._under(false_mask, false_block, qubits, clbits)
        finally:
            self._give_back(2)

    def _switch(self, operation: SwitchCaseOp, qubits: tuple[int, ...], clbits: tuple[int, ...]) -> None:
        cases = list(operation.cases_specifier())
        target, *masks = self._take_slots(1 + len(cases))
        try:
            code = compile_switch_target(operation.target, self.slots) + store(target)
            listed = [value for values, _ in cases for value in values if value is not CASE_DEFAULT]
            for (values, _), mask in zip(cases, masks):
                if any(value is CASE_DEFAULT for value in values):
                    test = self._any_equal(target, listed) + op("kLogicNot")
                else:
                    test = self._any_equal(target, list(values))
                code = code + self._masked(test) + store(mask)
            self._emit(Classical(code, EVERY_STATE))
            for (_, block), mask in zip(cases, masks):
                self._under(mask, block, qubits, clbits)
        finally:
            self._give_back(1 + len(cases))

    @staticmethod
    def _any_equal(slot: int, values: Sequence[int]) -> ClassicalCode:
        """Code pushing whether the slot equals any of the values (0 for none)."""
        if not values:
            return push_const(0)
        code = load(slot) + push_const(int(values[0])) + op("kEqual")
        for value in values[1:]:
            code = code + load(slot) + push_const(int(value)) + op("kEqual") + op("kLogicOr")
        return code

    def _enter_loop(self) -> tuple[int, int]:
        """Take a loop's mask and iteration mask; set the loop mask from the enclosing one."""
        loop_mask, iteration_mask = self._take_slots(2)
        self._emit(Classical(self._current_or_one() + store(loop_mask), EVERY_STATE))
        self.masks.append(loop_mask)
        self.loops.append(_LoopFrame(len(self.masks) - 1))
        return loop_mask, iteration_mask

    def _leave_loop(self) -> None:
        self.loops.pop()
        self.masks.pop()
        self._give_back(2)

    def _for_loop(self, operation: ForLoopOp, qubits: tuple[int, ...], clbits: tuple[int, ...]) -> None:
        indexset, parameter, body = operation.params
        if not loop_exits(body):
            for value in indexset:
                self._block(bound_body(body, parameter, value), qubits, clbits)
            return
        loop_mask, iteration_mask = self._enter_loop()
        try:
            for value in indexset:
                self._emit(Classical(load(loop_mask) + store(iteration_mask), EVERY_STATE))
                self._under(iteration_mask, bound_body(body, parameter, value), qubits, clbits)
        finally:
            self._leave_loop()

    def _while_loop(self, operation: WhileLoopOp, qubits: tuple[int, ...], clbits: tuple[int, ...]) -> None:
        (body,) = operation.blocks
        loop_mask, iteration_mask = self._enter_loop()
        outer_nodes = self.nodes
        try:
            step = (
                compile_condition(operation.condition, self.slots)
                + load(loop_mask)
                + op("kLogicAnd")
                + op("kDup")
                + store(loop_mask)
                + store(iteration_mask)
            )
            self.nodes = []
            self._under(iteration_mask, body, qubits, clbits)
            body_nodes = tuple(self.nodes)
        finally:
            self.nodes = outer_nodes
            self._leave_loop()
        self.nodes.append(WhileLoop(step, iteration_mask, body_nodes))

    def _exit_loop(self, name: str, iteration_only: bool) -> None:
        """Clear, for the states that take a break (continue), every mask from the loop's
        (iteration's) down to the current one; the current mask is cleared last."""
        if not self.loops:
            raise UnsupportedInstructionError(f"'{name}' outside a loop")
        first = self.loops[-1].first_mask + (1 if iteration_only else 0)
        current = self.mask
        chain = [slot for slot in dict.fromkeys(self.masks[first:]) if slot != current]
        code = ClassicalCode.concat()
        for slot in [*chain, current]:
            code = code + load(slot) + load(current) + op("kLogicNot") + op("kLogicAnd") + store(slot)
        self._emit(Classical(code, EVERY_STATE))


def lower_dynamic(circuit: QuantumCircuit, save_final_state: bool = False) -> DynamicCircuit:
    """Lower a dynamic circuit (every parameter bound) into trajectory nodes.

    Raises:
        InvalidCircuitError: A block is malformed or holds values that are not finite.
        UnsupportedInstructionError: An instruction or expression cannot run; it is named.
    """
    return _DynamicLowerer(circuit).lower_dynamic(save_final_state)

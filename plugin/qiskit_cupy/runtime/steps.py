"""Executor steps: each kind of work an experiment enqueues knows how to enqueue itself.

A lowered circuit is a list of instructions (``compiler/lowering.py``): gate ops and
non-gate instructions such as a save point. Each instruction type is handled by one
:class:`Step` subclass, which names it with ``handles=`` and is found through
:meth:`Step.handler`; adding a kind of step (a measurement, a reset, a noise channel)
is one subclass. Consecutive instructions of a step kind that ``joins`` (gate ops)
become one step, which is fused as a whole; every other step is a fusion boundary, as
qsim's fuser splits at measurements.

Ownership: a step only enqueues work on the context's stream and state buffer, which
belong to the experiment (see ``docs/architecture.rst``); it keeps no device array
beyond what it hands the context.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from qiskit_cupy.compiler.batch_fusion import merge_one_qubit_runs
from qiskit_cupy.compiler.density import DensityDiagonal
from qiskit_cupy.compiler.fusion import Fuser, FusionSettings, Roofline
from qiskit_cupy.compiler.index_swaps import IndexSwapper
from qiskit_cupy.compiler.lowering import MeasureTerminal, SaveStatevector, SetStatevector
from qiskit_cupy.compiler.observables import EvaluateObservables
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices.base import (
    COMPLEX_DTYPES,
    ClassicalRows,
    Device,
    DeviceArray,
    HostCopy,
    Stream,
)
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.runtime.memory import chunk_bits, trajectory_chunk_bits

#: Places fused runs in the devices' blocks (plans cached by structure; thread-safe).
INDEX_SWAPPER = IndexSwapper()


@dataclass
class StepContext:
    """One experiment being enqueued: where its steps put work and what they leave.

    Owned by the thread that enqueues the experiment, from its first step to its last.

    Attributes:
        device: Where the experiment runs.
        stream: The stream its work is enqueued on.
        states: Its state buffer (``batch`` states of ``num_qubits`` qubits).
        num_qubits: Width of each state.
        batch: Number of states.
        precision: ``"double"`` or ``"single"``.
        fuser: Fuses each gate run before it is encoded.
        shots: Samples per state of the terminal measurement.
        seeds: The seed of each state's sampler.
        saved: The host copies of saved states, by label, in order.
        outcomes: The host copy of the sampled outcomes, once sampled.
        outcome_bits: For each position of a sampled outcome's bits, the measured
            qubit it holds (see ``PendingExperiment.clbit_bits``).
        num_ops: Gate ops enqueued so far, after fusion.
        num_passes: Passes over the states those ops make (``Device.program_passes``).
        per_state_data: Parametric ops carry data per state (bound per batch entry):
            such runs are not fused, whatever the batch size, so that a state's
            amplitudes do not depend on the batch it ran in.
        pricing: The roofline fusion prices plans with: the device's own, or in a
            pool the first device's, so that every device runs the same programs.
    """

    device: Device
    stream: Stream
    states: DeviceArray
    num_qubits: int
    batch: int
    precision: str
    fuser: Fuser
    shots: int
    seeds: tuple[int, ...]
    saved: list[tuple[str, HostCopy]] = field(default_factory=list)
    outcomes: HostCopy | None = None
    outcome_bits: tuple[int, ...] = ()
    num_ops: int = 0
    num_passes: int = 0
    per_state_data: bool = False
    pricing: Roofline | None = None


class Step(ABC):
    """One piece of an experiment's work, which enqueues itself on a Device."""

    #: Whether consecutive instructions of this kind form one step (fused as a whole).
    joins: ClassVar[bool] = False
    _handlers: ClassVar[dict[type, type[Step]]] = {}

    def __init_subclass__(cls, handles: type | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if handles is not None:
            Step._handlers[handles] = cls

    @staticmethod
    def handler(instruction: object) -> type[Step]:
        """Return the step kind that runs a lowered instruction.

        Raises:
            CupySimulatorError: No step kind handles the instruction's type.
        """
        try:
            return Step._handlers[type(instruction)]
        except KeyError:
            raise CupySimulatorError(f"no executor step runs a {type(instruction).__name__}") from None

    @classmethod
    @abstractmethod
    def from_instructions(cls, instructions: Sequence[Any]) -> Step:
        """Build the step of consecutive instructions of its kind (one unless it joins)."""

    @abstractmethod
    def enqueue(self, context: StepContext) -> None:
        """Enqueue the step's work on the context's stream; never wait for it."""


def build_steps(instructions: Sequence[object]) -> list[Step]:
    """Turn a lowered circuit's instructions into steps, joining runs of gate ops.

    Args:
        instructions: Gate ops and other lowered instructions, in order.

    Returns:
        The steps, in order.
    """
    steps: list[Step] = []
    for kind, group in itertools.groupby(instructions, key=Step.handler):
        members = list(group)
        if kind.joins:
            steps.append(kind.from_instructions(members))
        else:
            steps.extend(kind.from_instructions([member]) for member in members)
    return steps


@dataclass(frozen=True)
class GateRun(Step, handles=GateOp):
    """Consecutive gate ops: fused, encoded, uploaded and launched as one program.

    Runs with per-state data (parameter bindings, at any batch size) are not fused:
    a fused block would have to be built for every state; their one-qubit runs are
    merged instead (``compiler/batch_fusion.py``). WIDE_DENSE ops (wider than the dense
    kernels) split the program and run through the device's BLAS.
    """

    joins: ClassVar[bool] = True
    ops: tuple[GateOp, ...]

    @classmethod
    def from_instructions(cls, instructions: Sequence[Any]) -> GateRun:
        return cls(tuple(instructions))

    def enqueue(self, context: StepContext) -> None:
        enqueued = enqueue_gates(
            context.device,
            context.stream,
            context.states,
            context.num_qubits,
            context.batch,
            context.precision,
            context.fuser,
            self.ops,
            fuse=not context.per_state_data,
            pricing=context.pricing,
        )
        context.num_ops += enqueued.ops
        context.num_passes += enqueued.passes


def fusion_applies(settings: FusionSettings, num_qubits: int) -> bool:
    """Whether fusion acts on a circuit this wide, as the options define it: it is
    enabled (``fusion_enable``) and the circuit has at least ``fusion_threshold`` qubits.

    Narrower circuits keep their ops as they are, so they are never priced: a roofline
    is only looked up for circuits that this says fusion acts on.
    """
    return settings.enable and num_qubits >= settings.threshold


class GatesEnqueued(NamedTuple):
    """What :func:`enqueue_gates` enqueued: ops after fusion, and their passes over the states."""

    ops: int
    passes: int


def enqueue_gates(
    device: Device,
    stream: Stream,
    states: DeviceArray,
    num_qubits: int,
    batch: int,
    precision: str,
    fuser: Fuser,
    ops: Sequence[GateOp],
    fuse: bool,
    condition: tuple[ClassicalRows, int] | None = None,
    pricing: Roofline | None = None,
) -> GatesEnqueued:
    """Enqueue a run of gate ops: fused (if ``fuse``), encoded, uploaded and launched.

    WIDE_DENSE ops split the program and run through the device's BLAS; they take no
    condition (dynamic lowering refuses them under one).

    Args:
        device: Where to run.
        stream: The stream to enqueue on.
        states: The batch.
        num_qubits: Width of each state.
        batch: Number of states.
        precision: ``"double"`` or ``"single"``.
        fuser: Fuses the run.
        ops: The ops, in order; fused only if their data is shared by the batch.
        fuse: Whether to fuse.
        condition: (rows, mask slot) limiting the ops to the states whose slot is set.
        pricing: The roofline fusion prices with; the device's own by default.

    Returns:
        The ops enqueued, after fusion, and the passes over the states they make.
    """
    if fuse:
        if fusion_applies(fuser.settings, num_qubits):  # else fusion leaves the ops as they are
            itemsize = np.dtype(COMPLEX_DTYPES[precision]).itemsize
            roofline = pricing or device.roofline(precision)
            fused = fuser.fuse(ops, num_qubits, roofline, itemsize)
            ops = INDEX_SWAPPER.place(fused, num_qubits, roofline, itemsize)
    elif fuser.settings.enable:
        ops = merge_one_qubit_runs(ops)
    passes = 0
    for wide, group in itertools.groupby(ops, key=lambda op: op.kind is OpKind.WIDE_DENSE):
        if wide:
            for op in group:
                device.apply_wide_matrix(stream, states, num_qubits, batch, op)
                passes += 1
        else:
            encoded = encode_program(list(group), batch)
            program = device.upload_program(stream, encoded, precision)
            device.run_program(stream, states, num_qubits, batch, program, condition)
            passes += device.program_passes(encoded, num_qubits, batch, precision)
    return GatesEnqueued(len(ops), passes)


@dataclass(frozen=True)
class SaveState(Step, handles=SaveStatevector):
    """Keep a host copy of the states under a label."""

    label: str

    @classmethod
    def from_instructions(cls, instructions: Sequence[Any]) -> SaveState:
        (save,) = instructions
        return cls(save.label)

    def enqueue(self, context: StepContext) -> None:
        copy = context.device.copy_to_host(context.stream, context.states)
        context.saved.append((self.label, copy))


@dataclass(frozen=True, eq=False)
class SetState(Step, handles=SetStatevector):
    """Replace every state of the batch by the given amplitudes: the experiment's states
    are the uploaded copy from here (the buffer before is dropped once the work that
    reads it is enqueued, as for DiagonalOfDensities)."""

    amplitudes: np.ndarray

    @classmethod
    def from_instructions(cls, instructions: Sequence[Any]) -> SetState:
        (state,) = instructions
        return cls(state.amplitudes)

    def enqueue(self, context: StepContext) -> None:
        host = np.tile(self.amplitudes.astype(COMPLEX_DTYPES[context.precision]), context.batch)
        context.states = context.device.upload(context.stream, host)


@dataclass(frozen=True)
class DiagonalOfDensities(Step, handles=DensityDiagonal):
    """Replace the experiment's density matrices (2n-qubit vectors) by the n-qubit
    states whose squared amplitudes are their diagonals, for the terminal sampling.

    The new buffer belongs to the experiment from here, as the densities did; the
    densities' buffer is dropped once the launch that reads it is enqueued (the device
    keeps what its queued work uses)."""

    num_qubits: int

    @classmethod
    def from_instructions(cls, instructions: Sequence[Any]) -> DiagonalOfDensities:
        (diagonal,) = instructions
        return cls(diagonal.num_qubits)

    def enqueue(self, context: StepContext) -> None:
        device, stream, n = context.device, context.stream, self.num_qubits
        states = device.allocate_states(stream, context.batch << n, context.precision)
        device.density_diagonal(stream, context.states, states, n, context.batch)
        context.states = states
        context.num_qubits = n


@dataclass(frozen=True)
class SampleMeasurements(Step, handles=MeasureTerminal):
    """Sample the terminal measurement: ``context.shots`` outcomes per state, seeded per state.

    Outcomes index the full distribution (bit q is qubit q) when every qubit is
    measured, in whatever order, and the marginal one (bit t is ``qubits[t]``)
    otherwise.
    """

    qubits: tuple[int, ...]

    @classmethod
    def from_instructions(cls, instructions: Sequence[Any]) -> SampleMeasurements:
        (measure,) = instructions
        return cls(measure.qubits)

    def enqueue(self, context: StepContext) -> None:
        device, stream, n = context.device, context.stream, context.num_qubits
        if sorted(self.qubits) == list(range(n)):
            distribution = device.probabilities(stream, context.states, n, context.batch)
            context.outcome_bits = self.qubits
        else:
            distribution = device.marginal_probabilities(
                stream,
                context.states,
                n,
                context.batch,
                self.qubits,
                chunk_bits(n, len(self.qubits)),
            )
            context.outcome_bits = tuple(range(len(self.qubits)))
        cumulative = device.cumulative_sum(stream, distribution)
        seeds = np.array(context.seeds, dtype=np.uint64)
        drawn = device.sample(stream, cumulative, len(self.qubits), context.shots, seeds, context.precision)
        context.outcomes = device.copy_to_host(stream, drawn)


#: Most bytes of partial sums one evaluation of observable pieces holds at a time.
MAX_PARTIALS_BYTES = 64 << 20


@dataclass(frozen=True)
class EvaluatePieces(Step, handles=EvaluateObservables):
    """Evaluate observable pieces on every state (the primitives' estimator), a group of
    passes at a time so that the partial sums stay within MAX_PARTIALS_BYTES.

    The chunking depends on the width only, so a state's values do not depend on the
    batch it was evaluated in.
    """

    evaluation: EvaluateObservables

    @classmethod
    def from_instructions(cls, instructions: Sequence[Any]) -> EvaluatePieces:
        (evaluation,) = instructions
        return cls(evaluation)

    def enqueue(self, context: StepContext) -> None:
        device, n, batch = context.device, context.num_qubits, context.batch
        bits = trajectory_chunk_bits(n, 0)
        group_pieces = max(1, MAX_PARTIALS_BYTES // ((16 * batch) << bits))
        for passes, pieces in self.evaluation.pieces.groups(group_pieces):
            sums = device.expectation_pieces(context.stream, context.states, n, batch, passes, pieces, bits)
            context.saved.append((self.evaluation.label, device.copy_to_host(context.stream, sums)))

"""The executor: issues each experiment's steps to a Device, asynchronously.

It speaks only the Device interface (``devices/base.py``): it never imports CuPy or the
C++ extension, so everything here runs, and is tested, the same way on either device.
Each experiment's lowered instructions become steps (``steps.py``), and each step
enqueues its own work; the executor only places experiments on streams and buffers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.fusion import Fuser
from qiskit_cupy.compiler.lowering import LoweredCircuit, LoweredInstruction
from qiskit_cupy.compiler.parametric import evaluate_expressions
from qiskit_cupy.devices.base import Device, Event, HostCopy, Stream
from qiskit_cupy.runtime.memory import request_bytes, usable_streams
from qiskit_cupy.runtime.request import ExperimentRequest
from qiskit_cupy.runtime.steps import StepContext, build_steps
from qiskit_cupy.runtime.trajectories import ChunkRecord, TrajectoryEngine


@dataclass
class PendingExperiment:
    """An experiment whose work is enqueued; its host copies fill as the stream runs.

    ``clbit_bits`` maps each measured clbit to the bit of a sampled outcome that holds
    it: outcomes index the full distribution (bit q is qubit q) when every qubit is
    measured, in whatever order, and the marginal one (bit t is the t-th measured
    qubit) otherwise.
    """

    request: ExperimentRequest
    lowered: LoweredCircuit | DynamicCircuit
    start: Event
    end: Event
    outcomes: HostCopy | None = None
    saved_states: list[tuple[str, HostCopy]] = field(default_factory=list)
    num_ops: int = 0
    clbit_bits: dict[int, int] = field(default_factory=dict)
    chunks: list[ChunkRecord] = field(default_factory=list)


@dataclass
class PendingRun:
    """Every experiment of a job, enqueued, and the event after the job's last kernel."""

    device: Device
    precision: str
    experiments: list[PendingExperiment]
    event: Event

    def failure(self) -> BaseException | None:
        """Return the first failure an event of the run reported, if any.

        Each event reports the failure of the work between it and the previous event on
        its stream, so every experiment's end event is consulted, then the job's event.
        """
        for event in [experiment.end for experiment in self.experiments] + [self.event]:
            if event.done and event.error is not None:
                return event.error
        return None


def submit_experiments(
    device: Device,
    requests: Sequence[ExperimentRequest],
    precision: str,
    max_streams: int,
    fuser: Fuser,
) -> PendingRun:
    """Enqueue the work of every (already lowered) experiment; return without waiting.

    Experiments are spread round-robin over up to ``max_streams`` streams; each stream
    reuses one state buffer for its experiments. After each stream's last kernel an
    event is recorded, the first stream waits on them all, and the job's event is
    recorded there.

    Args:
        device: Where to run.
        requests: The experiments.
        precision: ``"double"`` or ``"single"``.
        max_streams: Most streams to spread the experiments over.
        fuser: Fuses each program before it is encoded.

    Returns:
        The pending run.

    Raises:
        CupySimulatorError: A circuit does not fit in memory.
    """
    if not requests:  # a primitive's job with nothing to run: only its event
        stream = device.streams(1)[0]
        return PendingRun(device, precision, [], device.record_event(stream))
    lowered = [request.lowered for request in requests]
    needs = [request_bytes(request, precision) for request in requests]
    count = usable_streams(device, max(needs), min(max_streams, len(requests)))
    streams = device.streams(count)
    buffers = []
    for index, stream in enumerate(streams):
        assigned = zip(requests[index::count], lowered[index::count])
        sizes = [
            request.batch << low.num_qubits for request, low in assigned
            if not isinstance(low, DynamicCircuit)  # trajectories allocate their own chunks
        ]
        buffers.append(device.allocate_states(stream, max(sizes), precision) if sizes else None)
    experiments = []
    for index, (request, low) in enumerate(zip(requests, lowered)):
        stream = streams[index % count]
        if isinstance(low, DynamicCircuit):
            experiments.append(_enqueue_trajectories(device, stream, request, low, precision, fuser))
            continue
        states = buffers[index % count][: request.batch << low.num_qubits]
        experiments.append(_enqueue(device, stream, states, request, low, precision, fuser))
    stream_events = [device.record_event(stream) for stream in streams[1:]]
    for event in stream_events:
        device.wait_event(streams[0], event)
    return PendingRun(device, precision, experiments, device.record_event(streams[0]))


def bound_instructions(low: LoweredCircuit, request: ExperimentRequest) -> list[LoweredInstruction]:
    """Return the lowered instructions with each parametric op's data for every batch entry.

    A parametric op's data gains a leading batch axis; other ops keep data shared by the
    batch.
    """
    instructions = list(low.steps)
    if request.parameter_values is None:
        return instructions
    for index, parametric in low.parametric.items():
        values = evaluate_expressions(parametric.expressions, request.parameter_values, request.batch)
        matrices = parametric.family.flat_matrices(values)
        op = instructions[index]
        data = matrices[:, op.source]
        instructions[index] = dataclasses.replace(op, data=data[0] if request.batch == 1 else data)
    return instructions


def _enqueue_trajectories(
    device: Device,
    stream: Stream,
    request: ExperimentRequest,
    low: DynamicCircuit,
    precision: str,
    fuser: Fuser,
) -> PendingExperiment:
    """Enqueue a dynamic circuit's shots as trajectories (one bound circuit, batch 1)."""
    start = device.record_event(stream)
    engine = TrajectoryEngine(
        device, stream, low, precision, fuser, request.seeds[0], request.shot_branching
    )
    chunks = engine.run(request.shots)
    end = device.record_event(stream)
    return PendingExperiment(request, low, start, end, num_ops=engine.num_ops, chunks=chunks)


def _enqueue(
    device: Device,
    stream: Stream,
    states: object,
    request: ExperimentRequest,
    low: LoweredCircuit,
    precision: str,
    fuser: Fuser,
) -> PendingExperiment:
    """Enqueue one experiment: prepare its states, then each of its steps in order."""
    context = StepContext(
        device, stream, states, low.num_qubits, request.batch, precision, fuser,
        request.shots, request.seeds, per_state_data=request.parameter_values is not None,
    )
    start = device.record_event(stream)
    device.set_zero_state(stream, states, low.num_qubits, request.batch)
    for step in build_steps(bound_instructions(low, request)):
        step.enqueue(context)
    end = device.record_event(stream)
    clbit_bits = {
        clbit: context.outcome_bits[source] for clbit, source in low.clbit_sources.items()
    }
    return PendingExperiment(
        request, low, start, end, context.outcomes, context.saved, context.num_ops, clbit_bits
    )

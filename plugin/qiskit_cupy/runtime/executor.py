"""The executor: issues each experiment's steps to a Device, asynchronously.

It speaks only the Device interface (``devices/base.py``): it never imports CuPy or the
C++ extension, so everything here runs, and is tested, the same way on either device.
Each experiment's lowered instructions become steps (``steps.py``), and each step
enqueues its own work; the executor only places experiments on devices (as
``pool.py`` assigned them), streams and buffers.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.fusion import Fuser, Roofline
from qiskit_cupy.compiler.lowering import LoweredCircuit, LoweredInstruction
from qiskit_cupy.compiler.ops import GateOp
from qiskit_cupy.compiler.parametric import evaluate_expressions
from qiskit_cupy.devices.base import Device, DeviceArray, Event, HostCopy, Stream
from qiskit_cupy.runtime.memory import request_bytes, usable_streams
from qiskit_cupy.runtime.pool import Part
from qiskit_cupy.runtime.request import ExperimentRequest
from qiskit_cupy.runtime.steps import StepContext, build_steps, fusion_applies
from qiskit_cupy.runtime.trajectories import ChunkRecord, TrajectoryEngine


@dataclass
class PendingExperiment:
    """A part of an experiment whose work is enqueued; its host copies fill as the
    stream runs.

    ``clbit_bits`` maps each measured clbit to the bit of a sampled outcome that holds
    it: outcomes index the full distribution (bit q is qubit q) when every qubit is
    measured, in whatever order, and the marginal one (bit t is the t-th measured
    qubit) otherwise. ``index`` is the position of its experiment in the job: a pool
    may run an experiment as several parts (slices of its batch, ranges of its shots),
    which share it.
    """

    request: ExperimentRequest
    lowered: LoweredCircuit | DynamicCircuit
    device: Device
    start: Event
    end: Event
    outcomes: HostCopy | None = None
    saved_states: list[tuple[str, HostCopy]] = field(default_factory=list)
    num_ops: int = 0
    num_passes: int = 0
    clbit_bits: dict[int, int] = field(default_factory=dict)
    chunks: list[ChunkRecord] = field(default_factory=list)
    index: int = 0


@dataclass
class DeviceRun:
    """What one device of the pool holds of a job: its parts, and the event recorded
    after its last kernel."""

    device: Device
    experiments: list[PendingExperiment]
    event: Event


@dataclass
class PendingRun:
    """Every part of a job, enqueued, in job order, and one event per device after the
    job's last kernel there."""

    precision: str
    experiments: list[PendingExperiment]
    device_runs: list[DeviceRun]

    @property
    def devices(self) -> list[Device]:
        """The devices the job ran on, in pool order."""
        return [run.device for run in self.device_runs]

    @property
    def done(self) -> bool:
        """Whether every device has reached the job's event."""
        return all(run.event.done for run in self.device_runs)

    def synchronize(
        self, timeout: float | None = None, advance: Callable[[int], object] | None = None
    ) -> bool:
        """Wait for every device's event; return False if ``timeout`` passed first.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.
            advance: Called with 1 as each part's end event completes (for a progress
                bar); the wait is then on each part's event in turn, then on each
                device's.

        Raises:
            Exception: A device failed in a way that its event reports at once.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if advance is not None:
            for experiment in self.experiments:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not experiment.end.synchronize(remaining):
                    return False
                advance(1)
        for run in self.device_runs:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not run.event.synchronize(remaining):
                return False
        return True

    def seconds(self) -> float:
        """Device time of the job: the longest, over devices, from first start to event."""
        return max(
            (
                run.event.elapsed_since(run.experiments[0].start)
                for run in self.device_runs
                if run.experiments
            ),
            default=0.0,
        )

    def failure(self) -> BaseException | None:
        """Return the first failure an event of the run reported, if any.

        Each event reports the failure of the work between it and the previous event on
        its stream, so every part's end event is consulted, then each device's event.
        """
        events = [experiment.end for experiment in self.experiments]
        for event in events + [run.event for run in self.device_runs]:
            if event.done and event.error is not None:
                return event.error
        return None


def submit_to_pool(
    devices: Sequence[Device],
    parts: Sequence[Part],
    placement: Sequence[Sequence[int]],
    precision: str,
    max_streams: int,
    fuser: Fuser,
    pricing: Roofline | None = None,
    inline: bool = False,
) -> PendingRun:
    """Enqueue each device's parts; return without waiting for any kernel.

    Each device's parts are enqueued by their own host thread when more than one
    device has work, so a device whose work waits on the host (shot branching) does
    not hold back the others. Every device prices fusion with the first device's
    roofline, so each runs the same programs (a job that nothing fuses is not priced).

    Args:
        devices: The pool.
        parts: The job's parts (``pool.split_for_pool``).
        placement: For each device, the indices of its parts (``pool.assign_parts``).
        precision: ``"double"`` or ``"single"``.
        max_streams: Most streams per device.
        fuser: Fuses each program before it is encoded.
        pricing: The roofline fusion prices with: the first device's by default; a
            sub-job's worker is given its client's, so that it fuses as the client would.
        inline: Run the work on an inline stream of each device that has one
            (``Device.inline_stream``): on this thread, before returning.

    Returns:
        The pending run.
    """
    if pricing is None and any(_prices_fusion(fuser, part.request) for part in parts):
        pricing = devices[0].roofline(precision)
    busy = [(device, list(indices)) for device, indices in zip(devices, placement) if indices]
    if not busy:  # a primitive's job with nothing to run: only an event
        busy = [(devices[0], [])]

    def enqueue(work: tuple[Device, list[int]]) -> DeviceRun:
        device, indices = work
        return submit_experiments(
            device, [parts[i] for i in indices], precision, max_streams, fuser, pricing, inline
        )

    if len(busy) == 1:  # its parts are the job's, in job order
        device_runs = [enqueue(busy[0])]
        return PendingRun(precision, list(device_runs[0].experiments), device_runs)
    with concurrent.futures.ThreadPoolExecutor(len(busy), thread_name_prefix="qiskit-cupy-pool") as threads:
        device_runs = list(threads.map(enqueue, busy))
    by_part = {
        position: experiment
        for (_device, indices), run in zip(busy, device_runs)
        for position, experiment in zip(indices, run.experiments)
    }
    experiments = [by_part[position] for position in sorted(by_part)]
    return PendingRun(precision, experiments, device_runs)


def submit_experiments(
    device: Device,
    parts: Sequence[Part],
    precision: str,
    max_streams: int,
    fuser: Fuser,
    pricing: Roofline | None = None,
    inline: bool = False,
) -> DeviceRun:
    """Enqueue the work of every (already lowered) part on one device; return without
    waiting.

    Parts are spread round-robin over up to ``max_streams`` streams; each stream
    reuses one state buffer for its parts. After each stream's last kernel an event is
    recorded, the first stream waits on them all, and the device's event is recorded
    there. An inline job uses one stream: the device's inline stream when it has one
    (then every kernel has run, and every event completed, when this returns), else
    its first.

    Ownership: the state buffers allocated here, and every array the steps allocate,
    belong to this job until the event after their last use; the streams may be
    shared with other jobs (an inline stream never is).

    Args:
        device: Where to run.
        parts: The parts.
        precision: ``"double"`` or ``"single"``.
        max_streams: Most streams to spread the parts over.
        fuser: Fuses each program before it is encoded.
        pricing: The roofline fusion prices with; the device's own by default.
        inline: Use the device's inline stream where it has one.

    Returns:
        The device's share of the run.

    Raises:
        CupySimulatorError: A circuit does not fit in memory.
    """
    if pricing is None and any(_prices_fusion(fuser, part.request) for part in parts):
        pricing = device.roofline(precision)
    own_stream = device.inline_stream() if inline else None
    if not parts:
        stream = own_stream or device.streams(1)[0]
        return DeviceRun(device, [], device.record_event(stream))
    requests = [part.request for part in parts]
    if inline:  # one stream; run() has checked that the job fits (check_fits)
        count = 1
    else:
        needs = [request_bytes(request, precision) for request in requests]
        count = usable_streams(device, max(needs), min(max_streams, len(requests)))
    streams = [own_stream] if own_stream is not None else device.streams(count)
    buffers: list[DeviceArray | None] = []
    for index, stream in enumerate(streams):
        sizes = [
            request.batch << request.lowered.num_qubits
            for request in requests[index::count]
            if not isinstance(request.lowered, DynamicCircuit)  # trajectories allocate their own
        ]
        buffers.append(device.allocate_states(stream, max(sizes), precision) if sizes else None)
    experiments: list[PendingExperiment] = []
    for position, part in enumerate(parts):
        stream, request = streams[position % count], part.request
        low = request.lowered
        if isinstance(low, DynamicCircuit):
            experiment = _enqueue_trajectories(device, stream, request, low, precision, fuser, pricing)
        else:
            buffer = buffers[position % count]
            assert buffer is not None  # the stream of a static part was given a buffer above
            states = buffer[: request.batch << low.num_qubits]
            experiment = _enqueue(device, stream, states, request, low, precision, fuser, pricing)
        experiment.index = part.index
        experiments.append(experiment)
    stream_events = [device.record_event(stream) for stream in streams[1:]]
    for event in stream_events:
        device.wait_event(streams[0], event)
    return DeviceRun(device, experiments, device.record_event(streams[0]))


def _prices_fusion(fuser: Fuser, request: ExperimentRequest) -> bool:
    """Whether fusing the request may need a roofline: a trajectory circuit, or a static
    one that fusion acts on (``steps.fusion_applies``)."""
    low = request.lowered
    return isinstance(low, DynamicCircuit) or fusion_applies(fuser.settings, low.num_qubits)


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
        assert isinstance(op, GateOp) and op.source is not None  # lowering keys gate ops with sources
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
    pricing: Roofline | None,
) -> PendingExperiment:
    """Enqueue a dynamic circuit's shots as trajectories (one bound circuit, batch 1)."""
    start = device.record_event(stream)
    engine = TrajectoryEngine(
        device, stream, low, precision, fuser, request.seeds[0], request.shot_branching, pricing
    )
    chunks = engine.run(request.shots, request.first_shot)
    end = device.record_event(stream)
    return PendingExperiment(
        request,
        low,
        device,
        start,
        end,
        num_ops=engine.num_ops,
        num_passes=engine.num_passes,
        chunks=chunks,
    )


def _enqueue(
    device: Device,
    stream: Stream,
    states: object,
    request: ExperimentRequest,
    low: LoweredCircuit,
    precision: str,
    fuser: Fuser,
    pricing: Roofline | None,
) -> PendingExperiment:
    """Enqueue one experiment: prepare its states, then each of its steps in order."""
    context = StepContext(
        device,
        stream,
        states,
        low.num_qubits,
        request.batch,
        precision,
        fuser,
        request.shots,
        request.seeds,
        per_state_data=request.parameter_values is not None,
        pricing=pricing,
    )
    start = device.record_event(stream)
    device.set_zero_state(stream, states, low.num_qubits, request.batch)
    for step in build_steps(bound_instructions(low, request)):
        step.enqueue(context)
    end = device.record_event(stream)
    clbit_bits = {clbit: context.outcome_bits[source] for clbit, source in low.clbit_sources.items()}
    return PendingExperiment(
        request,
        low,
        device,
        start,
        end,
        context.outcomes,
        context.saved,
        context.num_ops,
        context.num_passes,
        clbit_bits,
    )

"""The executor: lowers circuits and issues their work to a Device, asynchronously.

It speaks only the Device interface (``devices/base.py``): it never imports CuPy or the
C++ extension, so everything here runs, and is tested, the same way on either device.

An experiment request is one circuit run on a batch of one or more states: a batch
holds the same circuit under several parameter bindings, laid out contiguously in one
buffer, so that each kernel launch serves the whole batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit

from qiskit_cupy.devices.base import COMPLEX_DTYPES, Device, Event, HostCopy, Stream
from qiskit_cupy.errors import InsufficientMemoryError
from qiskit_cupy.fusion import Fuser
from qiskit_cupy.lowering import LoweredCircuit, SaveStatevector
from qiskit_cupy.ops import GateOp, OpKind
from qiskit_cupy.parametric import evaluate_expressions
from qiskit_cupy.program import encode_program

#: Marginal probabilities are summed in at least 2**PARTIAL_SUM_BITS parallel pieces
#: (outcomes x chunks), as far as the state has amplitudes to split.
PARTIAL_SUM_BITS = 16


@dataclass(frozen=True)
class ExperimentRequest:
    """One circuit to run on a batch of states, and how.

    Attributes:
        circuit: The circuit; its parameters are bound, or bound per batch entry by
            ``parameter_values``.
        shots: Samples of its terminal measurements, per batch entry.
        seeds: Seed of each batch entry's sampler; its length is the batch size.
        save_final_state: Keep the final state under ``"statevector"``.
        parameter_values: Each circuit parameter's value per batch entry, or None.
        lowered: The circuit lowered (by ``run()``, where its errors are reported).
    """

    circuit: QuantumCircuit
    shots: int
    seeds: tuple[int, ...]
    lowered: LoweredCircuit
    save_final_state: bool = False
    parameter_values: Mapping[Parameter, np.ndarray] | None = None

    @property
    def batch(self) -> int:
        """Number of states the experiment runs on."""
        return len(self.seeds)


@dataclass
class PendingExperiment:
    """An experiment whose work is enqueued; its host copies fill as the stream runs.

    ``clbit_bits`` maps each measured clbit to the bit of a sampled outcome that holds
    it: outcomes index the full distribution (bit q is qubit q) when every qubit is
    measured, in whatever order, and the marginal one (bit t is the t-th measured
    qubit) otherwise.
    """

    request: ExperimentRequest
    lowered: LoweredCircuit
    start: Event
    end: Event
    outcomes: HostCopy | None = None
    saved_states: list[tuple[str, HostCopy]] = field(default_factory=list)
    num_ops: int = 0
    clbit_bits: dict[int, int] = field(default_factory=dict)


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


def chunk_bits(num_qubits: int, num_measured: int) -> int:
    """How many bits of chunks split each outcome's marginal sum; depends only on widths."""
    return max(0, min(num_qubits - num_measured, PARTIAL_SUM_BITS - num_measured))


def required_bytes(
    num_qubits: int, num_measured: int, shots: int, precision: str, batch: int = 1
) -> int:
    """Device bytes one stream needs for a circuit: states, probabilities, samples.

    Args:
        num_qubits: Width of the state.
        num_measured: Number of distinct measured qubits (0 if none).
        shots: Number of samples per state.
        precision: ``"double"`` or ``"single"``.
        batch: Number of states.

    Returns:
        An upper bound on the bytes allocated while the circuit runs.
    """
    state = batch * (np.dtype(COMPLEX_DTYPES[precision]).itemsize << num_qubits)
    if num_measured == 0:
        return state
    outcomes = batch << num_measured
    partials = outcomes << chunk_bits(num_qubits, num_measured)
    sums = outcomes if partials != outcomes else 0
    return state + 8 * (partials + 2 * sums + outcomes) + 8 * batch * shots


#: Below this many bytes per stream, memory is not queried: no device runs short of it.
SMALL_ALLOCATION_BYTES = 1 << 26


def usable_streams(device: Device, per_stream_bytes: int, wanted: int) -> int:
    """Return how many streams can each hold ``per_stream_bytes`` at once (at most ``wanted``).

    Raises:
        InsufficientMemoryError: Not even one stream fits; the message gives both sizes.
    """
    if per_stream_bytes * wanted <= SMALL_ALLOCATION_BYTES:
        return wanted
    free = device.free_memory()
    if per_stream_bytes > free:
        raise InsufficientMemoryError(
            f"the simulation needs {per_stream_bytes} bytes of {device.name} memory but only "
            f"{free} bytes are free"
        )
    return max(1, min(wanted, free // max(per_stream_bytes, 1)))


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
    lowered = [request.lowered for request in requests]
    needs = [
        required_bytes(low.num_qubits, len(low.measured_qubits), request.shots, precision,
                       request.batch)
        for low, request in zip(lowered, requests)
    ]
    count = usable_streams(device, max(needs), min(max_streams, len(requests)))
    streams = device.streams(count)
    buffers = []
    for index, stream in enumerate(streams):
        assigned = zip(requests[index::count], lowered[index::count])
        largest = max(request.batch << low.num_qubits for request, low in assigned)
        buffers.append(device.allocate_states(stream, largest, precision))
    experiments = []
    for index, (request, low) in enumerate(zip(requests, lowered)):
        states = buffers[index % count][: request.batch << low.num_qubits]
        experiments.append(
            _enqueue(device, streams[index % count], states, request, low, precision, fuser)
        )
    stream_events = [device.record_event(stream) for stream in streams[1:]]
    for event in stream_events:
        device.wait_event(streams[0], event)
    return PendingRun(device, precision, experiments, device.record_event(streams[0]))


def bound_steps(low: LoweredCircuit, request: ExperimentRequest) -> list[GateOp | SaveStatevector]:
    """Return the lowered steps with each parametric op's data for every batch entry.

    A parametric op's data gains a leading batch axis; other ops keep data shared by the
    batch.
    """
    if request.parameter_values is None:
        return list(low.steps)
    steps = list(low.steps)
    for index, parametric in low.parametric.items():
        values = evaluate_expressions(parametric.expressions, request.parameter_values, request.batch)
        matrices = parametric.family.flat_matrices(values)
        op = steps[index]
        data = matrices[:, op.source]
        steps[index] = dataclasses.replace(op, data=data[0] if request.batch == 1 else data)
    return steps


def _enqueue(
    device: Device,
    stream: Stream,
    states: object,
    request: ExperimentRequest,
    low: LoweredCircuit,
    precision: str,
    fuser: Fuser,
) -> PendingExperiment:
    """Enqueue one experiment: prepare, run each segment, keep saves, sample."""
    n, batch = low.num_qubits, request.batch
    start = device.record_event(stream)
    device.set_zero_state(stream, states, n, batch)
    saved: list[tuple[str, HostCopy]] = []
    segment: list[GateOp] = []
    num_ops = 0
    for step in bound_steps(low, request):
        if isinstance(step, SaveStatevector):
            num_ops += _run_segment(device, stream, states, n, batch, segment, precision, fuser)
            segment = []
            saved.append((step.label, device.copy_to_host(stream, states)))
        else:
            segment.append(step)
    num_ops += _run_segment(device, stream, states, n, batch, segment, precision, fuser)
    outcomes = None
    outcome_bits: tuple[int, ...] = ()
    if low.measured_qubits:
        positions = tuple(low.measured_qubits)
        if sorted(positions) == list(range(n)):
            distribution = device.probabilities(stream, states, n, batch)
            outcome_bits = positions
        else:
            distribution = device.marginal_probabilities(
                stream, states, n, batch, positions, chunk_bits(n, len(positions))
            )
            outcome_bits = tuple(range(len(positions)))
        cumulative = device.cumulative_sum(stream, distribution)
        seeds = np.array(request.seeds, dtype=np.uint64)
        drawn = device.sample(
            stream, cumulative, len(positions), request.shots, seeds, precision
        )
        outcomes = device.copy_to_host(stream, drawn)
    end = device.record_event(stream)
    clbit_bits = {clbit: outcome_bits[source] for clbit, source in low.clbit_sources.items()}
    return PendingExperiment(request, low, start, end, outcomes, saved, num_ops, clbit_bits)


def _run_segment(
    device: Device,
    stream: Stream,
    states: object,
    num_qubits: int,
    batch: int,
    ops: list[GateOp],
    precision: str,
    fuser: Fuser,
) -> int:
    """Fuse, encode, upload and enqueue one run of ops; return how many ops ran.

    Batches with per-entry data are not fused: a fused block would have to be built
    for every entry.
    """
    if not ops:
        return 0
    if batch == 1:
        itemsize = np.dtype(COMPLEX_DTYPES[precision]).itemsize
        ops = fuser.fuse(ops, num_qubits, device.roofline(precision), itemsize)
    run: list[GateOp] = []
    for op in [*ops, None]:
        if op is not None and op.kind is not OpKind.WIDE_DENSE:
            run.append(op)
            continue
        if run:
            program = device.upload_program(stream, encode_program(run, batch), precision)
            device.run_program(stream, states, num_qubits, batch, program)
            run = []
        if op is not None:
            device.apply_wide_matrix(stream, states, num_qubits, batch, op)
    return len(ops)

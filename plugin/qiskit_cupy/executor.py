"""The executor: lowers circuits and issues their work to a Device, asynchronously.

It speaks only the Device interface (``devices/base.py``): it never imports CuPy or the
C++ extension, so everything here runs, and is tested, the same way on either device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit.circuit import QuantumCircuit

from qiskit_cupy.devices.base import COMPLEX_DTYPES, Device, Event, HostCopy, Stream
from qiskit_cupy.errors import InsufficientMemoryError
from qiskit_cupy.fusion import Fuser
from qiskit_cupy.lowering import LoweredCircuit, SaveStatevector, lower_circuit
from qiskit_cupy.ops import GateOp
from qiskit_cupy.program import encode_program

#: Marginal probabilities are summed in at least 2**PARTIAL_SUM_BITS parallel pieces
#: (outcomes x chunks), as far as the state has amplitudes to split.
PARTIAL_SUM_BITS = 16


@dataclass(frozen=True)
class ExperimentRequest:
    """One circuit to run and how.

    Attributes:
        circuit: The circuit, every parameter bound.
        shots: Number of samples of its terminal measurements.
        seed: Seed of its sampler.
        save_final_state: Keep the final state under ``"statevector"``.
    """

    circuit: QuantumCircuit
    shots: int
    seed: int
    save_final_state: bool = False


@dataclass
class PendingExperiment:
    """An experiment whose work is enqueued; its host copies fill as the stream runs."""

    request: ExperimentRequest
    lowered: LoweredCircuit
    start: Event
    end: Event
    outcomes: HostCopy | None = None
    saved_states: list[tuple[str, HostCopy]] = field(default_factory=list)
    num_ops: int = 0


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


def required_bytes(num_qubits: int, num_measured: int, shots: int, precision: str) -> int:
    """Device bytes one stream needs for a circuit: state, probabilities, samples.

    Args:
        num_qubits: Width of the state.
        num_measured: Number of distinct measured qubits (0 if none).
        shots: Number of samples.
        precision: ``"double"`` or ``"single"``.

    Returns:
        An upper bound on the bytes allocated while the circuit runs.
    """
    state = np.dtype(COMPLEX_DTYPES[precision]).itemsize << num_qubits
    if num_measured == 0:
        return state
    outcomes = 1 << num_measured
    partials = outcomes << chunk_bits(num_qubits, num_measured)
    sums = outcomes if partials != outcomes else 0
    return state + 8 * (partials + 2 * sums + outcomes) + 8 * shots


def usable_streams(device: Device, per_stream_bytes: int, wanted: int) -> int:
    """Return how many streams can each hold ``per_stream_bytes`` at once (at most ``wanted``).

    Raises:
        InsufficientMemoryError: Not even one stream fits; the message gives both sizes.
    """
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
    """Lower every circuit, then enqueue all of their work; return without waiting.

    Circuits are spread round-robin over up to ``max_streams`` streams; each stream
    reuses one state buffer for its circuits. After each stream's last kernel an event
    is recorded, the first stream waits on them all, and the job's event is recorded
    there.

    Args:
        device: Where to run.
        requests: The experiments.
        precision: ``"double"`` or ``"single"``.
        max_streams: Most streams to spread the experiments over.
        fuser: Fuses each program before it is encoded.

    Returns:
        The pending run.

    Raises:
        CupySimulatorError: A circuit cannot be lowered, or does not fit in memory.
    """
    lowered = [lower_circuit(request.circuit, request.save_final_state) for request in requests]
    needs = [
        required_bytes(low.num_qubits, len(low.measured_qubits), request.shots, precision)
        for low, request in zip(lowered, requests)
    ]
    count = usable_streams(device, max(needs), min(max_streams, len(requests)))
    streams = device.streams(count)
    buffers = []
    for index, stream in enumerate(streams):
        widest = max(low.num_qubits for low in lowered[index::count])
        buffers.append(device.allocate_states(widest, 1, precision))
    experiments = []
    for index, (request, low) in enumerate(zip(requests, lowered)):
        stream = streams[index % count]
        states = buffers[index % count][: 1 << low.num_qubits]
        experiments.append(_enqueue(device, stream, states, request, low, precision, fuser))
    stream_events = [device.record_event(stream) for stream in streams[1:]]
    for event in stream_events:
        device.wait_event(streams[0], event)
    return PendingRun(device, precision, experiments, device.record_event(streams[0]))


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
    n = low.num_qubits
    start = device.record_event(stream)
    device.set_zero_state(stream, states, n, 1)
    saved: list[tuple[str, HostCopy]] = []
    segment: list[GateOp] = []
    num_ops = 0
    for step in low.steps:
        if isinstance(step, SaveStatevector):
            num_ops += _run_segment(device, stream, states, n, segment, precision, fuser)
            segment = []
            saved.append((step.label, device.copy_to_host(stream, states)))
        else:
            segment.append(step)
    num_ops += _run_segment(device, stream, states, n, segment, precision, fuser)
    outcomes = None
    if low.measured_qubits:
        positions = tuple(low.measured_qubits)
        cumulative = device.cumulative_probabilities(
            stream, states, n, 1, positions, chunk_bits(n, len(positions))
        )
        seeds = np.array([request.seed], dtype=np.uint64)
        drawn = device.sample(stream, cumulative, len(positions), request.shots, seeds)
        outcomes = device.copy_to_host(stream, drawn)
    end = device.record_event(stream)
    return PendingExperiment(request, low, start, end, outcomes, saved, num_ops)


def _run_segment(
    device: Device,
    stream: Stream,
    states: object,
    num_qubits: int,
    ops: list[GateOp],
    precision: str,
    fuser: Fuser,
) -> int:
    """Fuse, encode, upload and enqueue one run of ops; return how many ops ran."""
    if not ops:
        return 0
    itemsize = np.dtype(COMPLEX_DTYPES[precision]).itemsize
    fused = fuser.fuse(ops, num_qubits, device.roofline(precision), itemsize)
    program = device.upload_program(stream, encode_program(fused), precision)
    device.run_program(stream, states, num_qubits, 1, program)
    return len(fused)

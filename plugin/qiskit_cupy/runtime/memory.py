"""Memory accounting: the device bytes an experiment needs, checked before any allocation.

The backend calls :func:`check_fits` in ``run()`` so that a circuit too wide for the
device is refused there; the executor calls :func:`usable_streams` to spread a job over
as many streams as fit at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.lowering import LoweredCircuit
from qiskit_cupy.compiler.ops import OpKind
from qiskit_cupy.devices.base import COMPLEX_DTYPES, Device
from qiskit_cupy.errors import InsufficientMemoryError
from qiskit_cupy.runtime.request import ExperimentRequest

#: Marginal probabilities are summed in at least 2**PARTIAL_SUM_BITS parallel pieces
#: (outcomes x chunks), as far as the state has amplitudes to split.
PARTIAL_SUM_BITS = 16

#: Below this many bytes per stream, memory is not queried: no device runs short of it.
SMALL_ALLOCATION_BYTES = 1 << 26


def chunk_bits(num_qubits: int, num_measured: int) -> int:
    """How many bits of chunks split each outcome's marginal sum; depends only on widths."""
    return max(0, min(num_qubits - num_measured, PARTIAL_SUM_BITS - num_measured))


#: A trajectory's per-state marginal sums add at least 2**MIN_PARTIAL_BITS amplitudes
#: per partial: a batch of small states has parallelism enough across its states.
MIN_PARTIAL_BITS = 8


def trajectory_chunk_bits(num_qubits: int, num_measured: int) -> int:
    """:func:`chunk_bits` for the per-state reductions of trajectories; like it, a
    function of the widths only, so every batch size reduces in the same order."""
    return max(0, min(num_qubits - num_measured - MIN_PARTIAL_BITS, PARTIAL_SUM_BITS - num_measured))


def wide_matrix_bytes(lowered: LoweredCircuit, precision: str, batch: int) -> int:
    """Peak temporaries of the circuit's widest BLAS-applied matrix (0 if it has none).

    A WIDE_DENSE op gathers the amplitudes its controls select into rows and writes the
    product into a second array (``devices/wide_matrix.py``), and uploads its matrix.
    """
    itemsize = np.dtype(COMPLEX_DTYPES[precision]).itemsize
    peak = 0
    for op in lowered.gate_ops:
        if op.kind is OpKind.WIDE_DENSE:
            selected = itemsize << (lowered.num_qubits - len(op.controls))
            peak = max(peak, batch * (2 * selected + op.data.size * itemsize))
    return peak


def required_bytes(
    lowered: LoweredCircuit | DynamicCircuit, shots: int, precision: str, batch: int = 1
) -> int:
    """Device bytes one stream needs for a circuit: states, temporaries, samples.

    Args:
        lowered: The circuit, lowered.
        shots: Number of samples per state.
        precision: ``"double"`` or ``"single"``.
        batch: Number of states.

    Returns:
        An upper bound on the bytes allocated while the circuit runs.
    """
    num_qubits, num_measured = lowered.num_qubits, len(lowered.measured_qubits)
    state = batch * (np.dtype(COMPLEX_DTYPES[precision]).itemsize << num_qubits)
    if isinstance(lowered, DynamicCircuit):
        # A chunk of one shot at least: its state, a gathered copy, its row and draws.
        return 2 * state + 8 * (lowered.row_width + 4 + (2 << len(lowered.final_qubits)))
    state += wide_matrix_bytes(lowered, precision, batch)
    if num_measured == 0:
        return state
    outcomes = batch << num_measured
    partials = outcomes << chunk_bits(num_qubits, num_measured)
    sums = outcomes if partials != outcomes else 0
    return state + 8 * (partials + 2 * sums + outcomes) + 8 * batch * shots


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


def request_bytes(request: ExperimentRequest, precision: str) -> int:
    """Device bytes one stream needs for one request."""
    return required_bytes(request.lowered, request.shots, precision, request.batch)


def check_fits(device: Device, requests: Sequence[ExperimentRequest], precision: str) -> None:
    """Refuse a job whose largest experiment does not fit in the device's free memory.

    Raises:
        InsufficientMemoryError: The message names the required and the free bytes.
    """
    if requests:
        usable_streams(device, max(request_bytes(request, precision) for request in requests), 1)


def check_memory_limit(requests: Sequence[ExperimentRequest], precision: str, max_memory_mb: int) -> None:
    """Refuse a job whose largest experiment needs more than ``max_memory_mb`` MiB (0: no
    limit of the user's).

    Raises:
        InsufficientMemoryError: The message names the required bytes and the limit.
    """
    if max_memory_mb and requests:
        needed = max(request_bytes(request, precision) for request in requests)
        if needed > max_memory_mb << 20:
            raise InsufficientMemoryError(
                f"the simulation needs {needed} bytes, more than max_memory_mb={max_memory_mb} MiB allows"
            )

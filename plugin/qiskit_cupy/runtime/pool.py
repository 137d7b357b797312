"""The device pool: a job's experiments and batch chunks spread over devices by cost.

A job on several devices (``target_gpus``, and the CPU with ``device="GPU+CPU"``) is
cut into parts: an experiment whole, a slice of a bound circuit's parameter sets, or a
range of a trajectory circuit's shots. Each part is priced on each device by its
roofline (bytes moved over bandwidth, plus launches) and the parts are placed longest
first, each on the device where it would finish soonest (the LPT rule), so that the
last device to finish finishes as early as the model can tell. A part goes only to a
device whose free memory holds it.

A part computes exactly what it computes in a one-device run: a state's amplitudes do
not depend on its batch (``steps.StepContext.per_state_data``), trajectory draws are
keyed by (seed, shot, counter), and every device prices fusion with the first device's
roofline, so all of them run the same fused program.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.devices.base import COMPLEX_DTYPES, Device
from qiskit_cupy.errors import InsufficientMemoryError
from qiskit_cupy.runtime.memory import SMALL_ALLOCATION_BYTES, request_bytes
from qiskit_cupy.runtime.request import ExperimentRequest

#: A part is cut so that it holds at most this fraction of a device's fair share of
#: the job's modeled time, and never into more pieces than there are devices.
PARTS_PER_SHARE = 2


@dataclass(frozen=True)
class Part:
    """A piece of one of the job's experiments.

    Attributes:
        index: The position of its experiment (request) in the job.
        request: The piece: the whole request, a slice of its batch, or a range of its
            shots (``first_shot``, ``shots``).
    """

    index: int
    request: ExperimentRequest


def modeled_seconds(request: ExperimentRequest, roofline: Roofline, precision: str) -> float:
    """Model a request's time on a device: each op reads and writes every state once.

    A trajectory circuit is priced as one state per shot, an upper bound that shot
    branching lowers; the model only has to rank parts and devices.
    """
    low = request.lowered
    itemsize = np.dtype(COMPLEX_DTYPES[precision]).itemsize
    if isinstance(low, DynamicCircuit):
        states, passes = request.shots, len(low.nodes) + 2
    else:
        states, passes = request.batch, len(low.steps) + 2
    state_bytes = float(states) * (itemsize << low.num_qubits)
    return passes * (2.0 * state_bytes / roofline.bandwidth + roofline.launch_seconds)


def _units(request: ExperimentRequest) -> int:
    """How many pieces a request can be cut into: its states, or its trajectory shots."""
    return request.shots if isinstance(request.lowered, DynamicCircuit) else request.batch


def _piece(request: ExperimentRequest, start: int, stop: int) -> ExperimentRequest:
    """Units ``start:stop`` of a request (shots of a trajectory circuit, else states)."""
    if isinstance(request.lowered, DynamicCircuit):
        return dataclasses.replace(request, shots=stop - start, first_shot=request.first_shot + start)
    values = request.parameter_values
    return dataclasses.replace(
        request,
        seeds=request.seeds[start:stop],
        parameter_values=None
        if values is None
        else {parameter: array[start:stop] for parameter, array in values.items()},
    )


def split_for_pool(
    requests: Sequence[ExperimentRequest], devices: Sequence[Device], precision: str
) -> list[Part]:
    """Cut the job's requests into parts that several devices can share.

    On one device every request is one part. Otherwise a request worth more than
    1/PARTS_PER_SHARE of a device's fair share of the job is cut into equal pieces,
    at most one per device.
    """
    if len(devices) == 1:
        return [Part(index, request) for index, request in enumerate(requests)]
    roofline = devices[0].roofline(precision)
    costs = [modeled_seconds(request, roofline, precision) for request in requests]
    target = sum(costs) / (PARTS_PER_SHARE * len(devices)) or 1.0
    parts = []
    for index, (request, cost) in enumerate(zip(requests, costs)):
        units = _units(request)
        pieces = max(1, min(units, len(devices), math.ceil(cost / target)))
        bounds = np.linspace(0, units, pieces + 1).round().astype(int)
        if pieces == 1:
            parts.append(Part(index, request))
            continue
        parts.extend(
            Part(index, _piece(request, int(start), int(stop)))
            for start, stop in zip(bounds[:-1], bounds[1:])
        )
    return parts


def assign_parts(parts: Sequence[Part], devices: Sequence[Device], precision: str) -> list[list[int]]:
    """Place each part on a device: longest first, where it finishes soonest.

    Args:
        parts: The job's parts.
        devices: The pool.
        precision: ``"double"`` or ``"single"``.

    Returns:
        For each device, the indices of its parts, in job order.

    Raises:
        InsufficientMemoryError: A part fits in no device's free memory; the message
            names the bytes needed and the most any device has free.
    """
    if len(devices) == 1:
        return [list(range(len(parts)))]
    needs = [request_bytes(part.request, precision) for part in parts]
    free = [
        device.free_memory() if max(needs, default=0) > SMALL_ALLOCATION_BYTES else math.inf
        for device in devices
    ]
    rooflines = [device.roofline(precision) for device in devices]
    costs = [[modeled_seconds(part.request, roofline, precision) for roofline in rooflines] for part in parts]
    loads = [0.0] * len(devices)
    placed: list[list[int]] = [[] for _ in devices]
    for index in sorted(range(len(parts)), key=lambda i: (-costs[i][0], i)):
        fitting = [d for d in range(len(devices)) if needs[index] <= free[d]]
        if not fitting:
            raise InsufficientMemoryError(
                f"the simulation needs {needs[index]} bytes of device memory but the most any "
                f"device of the pool has free is {max(free)} bytes"
            )
        best = min(fitting, key=lambda d: (loads[d] + costs[index][d], d))
        loads[best] += costs[index][best]
        placed[best].append(index)
    return [sorted(indices) for indices in placed]

"""What runs on a worker: one sub-job, on the worker process's own backend.

The worker's backend is made on first use and kept for the life of the process, so its
devices, compiled kernels and fusion plans serve every later sub-job. It picks its own
devices: the worker's GPUs (one per worker under dask-cuda, which sets
``CUDA_VISIBLE_DEVICES``), else the CPU fallback.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import qpy
from qiskit.result.models import ExperimentResult

from qiskit_cupy.distributed.subjobs import SubJob, restore_subtypes
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.options import validate_options
from qiskit_cupy.runtime.results import build_result

_backend_lock = threading.Lock()
_backends: dict[Callable[[], Any], Any] = {}


class SubJobError(CupySimulatorError):
    """A sub-job failed on its worker; the message names both."""


@dataclass(frozen=True)
class SubJobOutput:
    """What a worker sends back: the sub-job's results, and who ran it.

    Attributes:
        number: The sub-job's position in its job.
        results: One ExperimentResult per piece, in order.
        worker: The worker's address (Dask's, or host:pid).
        pid: The worker's process id.
    """

    number: int
    results: list[ExperimentResult]
    worker: str
    pid: int


def worker_name() -> str:
    """The running worker's Dask address, or host:pid outside a Dask worker."""
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            return str(get_worker().address)
        except ValueError:  # not in a Dask worker
            pass
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_backend(make: Callable[[], Any]) -> Any:
    """This process's backend of the kind ``make`` builds, made on first use."""
    with _backend_lock:
        if make not in _backends:
            _backends[make] = make()
        return _backends[make]


def run_subjob(subjob: SubJob, backend: Any) -> SubJobOutput:
    """Run one sub-job and return its results.

    Args:
        subjob: The sub-job.
        backend: The backend to run it on (the client's own, for an executor of threads
            in its process), or its class: this process then runs the sub-job on a
            backend of that class of its own, kept for later sub-jobs.

    Raises:
        SubJobError: The sub-job failed; the message names it and this worker.
    """
    try:
        runner = _worker_backend(backend) if isinstance(backend, type) else backend
        return SubJobOutput(subjob.number, _results(subjob, runner), worker_name(), os.getpid())
    except Exception as error:
        raise SubJobError(f"{subjob.describe()} failed on worker {worker_name()}: {error}") from error


def _results(subjob: SubJob, backend: Any) -> list[ExperimentResult]:
    """Rebuild the sub-job's requests (seeds and shot ranges as shipped), run them."""
    circuits = qpy.load(io.BytesIO(subjob.qpy))
    for circuit, subtypes in zip(circuits, subjob.subtypes):
        restore_subtypes(circuit, subtypes)
    binds = [
        {}
        if values is None
        else {parameter: np.asarray(values[parameter.name], dtype=float) for parameter in circuit.parameters}
        for circuit, values in zip(circuits, subjob.binds)
    ]
    options = validate_options({**subjob.options, "parameter_binds": binds if any(binds) else None})
    requests = backend.prepare_requests(circuits, options)
    pieces = iter(subjob.pieces)
    shipped = []
    for request in requests:
        own = [next(pieces) for _ in request.seeds]
        changes: dict[str, Any] = {"seeds": tuple(piece.seed for piece in own)}
        if own[0].shots:
            changes.update(shots=own[0].shots, first_shot=own[0].first_shot)
        shipped.append(dataclasses.replace(request, **changes))
    build = functools.partial(
        build_result,
        backend.name,
        backend.backend_version,
        "",
        memory=options.memory,
        options_metadata=options.result_metadata,
    )
    job = backend.submit_requests(shipped, options, build, pricing=subjob.pricing)
    results: list[ExperimentResult] = job.result().results
    return results

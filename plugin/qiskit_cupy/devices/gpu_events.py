"""The GPU device's CUDA objects: events, host copies, resident programs, retired streams.

``GpuEvent`` is the Device interface's Event over a CuPy event (status from
cudaEventQuery, read raw so that a device fault is seen); ``GpuHostCopy`` a pinned host
buffer a stream fills; ``GpuProgram`` an encoded program's device arrays;
:func:`retire_streams` keeps a dropped device's streams until they are idle.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qiskit_cupy.compiler.program import EncodedProgram
from qiskit_cupy.devices.gpu_segments import ProgramSegment

#: cudaEventQuery's statuses (cudaError_t): done, and not yet done.
CUDA_SUCCESS = 0
CUDA_ERROR_NOT_READY = 600


@dataclass(frozen=True)
class GpuProgram:
    """An encoded program resident on the GPU.

    Attributes:
        rows: The op rows on the device.
        data: The op data on the device, of the precision it was uploaded for.
        program: The encoded program (host rows).
        segments: The program split into blocked runs and ops launched one by one, for
            the precision's block width (computed once, at upload).
    """

    rows: Any
    data: Any
    program: EncodedProgram
    segments: tuple[ProgramSegment, ...]


@dataclass
class GpuHostCopy:
    """A pinned host buffer that a stream fills asynchronously."""

    array: np.ndarray


class GpuEvent:
    """A CUDA event, as the executor's Event interface.

    A device fault surfaces as a CUDA error when the event is queried or synchronized
    (CUDA's errors are sticky); it is kept in ``error`` and the event counts as done, so
    the job reports it instead of its status call raising.
    """

    def __init__(self, cupy: Any, event: Any) -> None:
        self._cupy = cupy
        self._event = event
        self.error: BaseException | None = None

    @property
    def done(self) -> bool:
        """Whether the stream has passed the event (cudaEventQuery); never blocks.

        CuPy's ``Event.done`` is False, not an error, after a device fault, so the
        status is read raw: anything but success or not-ready is the fault.
        """
        if self.error is not None:
            return True
        runtime = self._cupy.cuda.runtime
        status = int(runtime.eventQuery(self._event.ptr))
        if status == CUDA_ERROR_NOT_READY:
            return False
        if status != CUDA_SUCCESS:
            self.error = runtime.CUDARuntimeError(status)
        return True

    def synchronize(self, timeout: float | None = None) -> bool:
        """Wait for the event: cudaEventSynchronize, or polling when a timeout is given."""
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while not self.done:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(min(1e-3, max(0.0, deadline - time.monotonic())))
        if self.error is None:
            try:
                self._event.synchronize()
            except self._cupy.cuda.runtime.CUDARuntimeError as error:
                self.error = error
        return True

    def elapsed_since(self, start: GpuEvent) -> float:
        """Seconds of device time between ``start`` and this event (both completed)."""
        return float(self._cupy.cuda.get_elapsed_time(start._event, self._event)) / 1000.0


#: Streams of dropped GPU devices, kept until their queued work has run. The driver
#: reuses a destroyed stream's handle at once, and CuPy's pool keys its arenas by that
#: handle: a new stream could otherwise be handed blocks the old one's kernels still use.
_RETIRED_STREAMS: list[Any] = []
_RETIRED_LOCK = threading.Lock()


def retire_streams(streams: list[Any]) -> None:
    """Keep ``streams`` (of a dropped device) until they are idle; drop idle ones."""
    with _RETIRED_LOCK:
        _RETIRED_STREAMS.extend(streams)
        _RETIRED_STREAMS[:] = [stream for stream in _RETIRED_STREAMS if not stream.done]

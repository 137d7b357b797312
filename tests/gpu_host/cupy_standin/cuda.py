"""``cupy.cuda`` of the stand-in: devices, streams, events, the runtime calls, memory pools.

Semantics follow CuPy (``cupy/cuda/device.pyx``, ``stream.pyx``, ``memory.pyx``,
``pinned_memory.pyx``) and the CUDA runtime: the current device and stream are per
host thread; ``with stream`` refuses a stream of another device; a kernel or a copy on
a stream of another device than the current one fails; ``Event.done`` and
``synchronize`` raise a device's sticky fault. See ``machine.py`` for what is modelled.
"""

from __future__ import annotations

import itertools
import threading
import types
import weakref
from typing import Any

from gpu_host.cupy_standin.machine import (
    CUDA_ERRORS,
    CUDADriverError,
    CUDARuntimeError,
    DevicePool,
    Machine,
    Marker,
    OutOfMemoryError,
    StreamQueue,
    Work,
)


class _State(threading.local):
    """Per host thread: the current device, and a stack of current streams per device."""

    def __init__(self) -> None:
        self.device = 0
        self.device_stack: list[int] = []
        self.streams: dict[int, list[Stream]] = {}
        self.stream_devices: list[int] = []


_thread = _State()
_machine: Machine | None = None


def machine() -> Machine:
    """The installed machine (see ``gpu_host.cupy_standin.install``)."""
    if _machine is None:
        raise RuntimeError("the CuPy stand-in is not installed")
    return _machine


def set_machine(new: Machine | None) -> None:
    """Install a machine (or none); the old one's threads end."""
    global _machine
    if _machine is not None:
        _machine.close()
    _machine = new


def _check_device(device_id: int) -> None:
    count = len(machine().devices)
    if count == 0:
        raise CUDARuntimeError("cudaErrorNoDevice", "no CUDA-capable device is detected")
    if not 0 <= device_id < count:
        raise CUDARuntimeError("cudaErrorInvalidDevice", "invalid device ordinal")


def current_device_id() -> int:
    """The calling thread's current device (cudaGetDevice)."""
    _check_device(_thread.device)
    return _thread.device


def current_stream_queue(device_id: int | None = None) -> StreamQueue:
    """The queue of the calling thread's current stream on a device (its null stream by default)."""
    device_id = current_device_id() if device_id is None else device_id
    stack = _thread.streams.get(device_id)
    if stack:
        return stack[-1]._queue
    return machine().devices[device_id].null_stream


def stream_queue(stream: Stream | None) -> StreamQueue:
    """The queue of ``stream``, or of the current stream when None."""
    return current_stream_queue() if stream is None else stream._queue


class _Runtime(types.SimpleNamespace):
    """``cupy.cuda.runtime``: the runtime calls gpu.py makes, and the error type."""

    CUDARuntimeError = CUDARuntimeError

    @staticmethod
    def getDeviceCount() -> int:  # noqa: N802 - CuPy's name
        if machine().init_error is not None:
            raise CUDARuntimeError(machine().init_error, "initialization error")
        count = len(machine().devices)
        if count == 0:
            raise CUDARuntimeError("cudaErrorNoDevice", "no CUDA-capable device is detected")
        return count

    @staticmethod
    def getDevice() -> int:  # noqa: N802
        return current_device_id()

    @staticmethod
    def setDevice(device_id: int) -> None:  # noqa: N802
        _check_device(int(device_id))
        _thread.device = int(device_id)

    @staticmethod
    def getDeviceProperties(device_id: int) -> dict[str, Any]:  # noqa: N802
        _check_device(device_id)
        spec = machine().devices[device_id].spec
        return {
            "name": spec.name.encode(),
            "totalGlobalMem": spec.memory_bytes,
            "multiProcessorCount": spec.multiprocessors,
            "major": spec.compute_capability[0],
            "minor": spec.compute_capability[1],
        }

    @staticmethod
    def eventQuery(ptr: int) -> int:  # noqa: N802
        """The raw cudaEventQuery status (CuPy returns it without raising)."""
        return _events[ptr].query()

    @staticmethod
    def memGetInfo() -> tuple[int, int]:  # noqa: N802
        device = machine().devices[current_device_id()]
        machine().raise_fault(current_device_id())
        return device.spec.memory_bytes - device.pool.total, device.spec.memory_bytes


runtime = _Runtime()
driver = types.SimpleNamespace(CUDADriverError=CUDADriverError)
memory = types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError)


class Device:
    """``cupy.cuda.Device``: a device ordinal; ``with`` makes it current for this thread."""

    def __init__(self, device: int | Device | None = None) -> None:
        self.id = current_device_id() if device is None else int(device)

    def __int__(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"

    def __enter__(self) -> Device:
        _thread.device_stack.append(_thread.device)
        runtime.setDevice(self.id)
        return self

    def __exit__(self, *exc: object) -> None:
        _thread.device = _thread.device_stack.pop()

    def use(self) -> Device:
        """Make this device current for the calling thread."""
        runtime.setDevice(self.id)
        return self

    def synchronize(self) -> None:
        """Wait for all work on the device (every stream of it)."""
        _check_device(self.id)
        state = machine().devices[self.id]
        machine().host_wait("Device.synchronize")
        for queue in [state.null_stream, *(stream._queue for stream in list(state.streams))]:
            _wait_queue(queue)
        machine().raise_fault(self.id)

    @property
    def compute_capability(self) -> str:
        """Major and minor capability as one string ('90')."""
        _check_device(self.id)
        major, minor = machine().devices[self.id].spec.compute_capability
        return f"{major}{minor}"

    @property
    def attributes(self) -> dict[str, int]:
        """The device attributes, keyed as CuPy keys them."""
        _check_device(self.id)
        return machine().devices[self.id].spec.attributes()

    @property
    def mem_info(self) -> tuple[int, int]:
        """(free, total) bytes of this device."""
        with self:
            return runtime.memGetInfo()


def _wait_queue(queue: StreamQueue) -> None:
    marker = Marker()
    queue.enqueue(Work(marker.reach, is_kernel=False))
    marker.reached.wait()


class Stream:
    """``cupy.cuda.Stream``: in-order device work on its own host thread.

    Args:
        null: The device's legacy default stream.
        non_blocking: cudaStreamNonBlocking (the stand-in does not model the legacy
            stream's implicit synchronization either way; work on it is counted).
        ptds: Not modelled; refused.
        priority: Not modelled; refused.
    """

    def __init__(
        self, null: bool = False, non_blocking: bool = False, ptds: bool = False, priority: int | None = None
    ) -> None:
        if ptds or priority is not None:
            raise NotImplementedError("the CuPy stand-in models neither ptds nor priorities")
        self.non_blocking = non_blocking
        if null:
            self.device_id = -1
            self._queue = machine().devices[current_device_id()].null_stream
        else:
            self.device_id = current_device_id()
            self._queue = StreamQueue(machine(), self.device_id, False)
        self.ptr = self._queue.ptr
        if self.device_id != -1:
            machine().devices[self.device_id].streams.add(self)

    def __del__(self) -> None:
        if self.device_id != -1:
            self._queue.close()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and other.ptr == self.ptr

    def __hash__(self) -> int:
        return hash(self.ptr)

    def __repr__(self) -> str:
        return f"<Stream {self.ptr:#x} (device {self.device_id})>"

    def _check_current_device(self) -> int:
        current = current_device_id()
        if self.device_id not in (-1, current):
            raise RuntimeError(
                f"The device that the stream is created on ({self.device_id}) does not match "
                f"with the current device ({current})"
            )
        return current

    def __enter__(self) -> Stream:
        device_id = self._check_current_device()
        _thread.streams.setdefault(device_id, []).append(self)
        _thread.stream_devices.append(device_id)
        return self

    def __exit__(self, *exc: object) -> None:
        _thread.streams[_thread.stream_devices.pop()].pop()

    def use(self) -> Stream:
        """Make this the current stream of the current device (replacing the top)."""
        device_id = self._check_current_device()
        stack = _thread.streams.setdefault(device_id, [])
        if stack:
            stack[-1] = self
        else:
            stack.append(self)
        return self

    @property
    def done(self) -> bool:
        """Whether all work queued so far has run (cudaStreamQuery; never blocks, and
        False, not an error, after a fault)."""
        fault = self._queue.machine.devices[self._queue.device_id].fault
        return fault is None and self._queue.idle

    def synchronize(self) -> None:
        """Block the host until the stream's queued work has run."""
        self._queue.machine.host_wait("Stream.synchronize")
        _wait_queue(self._queue)
        self._queue.machine.raise_fault(self._queue.device_id)

    def record(self, event: Event | None = None) -> Event:
        """Record an event (a new one by default) on this stream."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event: Event) -> None:
        """Make later work on this stream wait for ``event`` (no host blocking)."""
        self._queue.machine.raise_fault(self._queue.device_id)
        marker = event._marker
        if marker is None:  # a never-recorded event: nothing to wait for
            return
        self._queue.enqueue(Work(marker.reached.wait, is_kernel=False))


def get_current_stream(device_id: int = -1) -> Stream:
    """The current stream of a device (a null Stream object when none is entered)."""
    device_id = current_device_id() if device_id == -1 else device_id
    stack = _thread.streams.get(device_id)
    if stack:
        return stack[-1]
    with Device(device_id):
        return Stream(null=True)


_event_handles = itertools.count(0x1000, 0x10)
_events: weakref.WeakValueDictionary[int, Event] = weakref.WeakValueDictionary()


class Event:
    """``cupy.cuda.Event``: a marker recorded on a stream."""

    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False) -> None:
        if interprocess and not disable_timing:
            raise ValueError("Timing must be disabled for interprocess events")
        self.block = block
        self.disable_timing = disable_timing
        self.device_id = current_device_id()
        self._machine = machine()
        self._machine.raise_fault(self.device_id)
        self._marker: Marker | None = None
        self.ptr = next(_event_handles)
        _events[self.ptr] = self

    def record(self, stream: Stream | None = None) -> None:
        """Record on ``stream`` (the current stream by default), replacing an earlier record."""
        queue = stream_queue(stream)
        self._machine.raise_fault(self.device_id)
        if queue.device_id != self.device_id:
            raise CUDARuntimeError(
                "cudaErrorInvalidResourceHandle",
                f"event of device {self.device_id} recorded on a stream of device {queue.device_id}",
            )
        marker = Marker()
        queue.enqueue(Work(marker.reach, is_kernel=False))
        self._marker = marker

    def query(self) -> int:
        """cudaEventQuery's status: success once reached (or never recorded), not ready
        before, the device's sticky fault after one."""
        fault = self._machine.devices[self.device_id].fault
        if fault is not None:
            return fault.status
        reached = self._marker is None or self._marker.reached.is_set()
        return CUDA_ERRORS["cudaSuccess"] if reached else CUDA_ERRORS["cudaErrorNotReady"]

    @property
    def done(self) -> bool:
        """``eventQuery(ptr) == 0``, as CuPy defines it: False, not an error, after a fault."""
        return self.query() == CUDA_ERRORS["cudaSuccess"]

    def synchronize(self) -> None:
        """cudaEventSynchronize: block the host until the event is reached; raises a fault."""
        if self._marker is not None:
            self._machine.host_wait("Event.synchronize")
            self._marker.reached.wait()
        self._machine.raise_fault(self.device_id)


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    """Milliseconds between two completed timing events (cudaEventElapsedTime).

    In the stand-in this is host time between its streams reaching the two events: it
    says nothing of a GPU and must never be reported as one.
    """
    for event in (start_event, end_event):
        if event.disable_timing:
            raise CUDARuntimeError("cudaErrorInvalidResourceHandle", "event created with disable_timing")
        if event._marker is None or not event._marker.reached.is_set():
            raise CUDARuntimeError("cudaErrorNotReady", "event not recorded or not completed")
    return (end_event._marker.time - start_event._marker.time) * 1000.0


class MemoryPool:
    """``cupy.cuda.MemoryPool``: every query answers for the current device's pool."""

    def _device_pool(self) -> DevicePool:
        return machine().devices[current_device_id()].pool

    def used_bytes(self) -> int:
        """Bytes held by live arrays on the current device."""
        return self._device_pool().used

    def total_bytes(self) -> int:
        """Bytes the pool holds on the current device, in use or free."""
        return self._device_pool().total

    def free_bytes(self) -> int:
        """Bytes the pool holds free on the current device."""
        pool = self._device_pool()
        return pool.total - pool.used

    def free_all_blocks(self, stream: Stream | None = None) -> None:
        """Release the free blocks of one stream's arena, or of every arena."""
        self._device_pool().free_all_blocks(None if stream is None else stream.ptr)


class PinnedMemoryPool:
    """``cupy.cuda.PinnedMemoryPool``: the machine's pinned pool."""

    def free_all_blocks(self) -> None:
        """Nothing to release in the stand-in (blocks are plain host memory)."""


def __getattr__(name: str) -> Any:
    raise AttributeError(f"the CuPy stand-in has no cupy.cuda.{name}; gpu.py uses something untested")

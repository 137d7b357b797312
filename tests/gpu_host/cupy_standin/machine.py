"""The simulated machine behind the CuPy stand-in: devices, streams, memory, errors.

Nothing here pretends to be fast or to time a GPU. It models what CUDA and CuPy define
and what ``devices/gpu.py`` relies on:

* a **stream** runs its work asynchronously, in order, on its own host thread;
* an **event** completes when its stream reaches it; a never-recorded event is done;
* the **current device** and each device's **current stream** are per host thread;
* **device memory** comes from a pool with one arena per (device, stream): a block whose
  last array is dropped goes back to the arena it came from and is handed only to later
  allocations on that stream (CuPy's stream-ordered reuse); fresh blocks hold garbage
  (NaN bytes), as ``cudaMalloc`` memory does;
* **pinned host memory** comes from a pool that reuses a dropped block at once for the
  next request of the same size (CuPy's ``PinnedMemoryPool``), whatever copy is still
  queued on it;
* a fault in device work is **sticky**, as CUDA's are: every later query of the device
  raises ``CUDARuntimeError``.

It also keeps what the tests read: every kernel launch (by name expression, device and
stream), the host waits (who blocked on the device, and why), work put on a null stream,
and a gate that holds every stream's work until it is opened.
"""

from __future__ import annotations

import ctypes
import itertools
import queue
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: Alignment and rounding of device allocations (CuPy's allocation unit).
ALLOCATION_UNIT = 512

#: Name expressions launched since the process started, over every machine: what the
#: session's coverage summary reports.
LAUNCHED: Counter[str] = Counter()


#: The CUDA runtime error codes the stand-in reports (cudaError_t values).
CUDA_ERRORS: dict[str, int] = {
    "cudaSuccess": 0,
    "cudaErrorInitializationError": 3,
    "cudaErrorInsufficientDriver": 35,
    "cudaErrorNoDevice": 100,
    "cudaErrorInvalidDevice": 101,
    "cudaErrorInvalidResourceHandle": 400,
    "cudaErrorNotReady": 600,
    "cudaErrorLaunchFailure": 719,
}
_CUDA_ERROR_NAMES = {code: name for name, code in CUDA_ERRORS.items()}


class CUDARuntimeError(RuntimeError):
    """A CUDA runtime error, as ``cupy.cuda.runtime.CUDARuntimeError``: ``status`` is the
    cudaError_t code, and CuPy constructs it from the code alone."""

    def __init__(self, status: int | str, detail: str = "") -> None:
        code = CUDA_ERRORS[status] if isinstance(status, str) else int(status)
        super().__init__(f"{_CUDA_ERROR_NAMES.get(code, f'cudaError{code}')}: {detail or 'CUDA error'}")
        self.status = code


class CUDADriverError(RuntimeError):
    """A CUDA driver error, as ``cupy.cuda.driver.CUDADriverError`` carries it."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class OutOfMemoryError(MemoryError):
    """``cupy.cuda.memory.OutOfMemoryError``: the device has no room for an allocation."""

    def __init__(self, size: int, total: int) -> None:
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes).")


@dataclass(frozen=True)
class DeviceSpec:
    """What a simulated device reports: its name, memory and attributes."""

    name: str = "qiskit-cupy host stand-in (not a GPU)"
    memory_bytes: int = 4 << 30
    compute_capability: tuple[int, int] = (9, 0)
    multiprocessors: int = 2

    def attributes(self) -> dict[str, int]:
        """The attribute dict, keyed as CuPy keys ``cudaDevAttr*`` (prefix dropped)."""
        return {
            "MultiProcessorCount": self.multiprocessors,
            "ClockRate": 1_000_000,
            "MemoryClockRate": 1_000_000,
            "GlobalMemoryBusWidth": 1024,
            "SingleToDoublePrecisionPerfRatio": 2,
            "MaxThreadsPerBlock": 1024,
            "MaxGridDimX": 2**31 - 1,
            "ComputeCapabilityMajor": self.compute_capability[0],
            "ComputeCapabilityMinor": self.compute_capability[1],
            "WarpSize": 32,
        }


class Work:
    """One item of stream work: a callable, and whether it is a kernel (skipped after a fault)."""

    def __init__(self, run: Callable[[], None], is_kernel: bool) -> None:
        self.run = run
        self.is_kernel = is_kernel


class StreamQueue:
    """A stream's in-order queue and the host thread that runs it.

    The thread holds only the queue, not the stream object, so a dropped stream ends
    its thread once its work has run. Its handle is reused at once by the next stream
    created, as the CUDA driver reuses ``cudaStream_t`` values after
    ``cudaStreamDestroy`` (which returns with the work still queued), and CuPy's pool
    keys its arenas by that handle.
    """

    def __init__(self, machine: Machine, device_id: int, null: bool) -> None:
        self.machine = machine
        self.device_id = device_id
        self.null = null
        self.ptr = 0 if null else machine.take_stream_handle()
        self._items: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name=f"cupy-standin-stream-{device_id}-{self.ptr:x}", daemon=True
        )
        self._thread.start()

    def enqueue(self, work: Work) -> None:
        """Queue work after everything queued so far."""
        if self.null:
            self.machine.note_null_stream_work()
        with self._pending_lock:
            self._pending += 1
        self._items.put(work)

    @property
    def idle(self) -> bool:
        """Whether every item queued so far has run (cudaStreamQuery)."""
        with self._pending_lock:
            return self._pending == 0

    def close(self) -> None:
        """Destroy the stream: its thread ends after the queued work; its handle is free."""
        self._items.put(None)
        if not self.null:
            self.machine.release_stream_handle(self.ptr)

    def _run(self) -> None:
        while True:
            work = self._items.get()
            if work is None:
                return
            self.machine.gate.wait()
            device = self.machine.devices[self.device_id]
            try:
                if not (work.is_kernel and device.fault is not None):
                    work.run()
            except BaseException as error:  # a device fault: sticky, as CUDA's are
                device.fault = CUDARuntimeError("cudaErrorLaunchFailure", f"device work failed: {error!r}")
            finally:
                with self._pending_lock:
                    self._pending -= 1


class Marker:
    """The point an event was recorded at: set when its stream reaches it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.time = 0.0

    def reach(self) -> None:
        self.time = time.perf_counter()
        self.reached.set()


class Block:
    """A device allocation: a run of host bytes standing for device memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer = np.full(size, 0xFF, dtype=np.uint8)  # garbage, as cudaMalloc gives
        self.ptr = self.buffer.ctypes.data


class Memory:
    """An allocation handed to arrays; its block returns to its arena when it is dropped."""

    def __init__(self, pool: DevicePool, block: Block, arena: int) -> None:
        self.block = block
        self.device_id = pool.device_id
        self.ptr = block.ptr
        weakref.finalize(self, pool.release, block, arena)


class DevicePool:
    """One device's memory pool: an arena of free blocks per stream (CuPy's design).

    Its lock is reentrant: a collection inside a locked section may run a finalizer
    that returns a block on the same thread (CuPy guards the same way).
    """

    def __init__(self, device_id: int, capacity: int) -> None:
        self.device_id = device_id
        self.capacity = capacity
        self._lock = threading.RLock()
        self._free: dict[int, dict[int, list[Block]]] = {}
        self.total = 0
        self.used = 0

    def allocate(self, nbytes: int, arena: int) -> Memory:
        """A block of at least ``nbytes`` from ``arena``'s free blocks, or a new one."""
        size = max(ALLOCATION_UNIT, -(-nbytes // ALLOCATION_UNIT) * ALLOCATION_UNIT)
        with self._lock:
            free = self._free.setdefault(arena, {}).get(size)
            if free:
                block = free.pop()
            else:
                if self.total + size > self.capacity:
                    self._drop_free(arena)
                if self.total + size > self.capacity:
                    raise OutOfMemoryError(size, self.total)
                block = Block(size)
                self.total += size
            self.used += size
        return Memory(self, block, arena)

    def release(self, block: Block, arena: int) -> None:
        """Return a block to the arena of the stream it was allocated on."""
        with self._lock:
            self.used -= block.size
            self._free.setdefault(arena, {}).setdefault(block.size, []).append(block)

    def free_all_blocks(self, arena: int | None = None) -> None:
        """Drop the free blocks of one arena, or of all."""
        with self._lock:
            for key in list(self._free) if arena is None else [arena]:
                self._drop_free(key)

    def _drop_free(self, arena: int) -> None:
        for blocks in self._free.pop(arena, {}).values():
            self.total -= sum(block.size for block in blocks)


class PinnedPool:
    """Pinned host memory: dropped blocks are reused at once for the same rounded size."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # reentrant, as DevicePool's
        self._free: dict[int, list[np.ndarray]] = {}
        self._live: dict[int, int] = {}  # start address -> size, of blocks handed out

    def allocate(self, nbytes: int) -> ctypes.Array:
        """A buffer (a ctypes array over a pooled block) that returns to the pool when dropped."""
        unit = -(-max(nbytes, 1) // ALLOCATION_UNIT) * ALLOCATION_UNIT
        size = 1 << (unit - 1).bit_length()  # CuPy rounds to a power of two
        with self._lock:
            free = self._free.get(size)
            raw = free.pop() if free else np.full(size, 0xFF, dtype=np.uint8)
            address = raw.ctypes.data
            self._live[address] = size
        handle = (ctypes.c_uint8 * max(nbytes, 1)).from_address(address)
        weakref.finalize(handle, self._release, raw, address)
        return handle

    def _release(self, raw: np.ndarray, address: int) -> None:
        with self._lock:
            self._free.setdefault(raw.size, []).append(raw)
            del self._live[address]

    def is_pinned(self, array: np.ndarray) -> bool:
        """Whether ``array``'s data lies in a pinned block handed out and still alive."""
        address = array.ctypes.data
        with self._lock:
            live = list(self._live.items())
        return any(start <= address < start + size for start, size in live)


@dataclass
class DeviceState:
    """One simulated device: its spec, memory pool, null stream and sticky fault."""

    spec: DeviceSpec
    pool: DevicePool
    null_stream: StreamQueue
    fault: CUDARuntimeError | None = None
    streams: weakref.WeakSet = field(default_factory=weakref.WeakSet)


@dataclass(frozen=True)
class Launch:
    """A kernel launch the stand-in ran: what, where, over what grid."""

    name: str
    device_id: int
    stream_ptr: int
    grid: int
    block: int


class Machine:
    """The simulated devices and everything the tests read about them."""

    def __init__(self, specs: list[DeviceSpec]) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.null_stream_work = 0
        #: The error CUDA initialization reports, if it fails (a cudaError_t name).
        self.init_error: str | None = None
        self.host_waits: list[tuple[str, str]] = []
        self.launches: list[Launch] = []
        self.failing_kernels: set[str] = set()
        self.pinned = PinnedPool()
        self._lock = threading.Lock()
        self._handles = itertools.count(1)
        self._free_handles: list[int] = []
        self.devices = [
            DeviceState(spec, DevicePool(index, spec.memory_bytes), StreamQueue(self, index, True))
            for index, spec in enumerate(specs)
        ]

    def take_stream_handle(self) -> int:
        """A stream handle: the last one freed, else a new one."""
        with self._lock:
            return self._free_handles.pop() if self._free_handles else next(self._handles) * 0x100

    def release_stream_handle(self, ptr: int) -> None:
        """A destroyed stream's handle, for the next stream created."""
        with self._lock:
            self._free_handles.append(ptr)

    def note_null_stream_work(self) -> None:
        """Count work put on a null stream."""
        with self._lock:
            self.null_stream_work += 1

    def record_launch(self, launch: Launch) -> None:
        """Note a launch (when it is enqueued)."""
        with self._lock:
            self.launches.append(launch)
            LAUNCHED[launch.name] += 1

    def host_wait(self, reason: str) -> None:
        """Note that the calling host thread blocks on device work."""
        with self._lock:
            self.host_waits.append((threading.current_thread().name, reason))

    def pause(self) -> None:
        """Hold every stream's work (queued work stays queued) until :meth:`resume`."""
        self.gate.clear()

    def resume(self) -> None:
        """Let the streams run again."""
        self.gate.set()

    def raise_fault(self, device_id: int) -> None:
        """Raise the device's sticky fault, if it has one."""
        fault = self.devices[device_id].fault
        if fault is not None:
            raise fault

    def close(self) -> None:
        """End the null streams' threads."""
        self.gate.set()
        for device in self.devices:
            device.null_stream.close()

"""The CPU fallback device: the shared kernels compiled into the C++ extension.

Work runs on modelled streams (``cpu_streams.py``), so the executor's asynchronous
protocol — enqueue, record an event, synchronize on it — is the same as on a GPU. A job
too small to be worth a thread hand-off runs on an inline stream of its own instead
(:meth:`CpuDevice.inline_stream`): the same protocol, with each task run as it is
enqueued, on the job's thread.
"""

from __future__ import annotations

import os
import platform
import threading
from dataclasses import dataclass
from typing import cast

import numpy as np

from qiskit_cupy import _cpu
from qiskit_cupy.compiler.classical_code import EVERY_STATE
from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.compiler.ops import GateOp
from qiskit_cupy.compiler.program import EncodedProgram
from qiskit_cupy.devices.base import (
    COMPLEX_DTYPES,
    ClassicalRows,
    Device,
    DeviceArray,
    DeviceProgram,
    Event,
    Stream,
)
from qiskit_cupy.devices.calibration import cpu_roofline
from qiskit_cupy.devices.cpu_streams import CpuEvent, CpuInlineStream, CpuStream
from qiskit_cupy.devices.host_memory import HostMemoryPool
from qiskit_cupy.devices.wide_matrix import apply_wide_matrix

#: Most bytes of an array the device allocates from NumPy rather than from its pool.
SMALL_BUFFER_BYTES = 1 << 16

#: The rows argument of a program that runs on every state (the extension reads none).
_NO_ROWS = np.zeros(1, dtype=np.int64)


@dataclass
class CpuHostCopy:
    """A host buffer filled by a stream task."""

    array: np.ndarray


@dataclass(frozen=True)
class CpuProgram:
    """An encoded program with its data in the run's precision."""

    rows: np.ndarray
    data: np.ndarray


def _queue(stream: Stream) -> CpuStream | CpuInlineStream:
    """The CPU stream that ``stream`` is: a device is only given the streams it made."""
    return cast("CpuStream | CpuInlineStream", stream)


def available_memory() -> int:
    """Return the bytes of memory available to allocate, per the operating system."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def total_memory() -> int:
    """Return the bytes of physical memory of the machine."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


class CpuDevice(Device):
    """Runs kernels on the host with OpenMP.

    Args:
        num_threads: OpenMP threads per kernel call; 0 uses every available core.
    """

    name = "CPU"

    def __init__(self, num_threads: int = 0) -> None:
        self.num_threads = num_threads
        self._description: str | None = None
        self._pool: list[CpuStream] = []
        self._pool_lock = threading.Lock()
        self.memory = HostMemoryPool(max_free_bytes=total_memory() // 4)

    @property
    def description(self) -> str:
        """The processor, with the thread count used (found once: every result names it)."""
        if self._description is None:
            threads = self.num_threads or _cpu.max_threads()
            self._description = f"{platform.processor() or platform.machine()} ({threads} threads)"
        return self._description

    def streams(self, count: int) -> list[CpuStream]:
        with self._pool_lock:
            while len(self._pool) < count:
                self._pool.append(CpuStream(f"qiskit-cupy-cpu-stream-{len(self._pool)}"))
            return self._pool[:count]

    def _empty(self, size: int, dtype: type | np.dtype) -> np.ndarray:
        """An uninitialized array of ``size`` elements that the caller owns.

        Large ones come from :attr:`memory`, which keeps freed buffers so that later
        jobs skip the page faults of fresh memory; small ones (SMALL_BUFFER_BYTES at
        most) from NumPy, as the heap already holds their pages. Either way the array's
        owners are those that reference it, as ``host_memory.py`` describes.
        """
        if size * np.dtype(dtype).itemsize <= SMALL_BUFFER_BYTES:
            return np.empty(size, dtype=dtype)
        return self.memory.empty(size, dtype)

    def inline_stream(self) -> CpuInlineStream:
        """A stream of the asking job's own, whose tasks run on its thread at once.

        Ownership is unchanged: the job's buffers come from :attr:`memory` as on any
        stream and belong to the job until its last reference drops; the stream itself
        belongs to the job alone (it is not in the pool :meth:`streams` shares).
        """
        return CpuInlineStream()

    def close(self) -> None:
        """Stop every stream's worker thread once the work queued on it has run."""
        with self._pool_lock:
            streams, self._pool = self._pool, []
        for stream in streams:
            stream.close()

    def roofline(self, precision: str) -> Roofline:
        """The costs measured on this machine (``devices/calibration.py``), whatever the
        thread count, so that ``max_parallel_threads`` never changes how a circuit fuses."""
        return cpu_roofline(precision)

    def free_memory(self) -> int:
        return available_memory() + self.memory.free_bytes

    def allocate_states(self, stream: Stream, amplitudes: int, precision: str) -> np.ndarray:
        return self._empty(amplitudes, COMPLEX_DTYPES[precision])

    def set_zero_state(self, stream: Stream, states: DeviceArray, num_qubits: int, batch: int) -> None:
        _queue(stream).enqueue(lambda: _cpu.set_zero_state(states, num_qubits, batch, self.num_threads))

    def density_diagonal(
        self, stream: Stream, densities: DeviceArray, states: DeviceArray, num_qubits: int, batch: int
    ) -> None:
        _queue(stream).enqueue(
            lambda: _cpu.density_diagonal(densities, states, num_qubits, batch, self.num_threads)
        )

    def upload_program(self, stream: Stream, program: EncodedProgram, precision: str) -> CpuProgram:
        # The encoded program is the job's own: its data is used as it is where it already
        # has the run's precision.
        return CpuProgram(program.rows, program.data.astype(COMPLEX_DTYPES[precision], copy=False))

    def program_passes(self, program: EncodedProgram, num_qubits: int, batch: int, precision: str) -> int:
        """One pass per cache-blocked run and per op outside them, as ``run_program`` plans them."""
        itemsize = np.dtype(COMPLEX_DTYPES[precision]).itemsize
        return int(_cpu.program_passes(num_qubits, batch, program.rows, itemsize))

    def run_program(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        program: DeviceProgram,
        condition: tuple[ClassicalRows, int] | None = None,
    ) -> None:
        resident = cast(CpuProgram, program)  # a device is only given the programs it uploaded
        rows, width, slot = (
            (_NO_ROWS, 1, EVERY_STATE)
            if condition is None
            else (condition[0].rows, condition[0].width, condition[1])
        )
        _queue(stream).enqueue(
            lambda: _cpu.run_program(
                states,
                num_qubits,
                batch,
                resident.rows,
                resident.data,
                rows,
                width,
                slot,
                self.num_threads,
            )
        )

    def apply_wide_matrix(
        self, stream: Stream, states: DeviceArray, num_qubits: int, batch: int, op: GateOp
    ) -> None:
        matrix = np.asarray(op.data, dtype=states.dtype)
        _queue(stream).enqueue(
            lambda: apply_wide_matrix(
                np, states, num_qubits, batch, matrix, op.targets, op.controls, op.control_values
            )
        )

    def probabilities(self, stream: Stream, states: DeviceArray, num_qubits: int, batch: int) -> np.ndarray:
        out = self._empty(batch << num_qubits, np.float64)
        _queue(stream).enqueue(lambda: _cpu.probabilities(states, out, self.num_threads))
        return out.reshape(batch, -1)

    def marginal_probabilities(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        positions: tuple[int, ...],
        chunk_bits: int,
    ) -> np.ndarray:
        rows = batch << len(positions)
        partials = self._empty(rows << chunk_bits, np.float64)
        sums = partials if chunk_bits == 0 else self._empty(rows, np.float64)
        position_array = np.asarray(positions, dtype=np.int64)
        sorted_array = np.sort(position_array)

        def compute() -> None:
            _cpu.marginal_partials(
                states,
                num_qubits,
                batch,
                position_array,
                sorted_array,
                chunk_bits,
                partials,
                self.num_threads,
            )
            if chunk_bits:
                _cpu.reduce_partials(partials, chunk_bits, sums, self.num_threads)

        _queue(stream).enqueue(compute)
        return sums.reshape(batch, -1)

    def cumulative_sum(self, stream: Stream, rows: np.ndarray) -> np.ndarray:
        _queue(stream).enqueue(lambda: np.add.accumulate(rows, axis=1, out=rows))  # np.cumsum's ufunc
        return rows

    def sample(
        self,
        stream: Stream,
        cumulative: DeviceArray,
        num_measured: int,
        shots: int,
        seeds: np.ndarray,
        precision: str,
    ) -> np.ndarray:
        outcomes = np.empty((len(seeds), shots), dtype=np.int64)
        seed_array = np.asarray(seeds, dtype=np.uint64)
        _queue(stream).enqueue(
            lambda: _cpu.sample(
                cumulative.reshape(-1),
                num_measured,
                shots,
                seed_array,
                outcomes.reshape(-1),
                self.num_threads,
            )
        )
        return outcomes

    def copy_to_host(self, stream: Stream, array: DeviceArray) -> CpuHostCopy:
        copy = CpuHostCopy(np.empty_like(array))

        def fill() -> None:
            copy.array[...] = array

        _queue(stream).enqueue(fill)
        return copy

    def expectation_pieces(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        passes: np.ndarray,
        pieces: np.ndarray,
        chunk_bits: int,
    ) -> np.ndarray:
        tables = tuple(np.array(table, dtype=np.int64).reshape(-1, 3) for table in (passes, pieces))
        sums = self._empty(len(tables[1]) * batch * 2, np.float64)
        partials = self._empty(sums.size << chunk_bits, np.float64) if chunk_bits else sums

        def compute() -> None:
            _cpu.expectation_partials(
                states, num_qubits, batch, *tables, chunk_bits, partials, self.num_threads
            )
            if chunk_bits:
                _cpu.reduce_partials(partials, chunk_bits, sums, self.num_threads)

        _queue(stream).enqueue(compute)
        return sums.reshape(len(tables[1]), batch, 2)

    def upload(self, stream: Stream, host: np.ndarray) -> np.ndarray:
        return np.array(host, copy=True)

    def run_classical(self, stream: Stream, rows: ClassicalRows, code: np.ndarray, mask_slot: int) -> None:
        program = np.ascontiguousarray(code, dtype=np.int64).reshape(-1)
        _queue(stream).enqueue(
            lambda: _cpu.classical(rows.rows, rows.width, program, mask_slot, self.num_threads)
        )

    def decide_outcomes(
        self,
        stream: Stream,
        rows: ClassicalRows,
        probabilities: np.ndarray,
        seed: int,
        clbit_slot: int,
        mask_slot: int,
    ) -> None:
        _queue(stream).enqueue(
            lambda: _cpu.decide_outcomes(
                rows.rows,
                rows.width,
                probabilities.reshape(-1),
                seed,
                clbit_slot,
                mask_slot,
                self.num_threads,
            )
        )

    def collapse(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        qubit: int,
        probabilities: np.ndarray,
        rows: ClassicalRows,
        reset: bool,
        mask_slot: int,
    ) -> None:
        _queue(stream).enqueue(
            lambda: _cpu.collapse(
                states,
                num_qubits,
                batch,
                qubit,
                probabilities.reshape(-1),
                rows.rows,
                rows.width,
                reset,
                mask_slot,
                self.num_threads,
            )
        )

    def choose_kraus(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        rows: ClassicalRows,
        pieces: np.ndarray,
        coefficients: np.ndarray,
        index_slot: int,
        mask_slot: int,
    ) -> None:
        table = np.ascontiguousarray(coefficients, dtype=np.float64)
        num_kraus, num_pieces = table.shape[:2]

        def choose_and_scale() -> None:
            # The scales belong to this task alone: made, used and dropped inside it.
            scales = np.empty(batch, dtype=np.float64)
            _cpu.choose_kraus(
                rows.rows,
                rows.width,
                pieces.reshape(-1),
                table.reshape(-1),
                num_kraus,
                num_pieces,
                index_slot,
                scales,
                mask_slot,
                self.num_threads,
            )
            _cpu.scale_states(
                states, num_qubits, batch, scales, rows.rows, rows.width, mask_slot, self.num_threads
            )

        _queue(stream).enqueue(choose_and_scale)

    def append_states(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        count: int,
        sources: np.ndarray,
    ) -> None:
        source_index = np.ascontiguousarray(sources, dtype=np.int64)
        source = states[: count << num_qubits]
        branches = states[count << num_qubits : (count + len(source_index)) << num_qubits]
        _queue(stream).enqueue(
            lambda: _cpu.gather(source, branches, num_qubits, source_index, self.num_threads)
        )

    def sample_shots(
        self,
        stream: Stream,
        cumulative: DeviceArray,
        num_measured: int,
        shot_states: np.ndarray,
        shot_numbers: np.ndarray,
        rows: ClassicalRows,
        seed: int,
        precision: str,
    ) -> np.ndarray:
        states = np.ascontiguousarray(shot_states, dtype=np.int64)
        numbers = np.ascontiguousarray(shot_numbers, dtype=np.int64)
        outcomes = np.empty(len(states), dtype=np.int64)
        _queue(stream).enqueue(
            lambda: _cpu.sample_shots(
                cumulative.reshape(-1),
                num_measured,
                states,
                numbers,
                rows.rows,
                rows.width,
                seed,
                outcomes,
                self.num_threads,
            )
        )
        return outcomes

    def record_event(self, stream: Stream) -> CpuEvent:
        return _queue(stream).record_event()

    def wait_event(self, stream: Stream, event: Event) -> None:
        _queue(stream).wait_event(cast(CpuEvent, event))  # a device is only given its own events

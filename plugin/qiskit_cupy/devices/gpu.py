"""The GPU device: a thin CuPy adapter.

Kernels come from ``kernel_source.py`` (compiled by NVRTC through ``cupy.RawModule``),
launches from ``launches.py`` (checked against the C++ signatures). A program's runs of
consecutive ops below the shared-memory block width go out as one blocked launch each
(split once, at upload), its other ops one launch each. Work is issued to
non-blocking streams, device memory comes from CuPy's pool, and nothing here waits on
the host: the executor synchronizes on the events recorded here. This is the only
module of the package that runs only where a GPU exists; keep it thin."""

from __future__ import annotations

import threading
import weakref
from typing import Any, cast

import numpy as np

from qiskit_cupy.compiler.classical_code import EVERY_STATE
from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.compiler.ops import GateOp
from qiskit_cupy.compiler.program import EncodedProgram
from qiskit_cupy.devices import launches
from qiskit_cupy.devices.base import COMPLEX_DTYPES, ClassicalRows, Device, DeviceProgram, Event
from qiskit_cupy.devices.gpu_events import GpuEvent, GpuHostCopy, GpuProgram, retire_streams
from qiskit_cupy.devices.gpu_segments import program_segments, segment_passes
from qiskit_cupy.devices.gpu_trajectories import GpuTrajectoryKernels, precision_of
from qiskit_cupy.devices.kernel_source import BLOCK_BITS, NVRTC_OPTIONS, cuda_source, name_expressions
from qiskit_cupy.devices.wide_matrix import apply_wide_matrix
from qiskit_cupy.errors import DeviceUnavailableError

#: Threads per block of every launch.
BLOCK_SIZE = 256
#: Resident blocks per multiprocessor a grid-stride launch aims for.
BLOCKS_PER_MULTIPROCESSOR = 32


def gpu_unavailable_reason() -> str | None:
    """Say why no GPU can be used here, or return None if one can.

    Returns:
        The reason (CuPy missing, driver too old, no device), or None.
    """
    try:
        import cupy
    except ImportError as error:
        return (
            "CuPy is not installed; install qiskit-cupy[cuda12] or qiskit-cupy[cuda13] "
            f"to match your CUDA driver ({error})"
        )
    try:
        cupy.cuda.runtime.getDeviceCount()  # raises cudaErrorNoDevice rather than return 0
    except cupy.cuda.runtime.CUDARuntimeError as error:
        text = str(error)
        if "InsufficientDriver" in text:
            return f"the NVIDIA driver is missing or too old for CuPy's CUDA runtime ({text})"
        if "NoDevice" in text:
            return f"no CUDA device is present ({text})"
        return f"the CUDA runtime cannot be initialized ({text})"
    return None


def visible_gpus() -> tuple[int, ...]:
    """The ordinals of every GPU CUDA lists (call only once ``gpu_unavailable_reason()``
    is None)."""
    import cupy

    return tuple(range(cupy.cuda.runtime.getDeviceCount()))


class GpuDevice(GpuTrajectoryKernels, Device):
    """Runs kernels on one CUDA device through CuPy.

    Ownership: every device array is allocated from CuPy's pool while the stream it is
    used on is current, and belongs to the job that allocated it. CuPy's pool keeps an
    arena per stream: a block freed (its last Python reference dropped) after a job
    has enqueued its last use on stream S is reused only by later allocations on S,
    whose work stream order puts after that use. So no buffer is ever handed to
    another stream's job before its last use completes. Pinned host buffers are not
    stream-ordered: staging buffers are kept until an event after their copy has
    completed, and host copies belong to the job's result.

    Args:
        device_id: The CUDA device ordinal (Aer's ``target_gpus`` names it).

    Raises:
        DeviceUnavailableError: No usable GPU, or no GPU ``device_id`` (the message says why).
    """

    name = "GPU"

    def __init__(self, device_id: int = 0) -> None:
        reason = gpu_unavailable_reason()
        if reason is not None:
            raise DeviceUnavailableError(f"device='GPU' cannot be used: {reason}")
        import cupy
        import cupyx

        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= device_id < count:
            raise DeviceUnavailableError(
                f"GPU {device_id} does not exist: CUDA lists {count} device(s), 0 to {count - 1}"
            )
        self._cupy = cupy
        self._cupyx = cupyx
        self.device_id = device_id
        self._device = cupy.cuda.Device(device_id)
        self._pool: list[Any] = []
        weakref.finalize(self, retire_streams, self._pool)
        self._staged: list[tuple[Any, np.ndarray]] = []
        self._modules: dict[str, Any] = {}
        self._lock = threading.Lock()
        with self._device:
            # The rows argument of programs outside any condition: never read, never freed.
            self._no_rows = cupy.empty(1, dtype=np.int64)
        attributes = self._device.attributes
        self._max_blocks = attributes["MultiProcessorCount"] * BLOCKS_PER_MULTIPROCESSOR
        self._rooflines = {precision: _roofline(attributes, precision) for precision in COMPLEX_DTYPES}
        name = cupy.cuda.runtime.getDeviceProperties(device_id)["name"]
        name = name.decode() if isinstance(name, bytes) else name
        self._description = f"{name} (GPU {device_id}, sm_{self._device.compute_capability})"

    @property
    def description(self) -> str:
        """The GPU's name and compute capability."""
        return self._description

    def _module(self, precision: str) -> Any:
        """The compiled kernels of one precision (compiled on first use, cached by CuPy)."""
        with self._lock:
            if precision not in self._modules:
                with self._device:
                    self._modules[precision] = self._cupy.RawModule(
                        code=cuda_source(),
                        options=NVRTC_OPTIONS,
                        name_expressions=name_expressions(precision),
                    )
            return self._modules[precision]

    def _run(self, stream: Any, launch: launches.Launch, precision: str) -> None:
        """Launch on this device (CuPy loads a module on the device current at get_function);
        a launch of no items has nothing to do (and a grid of no blocks is invalid)."""
        if launch.num_items == 0:
            return
        wanted = launch.num_items if launch.block_per_item else -(-launch.num_items // BLOCK_SIZE)
        blocks = min(wanted, self._max_blocks)
        with self._device:
            kernel = self._module(precision).get_function(launch.kernel)
            kernel((blocks,), (BLOCK_SIZE,), launch.arguments, stream=stream)

    def streams(self, count: int) -> list[Any]:
        with self._lock, self._device:
            while len(self._pool) < count:
                self._pool.append(self._cupy.cuda.Stream(non_blocking=True))
            return self._pool[:count]

    def close(self) -> None:
        """Nothing to stop: CUDA streams have no host threads."""

    def roofline(self, precision: str) -> Roofline:
        return self._rooflines[precision]

    def free_memory(self) -> int:
        """Free device memory plus what CuPy's pool holds unused, both of this GPU (the
        pool answers for the current device, so it is asked under this one)."""
        with self._device:
            free, _total = self._cupy.cuda.runtime.memGetInfo()
            return int(free + self._cupy.get_default_memory_pool().free_bytes())

    def allocate_states(self, stream: Any, amplitudes: int, precision: str) -> Any:
        with self._device, stream:
            return self._cupy.empty(amplitudes, dtype=COMPLEX_DTYPES[precision])

    def set_zero_state(self, stream: Any, states: Any, num_qubits: int, batch: int) -> None:
        precision = precision_of(states)
        self._run(stream, launches.set_zero_state(states, num_qubits, batch, precision), precision)

    def density_diagonal(self, stream: Any, densities: Any, states: Any, num_qubits: int, batch: int) -> None:
        precision = precision_of(states)
        self._run(
            stream, launches.density_diagonal(densities, states, num_qubits, batch, precision), precision
        )

    def _upload(self, stream: Any, host: np.ndarray) -> Any:
        """Copy a host array to the device asynchronously, through pinned memory.

        A copy from pageable memory would block the host until the stream reaches it;
        the pinned staging buffer is kept until an event after the copy completes.
        """
        with self._device, stream:
            pinned = self._cupyx.empty_pinned(host.shape, dtype=host.dtype)
            pinned[...] = host
            device_array = self._cupy.empty(host.shape, dtype=host.dtype)
            device_array.set(pinned, stream=stream)
            event = self._cupy.cuda.Event(block=False, disable_timing=True)
            event.record(stream)
        with self._lock:
            self._staged = [(done, buffer) for done, buffer in self._staged if not done.done]
            self._staged.append((event, pinned))
        return device_array

    def upload_program(self, stream: Any, program: EncodedProgram, precision: str) -> GpuProgram:
        rows = self._upload(stream, program.rows)
        data = self._upload(stream, program.data.astype(COMPLEX_DTYPES[precision]))
        segments = program_segments(program.rows, BLOCK_BITS[precision])
        return GpuProgram(rows, data, program, segments)

    def program_passes(self, program: EncodedProgram, num_qubits: int, batch: int, precision: str) -> int:
        return segment_passes(program_segments(program.rows, BLOCK_BITS[precision]), num_qubits, precision)

    def run_program(
        self,
        stream: Any,
        states: Any,
        num_qubits: int,
        batch: int,
        program: DeviceProgram,
        condition: tuple[ClassicalRows, int] | None = None,
    ) -> None:
        resident = cast(GpuProgram, program)  # a device is only given the programs it uploaded
        precision = precision_of(states)
        encoded = resident.program
        launches.check_program(states, num_qubits, batch, encoded.rows, encoded.data.size)
        mask = self._mask(condition)
        blocks = num_qubits > BLOCK_BITS[precision]  # else a state is no wider than a block
        for segment in resident.segments:
            if segment.blocked and blocks:
                launch = launches.blocked_run(
                    states,
                    num_qubits,
                    batch,
                    resident.rows[segment.start : segment.stop],
                    segment.stop - segment.start,
                    segment.highest_qubit,
                    resident.data,
                    precision,
                    mask,
                )
                self._run(stream, launch, precision)
                continue
            for index in range(segment.start, segment.stop):
                launch = launches.apply_op(
                    states,
                    num_qubits,
                    batch,
                    resident.rows[index],
                    resident.data,
                    encoded.kinds[index].value,
                    encoded.num_targets[index],
                    encoded.num_sorted[index],
                    precision,
                    mask,
                )
                self._run(stream, launch, precision)

    def _mask(self, condition: tuple[ClassicalRows, int] | None) -> tuple[Any, int, int]:
        """The (rows, width, slot) kernel arguments of a condition; without one, the
        device's one-slot array, which no kernel reads (slot EVERY_STATE)."""
        if condition is not None:
            rows, slot = condition
            return rows.rows, rows.width, slot
        return self._no_rows, 1, EVERY_STATE

    def apply_wide_matrix(self, stream: Any, states: Any, num_qubits: int, batch: int, op: GateOp) -> None:
        matrix = self._upload(stream, np.ascontiguousarray(op.data, dtype=states.dtype))
        with self._device, stream:
            apply_wide_matrix(
                self._cupy,
                states,
                num_qubits,
                batch,
                matrix,
                op.targets,
                op.controls,
                op.control_values,
            )

    def probabilities(self, stream: Any, states: Any, num_qubits: int, batch: int) -> Any:
        precision = precision_of(states)
        with self._device, stream:
            out = self._cupy.empty(batch << num_qubits, dtype=np.float64)
        self._run(stream, launches.probabilities(states, out, precision), precision)
        return out.reshape(batch, -1)

    def marginal_probabilities(
        self,
        stream: Any,
        states: Any,
        num_qubits: int,
        batch: int,
        positions: tuple[int, ...],
        chunk_bits: int,
    ) -> Any:
        cupy = self._cupy
        precision = precision_of(states)
        measured = len(positions)
        position_arrays = (
            self._upload(stream, np.asarray(positions, dtype=np.int64)),
            self._upload(stream, np.sort(np.asarray(positions, dtype=np.int64))),
        )
        with self._device, stream:
            partials = cupy.empty(batch << (measured + chunk_bits), dtype=np.float64)
        self._run(
            stream,
            launches.marginal_partials(
                states, num_qubits, batch, positions, position_arrays, chunk_bits, partials, precision
            ),
            precision,
        )
        if not chunk_bits:
            return partials.reshape(batch, -1)
        with self._device, stream:
            sums = cupy.empty(batch << measured, dtype=np.float64)
        self._run(stream, launches.reduce_partials(partials, chunk_bits, sums), precision)
        return sums.reshape(batch, -1)

    def cumulative_sum(self, stream: Any, rows: Any) -> Any:
        """Running sums along each row (into a new array: CuPy's scan is not documented as
        safe in place)."""
        with self._device, stream:
            return self._cupy.cumsum(rows, axis=1)

    def sample(
        self,
        stream: Any,
        cumulative: Any,
        num_measured: int,
        shots: int,
        seeds: np.ndarray,
        precision: str,
    ) -> Any:
        cupy = self._cupy
        batch = len(seeds)
        seed_array = self._upload(stream, np.asarray(seeds, dtype=np.uint64))
        with self._device, stream:
            outcomes = cupy.empty((batch, shots), dtype=np.int64)
        self._run(
            stream,
            launches.sample(cumulative.reshape(-1), num_measured, shots, seed_array, outcomes.reshape(-1)),
            precision,
        )
        return outcomes

    def copy_to_host(self, stream: Any, array: Any) -> GpuHostCopy:
        """Enqueue the copy into pinned memory; ``blocking=False``, since CuPy's default
        (``blocking=True``, CuPy 13 and 14) would make the host wait for the stream."""
        with self._device:
            host = self._cupyx.empty_pinned(array.shape, dtype=array.dtype)
            array.get(stream=stream, out=host, blocking=False)
        return GpuHostCopy(host)

    def expectation_pieces(
        self,
        stream: Any,
        states: Any,
        num_qubits: int,
        batch: int,
        passes: np.ndarray,
        pieces: np.ndarray,
        chunk_bits: int,
    ) -> Any:
        precision = precision_of(states)
        tables = (np.ascontiguousarray(passes, dtype=np.int64), np.ascontiguousarray(pieces, dtype=np.int64))
        with self._device, stream:
            sums = self._cupy.empty(len(tables[1]) * batch * 2, dtype=np.float64)
            partials = self._cupy.empty(sums.size << chunk_bits, dtype=np.float64) if chunk_bits else sums
        arrays = tuple(self._upload(stream, table.reshape(-1)) for table in tables)
        self._run(
            stream,
            launches.expectation_partials(
                states, num_qubits, batch, tables, arrays, chunk_bits, partials, precision
            ),
            precision,
        )
        if chunk_bits:
            self._run(stream, launches.reduce_partials(partials, chunk_bits, sums), precision)
        return sums.reshape(len(tables[1]), batch, 2)

    def upload(self, stream: Any, host: np.ndarray) -> Any:
        return self._upload(stream, np.ascontiguousarray(host))

    def record_event(self, stream: Any) -> GpuEvent:
        with self._device:
            event = self._cupy.cuda.Event(block=False, disable_timing=False)
            event.record(stream)
        return GpuEvent(self._cupy, event)

    def wait_event(self, stream: Any, event: Event) -> None:
        with self._device:
            stream.wait_event(cast(GpuEvent, event)._event)  # a device is only given its own events


def _roofline(attributes: dict[str, int], precision: str) -> Roofline:
    """Peaks from ``cudaDeviceGetAttribute``, which the cost model only compares: bandwidth =
    2 (DDR) x memory clock x bus width; flop rate = 2 (FMA) x 128 lanes x multiprocessors x
    clock, over the single/double ratio for doubles; blocks of ``qc_apply_blocked_run``."""
    bandwidth = 2.0 * attributes["MemoryClockRate"] * 1e3 * attributes["GlobalMemoryBusWidth"] / 8
    single = 2.0 * 128 * attributes["MultiProcessorCount"] * attributes["ClockRate"] * 1e3
    ratio = attributes.get("SingleToDoublePrecisionPerfRatio", 2) or 2
    flop_rate = single if precision == "single" else single / ratio
    return Roofline(bandwidth, flop_rate, launch_seconds=3e-6, block_bits=BLOCK_BITS[precision])

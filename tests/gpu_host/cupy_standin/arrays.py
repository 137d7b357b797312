"""``cupy.ndarray`` and the array functions gpu.py and ``devices/wide_matrix.py`` call.

A stand-in array is a NumPy view onto a pooled device block (``machine.Memory``). The
host never touches its data: views (``reshape``, basic indexing, ``moveaxis``,
``swapaxes``) change only metadata, and everything that reads or writes data
(``cumsum``, ``matmul``, assignment, copies) is queued on the current stream and runs on
that stream's thread, as CuPy queues its kernels. Implicit conversion to NumPy raises,
as CuPy's does. Queued work holds the block, not the array, so a dropped array's memory
goes back to its stream's arena while work that uses it may still be queued: exactly
CuPy's stream-ordered reuse, which is what makes it safe.
"""

from __future__ import annotations

import ctypes
import numbers
from typing import Any

import numpy as np

from gpu_host.cupy_standin import cuda
from gpu_host.cupy_standin.machine import CUDARuntimeError, Memory, Work


def _reshape_view(view: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``view`` reshaped without a copy, or None where that needs a copy."""
    try:
        return np.reshape(view, shape, copy=False)
    except ValueError:
        return None
    except TypeError:  # NumPy < 2.1: no copy argument
        reshaped = view.view()
        try:
            reshaped.shape = shape
        except AttributeError:
            return None
        return reshaped


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: a view onto a block of one device's memory."""

    def __init__(self, memory: Memory, view: np.ndarray) -> None:
        self._memory = memory
        self._view = view

    # ---- metadata
    @property
    def shape(self) -> tuple[int, ...]:
        return self._view.shape

    @property
    def dtype(self) -> np.dtype:
        return self._view.dtype

    @property
    def size(self) -> int:
        return self._view.size

    @property
    def ndim(self) -> int:
        return self._view.ndim

    @property
    def nbytes(self) -> int:
        return self._view.nbytes

    @property
    def strides(self) -> tuple[int, ...]:
        return self._view.strides

    @property
    def flags(self) -> Any:
        return self._view.flags

    @property
    def device(self) -> cuda.Device:
        return cuda.Device(self._memory.device_id)

    @property
    def ptr(self) -> int:
        """The device address of the first element (what a kernel receives)."""
        return self._view.ctypes.data

    def __len__(self) -> int:
        return len(self._view)

    def __repr__(self) -> str:
        return (
            f"<stand-in cupy.ndarray shape={self.shape} dtype={self.dtype} device={self._memory.device_id}>"
        )

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    def __bool__(self) -> bool:
        raise TypeError("the CuPy stand-in does not read device data on the host")

    # ---- views
    def _derived(self, view: np.ndarray) -> ndarray:
        return ndarray(self._memory, view)

    def reshape(self, *shape: Any, order: str = "C") -> ndarray:
        """A view of the new shape, or a copy (queued) where no view can have it."""
        if order != "C":
            raise NotImplementedError("the CuPy stand-in reshapes in C order only")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        view = _reshape_view(self._view, shape)
        if view is not None:
            return self._derived(view)
        copy = _empty(self.shape, self.dtype)
        _enqueue([copy, self], lambda dst=copy._view, src=self._view: np.copyto(dst, src))
        return copy.reshape(shape)

    def __getitem__(self, key: Any) -> ndarray:
        key = key if isinstance(key, tuple) else (key,)
        for part in key:
            basic = part is None or part is Ellipsis or isinstance(part, slice)
            if not basic and not (isinstance(part, numbers.Integral) and not isinstance(part, bool)):
                raise NotImplementedError(f"the CuPy stand-in models basic indexing only, not {part!r}")
        if Ellipsis not in key:
            key = (*key, Ellipsis)  # keeps an all-integer index a 0-d view, not a host scalar
        return self._derived(self._view[key])

    def __setitem__(self, key: Any, value: Any) -> None:
        target = self[key]
        if isinstance(value, ndarray):
            _enqueue([target, value], lambda dst=target._view, src=value._view: np.copyto(dst, src))
        elif isinstance(value, (numbers.Number, np.generic)):
            _enqueue([target], lambda dst=target._view: dst.fill(value))
        else:
            raise TypeError(
                f"the CuPy stand-in assigns device arrays and scalars only, not {type(value).__name__}"
            )

    # ---- copies between host and device
    def get(
        self,
        stream: cuda.Stream | None = None,
        order: str = "C",
        out: np.ndarray | None = None,
        blocking: bool = True,
    ) -> np.ndarray:
        """Copy to the host, as CuPy 13/14 define it (``blocking=True`` by default).

        The copy is queued on ``stream`` (the current one by default). It is
        asynchronous only with ``blocking=False`` and a pinned ``out``; to pageable
        memory it returns once the copy has completed, as cudaMemcpyAsync does.
        """
        source = self
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained fromcupy.ndarray")
            if self.dtype != out.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
            if self.shape != out.shape:
                raise ValueError(f"Shape mismatch. Expected shape: {self.shape}, actual shape: {out.shape}")
            if not out.flags.c_contiguous:
                raise NotImplementedError("the CuPy stand-in copies into C-contiguous arrays only")
            host = out
        else:
            host = np.empty(self.shape, dtype=self.dtype, order=order if order in "CF" else "C")
        with cuda.Device(self._memory.device_id):
            if not self.flags.c_contiguous:
                with _stream_context(stream):
                    source = self.reshape(-1).reshape(self.shape)
            queue = _copy_queue(stream, self._memory.device_id)
            address, nbytes = host.ctypes.data, host.nbytes
            target = (ctypes.c_uint8 * max(nbytes, 1)).from_address(address)
            view = source._view

            def copy() -> None:
                np.copyto(np.frombuffer(target, dtype=view.dtype, count=view.size).reshape(view.shape), view)

            pinned = cuda.machine().pinned.is_pinned(host)
            queue.enqueue(Work(copy, is_kernel=False))
            if blocking or not pinned:
                cuda.machine().host_wait("ndarray.get" + ("" if blocking else " into pageable memory"))
                cuda._wait_queue(queue)
                cuda.machine().raise_fault(self._memory.device_id)
        return host

    def set(self, arr: np.ndarray, stream: cuda.Stream | None = None) -> None:
        """Copy a host array in, queued on ``stream`` (the current one by default).

        From pinned memory the stream reads ``arr`` when it reaches the copy, so the
        caller must keep it unchanged until then; from pageable memory the data is
        staged at once (cudaMemcpyAsync's documented behaviour).
        """
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        if not self.flags.c_contiguous:
            raise RuntimeError("Cannot set to non-contiguous array")
        arr = np.ascontiguousarray(arr)
        if cuda.machine().pinned.is_pinned(arr):
            address, nbytes = arr.ctypes.data, arr.nbytes
            source = (ctypes.c_uint8 * max(nbytes, 1)).from_address(address)
        else:
            source = arr.tobytes()
        view = self._view
        with cuda.Device(self._memory.device_id):
            queue = _copy_queue(stream, self._memory.device_id)
        queue.enqueue(
            Work(
                lambda: np.copyto(
                    view, np.frombuffer(source, dtype=view.dtype, count=view.size).reshape(view.shape)
                ),
                is_kernel=False,
            )
        )


class _stream_context:  # noqa: N801
    """``with stream`` for an optional stream."""

    def __init__(self, stream: cuda.Stream | None) -> None:
        self._stream = stream

    def __enter__(self) -> None:
        if self._stream is not None:
            self._stream.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.__exit__(*exc)


def _copy_queue(stream: cuda.Stream | None, device_id: int) -> Any:
    cuda.machine().raise_fault(device_id)  # cudaMemcpyAsync returns a sticky fault
    queue = cuda.stream_queue(stream)
    if queue.device_id != device_id:
        raise CUDARuntimeError(
            "cudaErrorInvalidResourceHandle",
            f"copy of device {device_id} memory on a stream of device {queue.device_id}",
        )
    return queue


def _empty(shape: Any, dtype: Any) -> ndarray:
    """A new array on the current device, from the current stream's arena."""
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    device_id = cuda.current_device_id()
    cuda.machine().raise_fault(device_id)  # as cudaMalloc does after a fault
    queue = cuda.current_stream_queue(device_id)
    memory = cuda.machine().devices[device_id].pool.allocate(count * dtype.itemsize, queue.ptr)
    view = np.ndarray(shape, dtype=dtype, buffer=memory.block.buffer)
    return ndarray(memory, view)


def _enqueue(arrays: list[ndarray], run: Any) -> None:
    """Queue device work on the current stream, after checking every array is on this device."""
    device_id = cuda.current_device_id()
    for array in arrays:
        if array._memory.device_id != device_id:
            raise ValueError(
                f"Array device must be same as the current device: array device = "
                f"{array._memory.device_id} while current = {device_id}"
            )
    cuda.current_stream_queue(device_id).enqueue(Work(run, is_kernel=True))


def empty(shape: Any, dtype: Any = float, order: str = "C") -> ndarray:
    """``cupy.empty``: uninitialized memory (reused blocks keep their old contents)."""
    if order != "C":
        raise NotImplementedError("the CuPy stand-in allocates C-order arrays only")
    return _empty(shape, dtype)


def cumsum(a: ndarray, axis: int | None = None, dtype: Any = None, out: Any = None) -> ndarray:
    """``cupy.cumsum`` into a new array, queued on the current stream."""
    if dtype is not None or out is not None:
        raise NotImplementedError("the CuPy stand-in's cumsum takes no dtype or out")
    source = a if axis is not None else a.reshape(-1)
    result = _empty(source.shape, a.dtype)
    _enqueue([a, result], lambda src=source._view, dst=result._view: np.cumsum(src, axis=axis or 0, out=dst))
    return result


def matmul(a: ndarray, b: ndarray) -> ndarray:
    """``cupy.matmul`` of two arrays of at least 2 dimensions, queued on the current stream."""
    if a.ndim < 2 or b.ndim < 2:
        raise NotImplementedError("the CuPy stand-in's matmul takes arrays of 2 or more dimensions")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
    shape = (*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), a.shape[-2], b.shape[-1])
    result = _empty(shape, np.result_type(a.dtype, b.dtype))
    _enqueue([a, b, result], lambda x=a._view, y=b._view, dst=result._view: np.matmul(x, y, out=dst))
    return result


def moveaxis(a: ndarray, source: Any, destination: Any) -> ndarray:
    """``cupy.moveaxis``: a view."""
    return a._derived(np.moveaxis(a._view, source, destination))


def swapaxes(a: ndarray, axis1: int, axis2: int) -> ndarray:
    """``cupy.swapaxes``: a view."""
    return a._derived(np.swapaxes(a._view, axis1, axis2))

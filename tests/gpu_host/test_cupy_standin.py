"""The CuPy stand-in keeps CuPy's and CUDA's semantics where gpu.py depends on them.

Each test states one documented behaviour (CuPy 13/14 sources and docs, the CUDA
runtime API) and checks the stand-in keeps it, so that a gpu.py that passes on the
stand-in relies on nothing a real GPU would do differently in these respects.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpu_host import cupy_standin as cupy
from gpu_host.cupy_standin import cuda
from gpu_host.cupy_standin.kernels import parameters_of
from gpu_host.cupy_standin.machine import CUDA_ERRORS, CUDADriverError, CUDARuntimeError, DeviceSpec, Machine
from qiskit_cupy.devices.kernel_source import cuda_source, name_expressions

DEADLINE = 30


@pytest.fixture
def machine() -> Machine:
    """A fresh two-device machine."""
    installed = cupy.install([DeviceSpec(), DeviceSpec()])
    yield installed
    installed.resume()


def _pinned(values: np.ndarray) -> np.ndarray:
    array = cupy.cupyx.empty_pinned(values.shape, dtype=values.dtype)
    array[...] = values
    return array


def test_work_runs_asynchronously_and_in_order(machine: Machine) -> None:
    stream = cuda.Stream(non_blocking=True)
    with stream:
        a = cupy.empty(4, dtype=np.float64)
    a.set(np.arange(4.0), stream=stream)
    machine.pause()
    with stream:
        a[...] = 7.0
        total = cupy.cumsum(a, axis=0)
    event = cuda.Event()
    event.record(stream)
    assert not event.done  # queued, not run: the host did not wait
    machine.resume()
    event.synchronize()
    np.testing.assert_array_equal(total.get(stream=stream), [7.0, 14.0, 21.0, 28.0])


def test_a_never_recorded_event_is_done_and_waits_for_nothing(machine: Machine) -> None:
    event = cuda.Event()
    assert event.done
    stream = cuda.Stream(non_blocking=True)
    stream.wait_event(event)
    assert stream.done


def test_get_blocks_by_default_and_not_with_blocking_false_into_pinned_memory(machine: Machine) -> None:
    stream = cuda.Stream(non_blocking=True)
    with stream:
        a = cupy.empty(3, dtype=np.int64)
        a[...] = 5
    out = cupy.cupyx.empty_pinned(3, dtype=np.int64)
    machine.host_waits.clear()
    a.get(stream=stream, out=out, blocking=False)
    assert machine.host_waits == []
    a.get(stream=stream, out=out)
    assert machine.host_waits == [("MainThread", "ndarray.get")]
    pageable = np.empty(3, dtype=np.int64)
    a.get(stream=stream, out=pageable, blocking=False)  # to pageable memory: synchronous
    assert machine.host_waits[-1][1] == "ndarray.get into pageable memory"
    np.testing.assert_array_equal(pageable, [5, 5, 5])


def test_a_pinned_source_is_read_when_the_stream_reaches_the_copy(machine: Machine) -> None:
    """And a dropped pinned block is reused at once: an early free corrupts a queued copy."""
    stream = cuda.Stream(non_blocking=True)
    with stream:
        a = cupy.empty(8, dtype=np.int64)
    machine.pause()
    staging = _pinned(np.full(8, 1, dtype=np.int64))
    a.set(staging, stream=stream)
    del staging
    reused = _pinned(np.full(8, 2, dtype=np.int64))  # the same block, rewritten
    machine.resume()
    np.testing.assert_array_equal(a.get(stream=stream), np.full(8, 2))
    del reused


def test_a_pageable_source_is_staged_at_once(machine: Machine) -> None:
    stream = cuda.Stream(non_blocking=True)
    with stream:
        a = cupy.empty(4, dtype=np.float64)
    source = np.arange(4.0)
    machine.pause()
    a.set(source, stream=stream)
    source[:] = -1
    machine.resume()
    np.testing.assert_array_equal(a.get(stream=stream), np.arange(4.0))


def test_a_destroyed_streams_handle_is_reused(machine: Machine) -> None:
    first = cuda.Stream(non_blocking=True)
    handle = first.ptr
    del first
    assert cuda.Stream(non_blocking=True).ptr == handle


def test_freed_memory_is_reused_only_by_its_own_stream(machine: Machine) -> None:
    first, second = cuda.Stream(non_blocking=True), cuda.Stream(non_blocking=True)
    with first:
        a = cupy.empty(1000, dtype=np.float64)
    address = a.ptr
    del a
    with second:
        b = cupy.empty(1000, dtype=np.float64)
    with first:
        c = cupy.empty(1000, dtype=np.float64)
    assert b.ptr != address and c.ptr == address
    pool = cupy.get_default_memory_pool()
    assert pool.used_bytes() == pool.total_bytes() == 2 * 8192


def test_fresh_device_memory_is_garbage(machine: Machine) -> None:
    stream = cuda.Stream(non_blocking=True)
    with stream:
        a = cupy.empty(4, dtype=np.float64)
    assert np.isnan(a.get(stream=stream)).all()


def test_device_and_stream_must_match(machine: Machine) -> None:
    with cuda.Device(1):
        other = cuda.Stream(non_blocking=True)
        remote = cupy.empty(4, dtype=np.complex128)
    with pytest.raises(RuntimeError, match=r"stream is created on \(1\) does not match .* \(0\)"):
        with other:
            pass
    module = cupy.RawModule(
        code=cuda_source(), options=("--std=c++17",), name_expressions=name_expressions("double")
    )
    kernel = module.get_function("qc_set_zero_state<double>")
    with pytest.raises(CUDADriverError, match="CUDA_ERROR_INVALID_HANDLE"):
        kernel((1,), (32,), (remote, np.int32(2), np.int64(4)), stream=other)
    with pytest.raises(CUDADriverError, match="CUDA_ERROR_ILLEGAL_ADDRESS"):
        kernel((1,), (32,), (remote, np.int32(2), np.int64(4)), stream=cuda.Stream(non_blocking=True))
    with cuda.Device(1):
        kernel((1,), (32,), (remote, np.int32(2), np.int64(4)), stream=other)
        np.testing.assert_array_equal(remote.get(stream=other), [1, 0, 0, 0])


def _zero_state_kernel() -> tuple[cupy.RawKernel, cuda.Stream, cupy.ndarray]:
    """qc_set_zero_state<double>, a stream, and a 2-qubit state allocated on it."""
    module = cupy.RawModule(code=cuda_source(), name_expressions=name_expressions("double"))
    stream = cuda.Stream(non_blocking=True)
    with stream:
        states = cupy.empty(4, dtype=np.complex128)
    return module.get_function("qc_set_zero_state<double>"), stream, states


def test_kernel_arguments_convert_as_cupy_converts_them(machine: Machine) -> None:
    kernel, stream, states = _zero_state_kernel()
    with pytest.raises(TypeError, match=r"argument 1 \(int\): CuPy would pass a int64"):
        kernel((1,), (32,), (states, 2, 4), stream=stream)  # a Python int is 64 bits
    with pytest.raises(TypeError, match="points to complex128, the array holds complex64"):
        with stream:
            kernel((1,), (32,), (cupy.empty(4, dtype=np.complex64), np.int32(2), 4), stream=stream)
    with pytest.raises(TypeError, match="Only numpy.ndarrays of size one"):
        kernel((1,), (32,), (np.zeros(4, dtype=np.complex128), np.int32(2), 4), stream=stream)
    kernel((1,), (32,), (states, np.array([2], dtype=np.int32), 4), stream=stream)
    np.testing.assert_array_equal(states.get(stream=stream), [1, 0, 0, 0])
    with pytest.raises(CUDADriverError, match="named symbol not found"):
        kernel._module.get_function("qc_set_zero_state<float>")


def test_parameters_come_from_the_source_with_template_arguments_substituted() -> None:
    parameters = parameters_of(cuda_source(), "qc_apply_op<qc::DenseBody<float, 3>, float>")
    assert [p.cpp_type for p in parameters] == [
        "qc::complex<float>*",
        "int",
        "long long",
        "const long long*",
        "const qc::complex<float>*",
        "const long long*",
        "long long",
        "long long",
    ]
    assert [p.dtype for p in parameters] == [
        np.complex64,
        np.int32,
        np.int64,
        np.int64,
        np.complex64,
        np.int64,
        np.int64,
        np.int64,
    ]


def test_events_time_only_completed_timing_events(machine: Machine) -> None:
    stream = cuda.Stream(non_blocking=True)
    start, untimed = cuda.Event(), cuda.Event(disable_timing=True)
    with pytest.raises(CUDARuntimeError, match="cudaErrorNotReady"):
        cuda.get_elapsed_time(start, start)
    start.record(stream)
    untimed.record(stream)
    stream.synchronize()
    with pytest.raises(CUDARuntimeError, match="cudaErrorInvalidResourceHandle"):
        cuda.get_elapsed_time(start, untimed)
    assert cuda.get_elapsed_time(start, start) == 0.0


def test_a_fault_is_sticky(machine: Machine) -> None:
    kernel, stream, states = _zero_state_kernel()
    machine.failing_kernels.add("qc_set_zero_state<double>")
    kernel((1,), (32,), (states, np.int32(2), np.int64(4)), stream=stream)
    event = cuda.Event()
    event.record(stream)
    with pytest.raises(CUDARuntimeError, match="cudaErrorLaunchFailure"):
        event.synchronize()
    assert not event.done  # CuPy: eventQuery(ptr) == 0, never an error
    assert cuda.runtime.eventQuery(event.ptr) == CUDA_ERRORS["cudaErrorLaunchFailure"]
    assert not stream.done
    with pytest.raises(CUDARuntimeError):
        _ = cuda.Event().done
    with pytest.raises(CUDARuntimeError):
        kernel((1,), (32,), (states, np.int32(2), np.int64(4)), stream=stream)


def test_what_the_stand_in_lacks_raises_at_once(machine: Machine) -> None:
    with pytest.raises(AttributeError, match="no cupy.asarray"):
        cupy.asarray  # noqa: B018
    with pytest.raises(AttributeError, match="no cupy.cuda.graph"):
        cuda.graph  # noqa: B018
    with pytest.raises(AttributeError, match="no cupyx.scipy"):
        cupy.cupyx.scipy  # noqa: B018
    stream = cuda.Stream(non_blocking=True)
    with stream:
        a = cupy.empty(4, dtype=np.float64)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(NotImplementedError, match="basic indexing only"):
        a[np.array([0, 1])]


def test_device_queries(machine: Machine) -> None:
    assert cuda.runtime.getDeviceCount() == 2
    assert cuda.Device(1).compute_capability == "90"
    assert cuda.runtime.getDeviceProperties(0)["name"].startswith(b"qiskit-cupy host stand-in")
    with pytest.raises(CUDARuntimeError, match="cudaErrorInvalidDevice"):
        cuda.Device(2).attributes  # noqa: B018
    free, total = cuda.runtime.memGetInfo()
    assert free == total == DeviceSpec().memory_bytes
    cupy.install([])
    with pytest.raises(CUDARuntimeError, match="cudaErrorNoDevice"):
        cuda.runtime.getDeviceCount()

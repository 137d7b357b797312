"""A faithful stand-in for the part of CuPy that ``qiskit_cupy/devices/gpu.py`` uses.

Tests only: it lives under ``tests/`` and is never shipped. :func:`modules` gives the
``cupy``, ``cupy.cuda`` and ``cupyx`` modules to put in ``sys.modules`` (the test
fixtures do it with ``monkeypatch``), backed by a simulated :class:`Machine` of host
threads and host memory: kernels are the exact NVRTC source built for the host
(``gpu_host/host_build.py``), streams run asynchronously in order, memory pools reuse
blocks as CuPy's do. Anything CuPy has that the stand-in does not model raises
``AttributeError`` or ``NotImplementedError`` at once, so gpu.py cannot use an untested
part of CuPy and still pass.

It proves that the GPU code paths run and compute the right numbers; it says nothing of
how a GPU runs them or how fast, and no figure it produces is a GPU's.
"""

from __future__ import annotations

import types
from typing import Any

from gpu_host.cupy_standin import cuda
from gpu_host.cupy_standin.arrays import cumsum, empty, matmul, moveaxis, ndarray, swapaxes
from gpu_host.cupy_standin.kernels import RawKernel, RawModule
from gpu_host.cupy_standin.machine import DeviceSpec, Machine

__all__ = [
    "DeviceSpec",
    "Machine",
    "RawKernel",
    "RawModule",
    "cuda",
    "cumsum",
    "empty",
    "get_default_memory_pool",
    "get_default_pinned_memory_pool",
    "install",
    "matmul",
    "modules",
    "moveaxis",
    "ndarray",
    "swapaxes",
]

_memory_pool = cuda.MemoryPool()
_pinned_memory_pool = cuda.PinnedMemoryPool()


def get_default_memory_pool() -> cuda.MemoryPool:
    """``cupy.get_default_memory_pool()``."""
    return _memory_pool


def get_default_pinned_memory_pool() -> cuda.PinnedMemoryPool:
    """``cupy.get_default_pinned_memory_pool()``."""
    return _pinned_memory_pool


def _empty_pinned(shape: Any, dtype: Any = float, order: str = "C") -> Any:
    """``cupyx.empty_pinned``: a NumPy array over a block of the pinned pool."""
    import numpy as np

    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    handle = cuda.machine().pinned.allocate(nbytes)
    return np.ndarray(shape, dtype=dtype, buffer=handle, order=order)


def _missing(module: str) -> Any:
    def __getattr__(name: str) -> Any:
        raise AttributeError(f"the CuPy stand-in has no {module}.{name}; gpu.py uses something untested")

    return __getattr__


cupyx = types.ModuleType("cupyx", "The stand-in's cupyx: pinned host memory.")
cupyx.empty_pinned = _empty_pinned
cupyx.__getattr__ = _missing("cupyx")


def install(specs: list[DeviceSpec] | None = None) -> Machine:
    """Start a fresh simulated machine (one device by default) and return it."""
    machine = Machine([DeviceSpec()] if specs is None else specs)
    cuda.set_machine(machine)
    return machine


def modules() -> dict[str, types.ModuleType]:
    """The modules to put in ``sys.modules`` in place of CuPy's."""
    import sys

    return {"cupy": sys.modules[__name__], "cupy.cuda": cuda, "cupyx": cupyx}


def __getattr__(name: str) -> Any:
    return _missing("cupy")(name)

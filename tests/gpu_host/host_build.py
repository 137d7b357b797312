"""The GPU's kernel source, exactly as NVRTC receives it, built for the host and launched.

``kernel_source.cuda_source()`` (every header and ``kernels/cuda/kernels.cu``, unchanged)
is compiled by the host C++ compiler behind a small CUDA-semantics prelude: the
qualifiers, ``dim3`` and the per-thread ``threadIdx``/``blockIdx``/``blockDim``/``gridDim``.
``__CUDACC__`` is defined, as NVRTC defines it, so the source takes the same branches
it takes on a GPU. Every name expression of both precisions gets two ``extern "C"``
trampolines: one runs the whole grid — every block, every thread of it — one thread at
a time, which is what a grid-stride launch computes; the other runs one chosen thread of
a launch, so that a test can reach the items of a grid far larger than it could run
(64-bit item indices) without running the rest. Arguments are passed as CUDA passes
them to ``cuLaunchKernel``: an array of pointers to each argument's value.

This proves the GPU entry points run and compute the right numbers; it says nothing of
how a GPU runs them, or how fast.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from qiskit_cupy.devices.kernel_source import PRECISION_TYPES, cuda_source, name_expressions

PRELUDE = r"""
// CUDA semantics for a host build of the NVRTC source.
#define __CUDACC__ 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#include <cmath>
using std::sqrt;  // CUDA's math library declares sqrt(double) for device code
struct dim3 { unsigned int x = 1, y = 1, z = 1; };
thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
"""

LAUNCH_SUPPORT = r"""
#include <cstddef>
#include <type_traits>
#include <utility>

template <typename... P, std::size_t... I>
void qc_host_call(void (*kernel)(P...), void** args, std::index_sequence<I...>) {
  kernel(*static_cast<std::remove_reference_t<P>*>(args[I])...);
}

// Runs thread `thread` of block `block_index` of a 1-D grid x block launch.
template <typename... P>
void qc_host_thread(void (*kernel)(P...), unsigned grid, unsigned block, unsigned block_index,
                    unsigned thread, void** args) {
  gridDim = dim3{grid, 1, 1};
  blockDim = dim3{block, 1, 1};
  blockIdx = dim3{block_index, 1, 1};
  threadIdx = dim3{thread, 1, 1};
  qc_host_call(kernel, args, std::index_sequence_for<P...>{});
}

// Runs every thread of every block of a 1-D launch.
template <typename... P>
void qc_host_grid(void (*kernel)(P...), unsigned grid, unsigned block, void** args) {
  for (unsigned b = 0; b < grid; ++b) {
    for (unsigned t = 0; t < block; ++t) {
      qc_host_thread(kernel, grid, block, b, t, args);
    }
  }
}
"""


def all_name_expressions() -> tuple[str, ...]:
    """Every name expression of every precision, without repeats, in a fixed order."""
    names: dict[str, None] = {}
    for precision in PRECISION_TYPES:
        names.update(dict.fromkeys(name_expressions(precision)))
    return tuple(names)


def translation_unit(code: str, names: tuple[str, ...]) -> str:
    """The prelude, the source, and two trampolines per name expression.

    ``qc_host_launch_<i>`` runs the whole grid of name expression ``i``,
    ``qc_host_thread_<i>`` one thread of it.
    """
    trampolines = "\n".join(
        f'extern "C" void qc_host_launch_{index}(unsigned grid, unsigned block, void** args) '
        f"{{ qc_host_grid(&{name}, grid, block, args); }}\n"
        f'extern "C" void qc_host_thread_{index}(unsigned grid, unsigned block, '
        f"unsigned block_index, unsigned thread, void** args) "
        f"{{ qc_host_thread(&{name}, grid, block, block_index, thread, args); }}"
        for index, name in enumerate(names)
    )
    return "\n".join([PRELUDE, code, LAUNCH_SUPPORT, trampolines])


def compiler() -> str:
    """The host C++ compiler: $CXX, else c++, g++ or clang++ on the PATH."""
    for candidate in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if candidate and shutil.which(candidate):
            return candidate
    raise RuntimeError("no host C++ compiler found (set CXX)")


#: The largest gridDim.x CUDA allows, and the largest blockDim.x.
MAX_GRID = 2**31 - 1
MAX_BLOCK = 1024


def _argument_pointers(arguments: list[ctypes._SimpleCData]) -> ctypes.Array:
    """The arguments as ``cuLaunchKernel`` takes them: an array of pointers to each value."""
    return (ctypes.c_void_p * len(arguments))(
        *[ctypes.cast(ctypes.pointer(argument), ctypes.c_void_p) for argument in arguments]
    )


class HostKernels:
    """The built library: launch any name expression over a 1-D grid, or one thread of it."""

    def __init__(self, library: ctypes.CDLL, names: tuple[str, ...]) -> None:
        self._library = library
        self._index = {name: index for index, name in enumerate(names)}

    def has(self, name: str) -> bool:
        """Whether ``name`` is one of the instantiated name expressions."""
        return name in self._index

    def launch(self, name: str, grid: int, block: int, arguments: list[ctypes._SimpleCData]) -> None:
        """Run kernel ``name`` on a ``grid`` x ``block`` launch with C-typed arguments."""
        function = getattr(self._library, f"qc_host_launch_{self._index[name]}")
        function(ctypes.c_uint(grid), ctypes.c_uint(block), _argument_pointers(arguments))

    def launch_thread(
        self,
        name: str,
        grid: int,
        block: int,
        block_index: int,
        thread_index: int,
        arguments: list[ctypes._SimpleCData],
    ) -> None:
        """Run one thread of kernel ``name`` on a ``grid`` x ``block`` launch.

        Only that thread runs: a grid-stride kernel computes the items of the thread
        (its first one is ``block_index * block + thread_index``, the next ``grid *
        block`` further on), and nothing of the other threads.

        Args:
            name: The kernel's name expression.
            grid: ``gridDim.x``, 1 to ``MAX_GRID`` (2**31 - 1, CUDA's limit).
            block: ``blockDim.x``, 1 to ``MAX_BLOCK``.
            block_index: ``blockIdx.x`` of the thread, below ``grid``.
            thread_index: ``threadIdx.x`` of the thread, below ``block``.
            arguments: The kernel's arguments, C-typed.

        Raises:
            ValueError: The launch or the thread is outside CUDA's limits or the launch.
        """
        if not (1 <= grid <= MAX_GRID and 1 <= block <= MAX_BLOCK):
            raise ValueError(f"a {grid} x {block} launch is outside CUDA's limits")
        if not (0 <= block_index < grid and 0 <= thread_index < block):
            raise ValueError(
                f"thread {thread_index} of block {block_index} is not in a {grid} x {block} launch"
            )
        function = getattr(self._library, f"qc_host_thread_{self._index[name]}")
        function(
            ctypes.c_uint(grid),
            ctypes.c_uint(block),
            ctypes.c_uint(block_index),
            ctypes.c_uint(thread_index),
            _argument_pointers(arguments),
        )


@functools.cache
def host_library(code: str, names: tuple[str, ...]) -> HostKernels:
    """Build ``code`` with ``names`` instantiated (once per text, cached on disk) and load it.

    Args:
        code: CUDA C++ source, as NVRTC would be given it.
        names: The name expressions to instantiate (``cupy.RawModule``'s ``name_expressions``).

    Returns:
        The loaded library.

    Raises:
        RuntimeError: The host compiler rejected the source (its messages are included).
    """
    source = translation_unit(code, names)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    directory = Path(tempfile.gettempdir()) / "qiskit-cupy-host-kernels"
    directory.mkdir(exist_ok=True)
    library = directory / f"kernels-{digest}.so"
    if not library.exists():
        cpp = directory / f"kernels-{digest}.{os.getpid()}.cpp"
        cpp.write_text(source, encoding="utf-8")
        partial = library.with_suffix(f".{os.getpid()}.tmp")
        built = subprocess.run(
            [compiler(), "-std=c++17", "-O2", "-shared", "-fPIC", "-w", "-o", str(partial), str(cpp)],
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            raise RuntimeError(f"the host build of the kernel source failed:\n{built.stderr[-4000:]}")
        partial.replace(library)
    return HostKernels(ctypes.CDLL(str(library)), names)


def host_kernels() -> HostKernels:
    """The package's kernel source with every name expression of both precisions."""
    return host_library(cuda_source(), all_name_expressions())


def pointer(array: np.ndarray) -> ctypes.c_void_p:
    """An array argument as CUDA receives it: the address of its first element."""
    return ctypes.c_void_p(array.ctypes.data)


def looping_grid(items: int) -> tuple[int, int]:
    """(grid, block) with fewer threads than items: every thread loops.

    4 blocks of 32 threads where that leaves at least 4 items per thread, else 3 blocks
    of about a twelfth of the items each (at least 2 items per thread from 6 items on),
    so that the grid stride is not a power of two.
    """
    if items >= 4 * 4 * 32:
        return 4, 32
    return 3, max(1, items // 12)


def launch_looping(name: str, items: int, arguments: list[ctypes._SimpleCData]) -> None:
    """Run a grid-stride launcher over ``items`` items, every thread looping."""
    grid, block = looping_grid(items)
    assert items >= 2 * grid * block
    host_kernels().launch(name, grid, block, arguments)

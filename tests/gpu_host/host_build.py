"""The GPU's kernel source, exactly as NVRTC receives it, built for the host and launched.

``kernel_source.cuda_source()`` (every header and ``kernels/cuda/kernels.cu``, unchanged)
is compiled by the host C++ compiler behind a small CUDA-semantics prelude: the
qualifiers, ``dim3``, the per-thread ``threadIdx``/``blockIdx``/``blockDim``/``gridDim``,
``__shared__`` and ``__syncthreads()``. ``__CUDACC__`` is defined, as NVRTC defines it,
so the source takes the same branches it takes on a GPU. Every name expression of both
precisions gets two ``extern "C"`` trampolines: one runs the whole grid, the other runs
one chosen thread of a launch, so that a test can reach the items of a grid far larger
than it could run (64-bit item indices) without running the rest. Arguments are passed
as CUDA passes them to ``cuLaunchKernel``: an array of pointers to each argument's value.

How a whole grid runs depends on whether the kernel cooperates within a block (its
``__global__`` body uses ``__shared__`` or ``__syncthreads``, found in the source text):

* a kernel that does not (every grid-stride launcher whose threads are independent)
  runs every block, every thread of it, one thread at a time, which is what such a
  launch computes, and much faster than threads would;
* a cooperative kernel runs its blocks one after another, and the threads of a block
  together: each has its own stack and registers, ``__shared__`` variables are
  ``static`` (one copy, shared by the block's threads and reused by the blocks one after
  another, as a GPU's blocks find their shared memory: holding whatever was there, so
  nothing may be read before it is written), and ``__syncthreads()`` is a barrier of
  the block's threads that have not returned (a returned thread no longer counts, as
  on Volta and later); after every thread has returned, the next block starts. A launch
  holds a lock of its instantiation, so that launches on two streams never share the
  copy. By default the threads are coroutines (``ucontext``) on the launching thread:
  each runs until its next barrier, one after another, in increasing and decreasing
  order of ``threadIdx.x`` on alternate rounds, so that a missing barrier makes some
  thread read what others have not written yet, deterministically. Within
  ``HostKernels.os_threads()`` they are ``std::thread`` objects instead, one per thread
  of the block, running concurrently between barriers (slower, several times under
  load, but any interleaving). ``__syncthreads()`` outside a cooperative launch (a
  single-thread launch, or a kernel the text search missed) aborts the process with a
  message rather than compute without the barrier.

This proves the GPU entry points run and compute the right numbers, and that a
cooperative kernel's barriers order its threads' shared-memory accesses under both
schedules; it says nothing of how a GPU schedules them (warps in lock step, many blocks
at once), of its shared-memory limits (the NVRTC check compiles those), or how fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
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
#define __shared__ static
#include <cmath>
#include <atomic>
#include <ucontext.h>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
using std::sqrt;  // CUDA's math library declares sqrt(double) for device code
struct dim3 { unsigned int x = 1, y = 1, z = 1; };
thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

// A barrier of the threads of one block that have not returned from the kernel. Arrivals
// are counted under a lock; waiters yield the processor until the generation changes
// (a block has more threads than the host has cores: sleeping on a condition variable
// would cost every waiter a wake-up and a fight for the lock at each barrier).
class QcBlockBarrier {
 public:
  explicit QcBlockBarrier(unsigned count) : expected_(count) {}
  // Waits until every counted thread has arrived; `last`, if given, runs in the last
  // thread to arrive before any is released.
  template <typename F>
  void arrive_and_wait(F last) {
    unsigned long long generation;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation = generation_.load(std::memory_order_relaxed);
      if (++arrived_ == expected_) {
        last();
        release();
        return;
      }
    }
    while (generation_.load(std::memory_order_acquire) == generation) {
      std::this_thread::yield();
    }
  }
  void arrive_and_wait() { arrive_and_wait([] {}); }
  // A thread that returned from the kernel: no longer counted.
  void drop() {
    std::lock_guard<std::mutex> lock(mutex_);
    --expected_;
    if (arrived_ > 0 && arrived_ == expected_) {
      release();
    }
  }
  // Counts `count` threads again; only while no thread uses the barrier.
  void reset(unsigned count) {
    expected_ = count;
    arrived_ = 0;
  }

 private:
  void release() {
    arrived_ = 0;
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::mutex mutex_;
  unsigned expected_;
  unsigned arrived_ = 0;
  std::atomic<unsigned long long> generation_{0};
};

// The barrier of the block the calling thread belongs to, when the block's threads are
// std::threads; null otherwise.
thread_local QcBlockBarrier* qc_block_barrier = nullptr;
// When the block's threads are coroutines: the scheduler's context, to switch back to at
// a barrier; null otherwise.
thread_local ucontext_t* qc_block_scheduler = nullptr;
thread_local ucontext_t* qc_current_coroutine = nullptr;

inline void __syncthreads() {
  if (qc_block_barrier != nullptr) {
    qc_block_barrier->arrive_and_wait();
  } else if (qc_block_scheduler != nullptr) {
    swapcontext(qc_current_coroutine, qc_block_scheduler);
  } else {
    std::fprintf(stderr, "__syncthreads() outside a cooperative host launch\n");
    std::abort();
  }
}
"""

LAUNCH_SUPPORT = r"""
#include <cstddef>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

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

// Runs every thread of every block of a 1-D launch, one thread at a time.
template <typename... P>
void qc_host_grid(void (*kernel)(P...), unsigned grid, unsigned block, void** args) {
  for (unsigned b = 0; b < grid; ++b) {
    for (unsigned t = 0; t < block; ++t) {
      qc_host_thread(kernel, grid, block, b, t, args);
    }
  }
}

// How the threads of a cooperative kernel's block run: as coroutines (0, the default) or
// as std::threads (1). Set by qc_host_set_block_threads.
std::atomic<int> qc_block_threads{0};

extern "C" void qc_host_set_block_threads(int threads) { qc_block_threads = threads; }

// One thread of a block run as a coroutine: its context, stack and state.
struct QcCoroutine {
  ucontext_t context;
  char* stack = nullptr;
  bool finished = false;
  void (*run)(void*, unsigned) = nullptr;
  void* launch = nullptr;
  unsigned thread = 0;
};

constexpr std::size_t kQcCoroutineStack = std::size_t{1} << 18;

inline void qc_coroutine_entry(unsigned high, unsigned low) {
  QcCoroutine* self = reinterpret_cast<QcCoroutine*>(
      (static_cast<std::uintptr_t>(high) << 32) | static_cast<std::uintptr_t>(low));
  self->run(self->launch, self->thread);
  self->finished = true;  // then uc_link resumes the scheduler
}

// Runs a 1-D launch of a kernel whose threads cooperate within a block, the threads of
// each block as coroutines on the calling thread: each runs until its next
// __syncthreads() (or its return), one after another, and once every thread that has
// not returned has reached the barrier, the next round releases them. Rounds visit the
// threads in increasing and decreasing order in turn, so that a thread runs both before
// and after the others between two barriers.
template <typename... P>
void qc_host_grid_coroutines(void (*kernel)(P...), unsigned grid, unsigned block, void** args) {
  struct Launch {
    void (*kernel)(P...);
    unsigned grid, block, block_index;
    void** args;
  } launch{kernel, grid, block, 0, args};
  auto run = [](void* state, unsigned thread) {
    Launch* l = static_cast<Launch*>(state);
    qc_host_thread(l->kernel, l->grid, l->block, l->block_index, thread, l->args);
  };
  std::vector<QcCoroutine> threads(block);
  for (QcCoroutine& coroutine : threads) {
    coroutine.stack = new char[kQcCoroutineStack];
  }
  ucontext_t scheduler;
  qc_block_scheduler = &scheduler;
  for (unsigned b = 0; b < grid; ++b) {
    launch.block_index = b;
    for (unsigned t = 0; t < block; ++t) {
      QcCoroutine& coroutine = threads[t];
      coroutine.finished = false;
      coroutine.run = run;
      coroutine.launch = &launch;
      coroutine.thread = t;
      getcontext(&coroutine.context);
      coroutine.context.uc_stack.ss_sp = coroutine.stack;
      coroutine.context.uc_stack.ss_size = kQcCoroutineStack;
      coroutine.context.uc_link = &scheduler;
      const std::uintptr_t address = reinterpret_cast<std::uintptr_t>(&coroutine);
      makecontext(&coroutine.context, reinterpret_cast<void (*)()>(&qc_coroutine_entry), 2,
                  static_cast<unsigned>(address >> 32), static_cast<unsigned>(address & 0xffffffffu));
    }
    unsigned alive = block;
    for (unsigned round = 0; alive > 0; ++round) {
      for (unsigned i = 0; i < block; ++i) {
        const unsigned t = round % 2 == 0 ? i : block - 1 - i;
        QcCoroutine& coroutine = threads[t];
        if (coroutine.finished) {
          continue;
        }
        gridDim = dim3{grid, 1, 1};
        blockDim = dim3{block, 1, 1};
        blockIdx = dim3{b, 1, 1};
        threadIdx = dim3{t, 1, 1};
        qc_current_coroutine = &coroutine.context;
        swapcontext(&scheduler, &coroutine.context);
        alive -= coroutine.finished ? 1 : 0;
      }
    }
  }
  qc_block_scheduler = nullptr;
  qc_current_coroutine = nullptr;
  for (QcCoroutine& coroutine : threads) {
    delete[] coroutine.stack;
  }
}

// Runs a 1-D launch of a kernel whose threads cooperate within a block: blocks one after
// another, the threads of each as coroutines or, if qc_host_set_block_threads(1) was
// called, concurrently (one std::thread per threadIdx.x, reused by every block),
// __syncthreads() a barrier of the block's threads that have not returned.
template <typename... P>
void qc_host_grid_cooperative(void (*kernel)(P...), unsigned grid, unsigned block, void** args) {
  if (qc_block_threads == 0) {
    qc_host_grid_coroutines(kernel, grid, block, args);
    return;
  }
  QcBlockBarrier sync(block);     // __syncthreads() of the running block
  QcBlockBarrier between(block);  // every thread has returned from the running block
  std::vector<std::thread> threads;
  threads.reserve(block);
  for (unsigned t = 0; t < block; ++t) {
    threads.emplace_back([&, t] {
      qc_block_barrier = &sync;
      for (unsigned b = 0; b < grid; ++b) {
        qc_host_thread(kernel, grid, block, b, t, args);
        sync.drop();
        between.arrive_and_wait([&] { sync.reset(block); });
      }
      qc_block_barrier = nullptr;
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
}
"""


def all_name_expressions() -> tuple[str, ...]:
    """Every name expression of every precision, without repeats, in a fixed order."""
    names: dict[str, None] = {}
    for precision in PRECISION_TYPES:
        names.update(dict.fromkeys(name_expressions(precision)))
    return tuple(names)


_GLOBAL_DEFINITION = re.compile(r"__global__\s+void\s+(\w+)\s*\(")


def cooperative_kernels(code: str) -> frozenset[str]:
    """The ``__global__`` functions of ``code`` whose body uses ``__shared__`` or
    ``__syncthreads``: their threads cooperate within a block.

    Args:
        code: CUDA C++ source.

    Returns:
        The kernels' (template) names.
    """
    names = set()
    for match in _GLOBAL_DEFINITION.finditer(code):
        start = code.index("{", match.end())
        depth, end = 0, start
        for end in range(start, len(code)):
            depth += {"{": 1, "}": -1}.get(code[end], 0)
            if depth == 0:
                break
        body = code[start : end + 1]
        if "__shared__" in body or "__syncthreads" in body:
            names.add(match.group(1))
    return frozenset(names)


def translation_unit(code: str, names: tuple[str, ...]) -> str:
    """The prelude, the source, and two trampolines per name expression.

    ``qc_host_launch_<i>`` runs the whole grid of name expression ``i`` (a cooperative
    kernel's blocks with their threads concurrent, under its instantiation's lock),
    ``qc_host_thread_<i>`` one thread of it.
    """
    cooperative = cooperative_kernels(code)
    trampolines = []
    for index, name in enumerate(names):
        if name.split("<", 1)[0] in cooperative:
            launch = (
                "static std::mutex lock; std::lock_guard<std::mutex> held(lock); "
                f"qc_host_grid_cooperative(&{name}, grid, block, args);"
            )
        else:
            launch = f"qc_host_grid(&{name}, grid, block, args);"
        trampolines.append(
            f'extern "C" void qc_host_launch_{index}(unsigned grid, unsigned block, void** args) '
            f"{{ {launch} }}\n"
            f'extern "C" void qc_host_thread_{index}(unsigned grid, unsigned block, '
            f"unsigned block_index, unsigned thread, void** args) "
            f"{{ qc_host_thread(&{name}, grid, block, block_index, thread, args); }}"
        )
    return "\n".join([PRELUDE, code, LAUNCH_SUPPORT, "\n".join(trampolines)])


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

    def __init__(self, library: ctypes.CDLL, names: tuple[str, ...], cooperative: frozenset[str]) -> None:
        self._library = library
        self._index = {name: index for index, name in enumerate(names)}
        self._cooperative = cooperative

    @contextlib.contextmanager
    def os_threads(self) -> Iterator[None]:
        """Meanwhile, run the threads of a cooperative kernel's block as concurrent
        ``std::thread``s rather than as coroutines (see the module)."""
        self._library.qc_host_set_block_threads(ctypes.c_int(1))
        try:
            yield
        finally:
            self._library.qc_host_set_block_threads(ctypes.c_int(0))

    def is_cooperative(self, name: str) -> bool:
        """Whether the threads of a block of kernel ``name`` run concurrently (see the module)."""
        return name.split("<", 1)[0] in self._cooperative

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
            ValueError: The launch or the thread is outside CUDA's limits or the launch,
                or the kernel is cooperative (one thread alone would wait at its first
                barrier for ever).
        """
        if self.is_cooperative(name):
            raise ValueError(f"{name} synchronizes its block's threads: one thread cannot run alone")
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
    return HostKernels(ctypes.CDLL(str(library)), names, cooperative_kernels(code))


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

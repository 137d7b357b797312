"""The host build's CUDA semantics for kernels whose threads cooperate within a block.

A small kernel source of its own (built like the package's, behind the same prelude)
needs ``__shared__`` storage shared by a block's threads and ``__syncthreads()``
barriers to compute its result; each test runs it with the threads as coroutines and
as ``std::thread`` objects.
"""

from __future__ import annotations

import contextlib
import ctypes

import numpy as np
import pytest

from gpu_host.host_build import cooperative_kernels, host_kernels, host_library, pointer
from qiskit_cupy.devices.kernel_source import blocked_run_kernel, cuda_source

#: Each block reverses its slice of `values` through shared memory; threads at or past
#: `stay` return before the second barrier, and `counts[block]` ends as the number of
#: threads that reached the first barrier (every one of the block's, if it waits).
SOURCE = r"""
__global__ void reverse_blocks(long long* values, long long* counts, int stay) {
  __shared__ long long slice[64];
  __shared__ long long arrived;
  if (threadIdx.x == 0) {
    arrived = 0;
  }
  __syncthreads();
  const long long first = static_cast<long long>(blockIdx.x) * blockDim.x;
  slice[threadIdx.x] = values[first + threadIdx.x];
  __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
  __syncthreads();
  if (threadIdx.x == 0) {
    counts[blockIdx.x] = arrived;
  }
  if (static_cast<int>(threadIdx.x) >= stay) {
    return;
  }
  __syncthreads();
  values[first + threadIdx.x] = slice[blockDim.x - 1 - threadIdx.x];
}

__global__ void independent(long long* values) { values[threadIdx.x] += 1; }
"""


@pytest.mark.parametrize("schedule", ["coroutines", "os-threads"])
@pytest.mark.parametrize("stay", [64, 40])
def test_shared_memory_and_barriers_order_a_blocks_threads(schedule: str, stay: int) -> None:
    library = host_library(SOURCE, ("reverse_blocks", "independent"))
    grid, block = 3, 64
    values = np.arange(grid * block, dtype=np.int64)
    counts = np.zeros(grid, dtype=np.int64)
    threads = library.os_threads() if schedule == "os-threads" else contextlib.nullcontext()
    with threads:
        library.launch("reverse_blocks", grid, block, [pointer(values), pointer(counts), ctypes.c_int(stay)])
    assert counts.tolist() == [block] * grid
    expected = np.arange(grid * block).reshape(grid, block)
    expected[:, :stay] = expected[:, ::-1][:, :stay]  # threads that returned wrote nothing
    assert values.tolist() == expected.ravel().tolist()


def test_kernels_are_cooperative_when_their_body_syncs_or_shares() -> None:
    assert cooperative_kernels(SOURCE) == {"reverse_blocks"}
    assert cooperative_kernels(cuda_source()) == {"qc_apply_blocked_run"}


def test_one_thread_of_a_cooperative_kernel_is_not_run_alone() -> None:
    with pytest.raises(ValueError, match="synchronizes its block's threads"):
        host_kernels().launch_thread(blocked_run_kernel("double"), 1, 32, 0, 0, [])
    library = host_library(SOURCE, ("reverse_blocks", "independent"))
    values = np.zeros(4, dtype=np.int64)
    library.launch_thread("independent", 1, 4, 0, 2, [pointer(values)])
    assert values.tolist() == [0, 0, 1, 0]

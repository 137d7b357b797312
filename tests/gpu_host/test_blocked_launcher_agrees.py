"""The GPU's blocked launcher agrees with its op-by-op launches and with the CPU launchers.

``qc_apply_blocked_run<T, BlockBits>`` (the exact NVRTC source built for the host,
``host_build.py``; the threads of each CUDA block run as coroutines switching at each
barrier, and in one test as concurrent ``std::thread`` objects; ``__shared__`` is the block's
copy, ``__syncthreads()`` a barrier) runs random programs of ops whose qubits all
lie below the block width: every op kind the registry lists and every size of it
(dense 1..5 targets, diagonal 1..5, permutation 1..2 phased and plain, wide diagonal),
with and without controls, on batches of 1 and 3 states, some ops with data per batch
entry, with and without a classical mask, on states one and two qubits wider than the
block, in both precisions. The same program then runs op by op through ``qc_apply_op``
(the same per-item bodies: the results must be equal bit for bit) and through the CPU
extension (within 1e-12 for complex128, 1e-5 for complex64 per amplitude).

The grids are smaller than the work: fewer CUDA blocks than state blocks (each CUDA block
loops over several), and fewer threads than an op's items (each thread loops).
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from scipy.stats import unitary_group

from gpu_host.host_build import host_kernels, pointer
from qiskit_cupy import _cpu
from qiskit_cupy.compiler.ops import MAX_PERMUTATION_TARGETS, MAX_TARGETS, GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices import gpu_segments
from qiskit_cupy.devices.kernel_source import BLOCK_BITS, apply_op_kernel, blocked_run_kernel

TOLERANCE = {np.complex128: 1e-12, np.complex64: 1e-5}
PRECISIONS = {np.complex128: "double", np.complex64: "single"}
#: Slots per row of classical rows, and the slot that holds each state's mask.
WIDTH = 4
MASK_SLOT = 3
EVERY_STATE = -1
#: Threads per CUDA block of the blocked launches: fewer than the items of most ops, and
#: not a power of two, so that the threads' item loops do not line up with the ops.
THREADS = 48


def _op(kind: OpKind, k: int, block_bits: int, batch: int, rng: np.random.Generator) -> GateOp:
    """One random op of ``kind`` with ``k`` targets, every qubit below ``block_bits``;
    controls on some, per-entry data (one set per state of the batch) on some."""
    qubits = [int(q) for q in rng.permutation(block_bits)]
    targets = tuple(sorted(qubits[:k]) if kind is OpKind.WIDE_DIAGONAL else qubits[:k])
    controls = tuple(qubits[k : k + int(rng.integers(0, 3))])
    values = int(rng.integers(0, 1 << len(controls)))
    per_entry = batch > 1 and rng.random() < 0.5
    permutation: tuple[int, ...] = ()

    def one() -> np.ndarray:
        if kind is OpKind.DENSE:
            return unitary_group.rvs(1 << k, random_state=rng) if k else np.eye(1)
        return np.exp(2j * np.pi * rng.random(1 << k))

    data = np.stack([one() for _ in range(batch)]) if per_entry else one()
    if kind is OpKind.PERMUTATION:
        permutation = tuple(int(j) for j in rng.permutation(1 << k))
        if rng.random() < 0.5:
            data = np.ones_like(data)  # a pure permutation: amplitudes move, no arithmetic
    return GateOp(kind, targets, data, controls, values, permutation)


def _program(block_bits: int, batch: int, seed: int) -> list[GateOp]:
    """Every kind and size once, plus a few more random ones, in a random order."""
    rng = np.random.default_rng(seed)
    shapes = [(OpKind.DENSE, k) for k in range(1, MAX_TARGETS + 1)]
    shapes += [(OpKind.DIAGONAL, k) for k in range(1, MAX_TARGETS + 1)]
    shapes += [(OpKind.PERMUTATION, k) for k in range(1, MAX_PERMUTATION_TARGETS + 1)] * 2
    shapes += [(OpKind.WIDE_DIAGONAL, k) for k in (6, 8)]
    shapes += [shapes[int(i)] for i in rng.integers(0, len(shapes), 4)]
    order = rng.permutation(len(shapes))
    return [_op(*shapes[i], block_bits, batch, rng) for i in order]


def _states(num_qubits: int, batch: int, dtype: type, rng: np.random.Generator) -> np.ndarray:
    amplitudes = rng.normal(size=(batch, 1 << num_qubits)) + 1j * rng.normal(size=(batch, 1 << num_qubits))
    amplitudes /= np.linalg.norm(amplitudes, axis=1, keepdims=True)
    return amplitudes.astype(dtype).ravel()


def _mask(batch: int, masked: bool) -> tuple[np.ndarray, int, int]:
    """(rows, width, slot): the middle state of a batch of 3 left out, or every state."""
    if not masked:
        return np.zeros(1, dtype=np.int64), 1, EVERY_STATE
    rows = np.zeros((batch, WIDTH), dtype=np.int64)
    rows[:, MASK_SLOT] = [1, 0, 1][:batch] if batch == 3 else 1
    return rows.ravel(), WIDTH, MASK_SLOT


def _mask_arguments(mask: tuple[np.ndarray, int, int]) -> list[ctypes._SimpleCData]:
    rows, width, slot = mask
    return [pointer(rows), ctypes.c_longlong(width), ctypes.c_longlong(slot)]


def _run_blocked(states, num_qubits, batch, program, data, precision, mask, grid) -> None:
    """The whole program through qc_apply_blocked_run, on a grid of ``grid`` CUDA blocks."""
    block_bits = BLOCK_BITS[precision]
    rows = np.ascontiguousarray(program.rows)
    num_blocks = batch << (num_qubits - block_bits)
    host_kernels().launch(
        blocked_run_kernel(precision),
        grid,
        THREADS,
        [
            pointer(states),
            ctypes.c_int(num_qubits),
            ctypes.c_longlong(num_blocks),
            pointer(rows),
            ctypes.c_longlong(len(rows)),
            pointer(data),
            *_mask_arguments(mask),
        ],
    )


def _run_op_by_op(states, num_qubits, batch, program, data, precision, mask) -> None:
    """The program one qc_apply_op launch per op (8 blocks of 32 threads, grid-stride)."""
    for index, kind in enumerate(program.kinds):
        row = np.ascontiguousarray(program.rows[index])
        items = batch << (num_qubits - program.num_sorted[index])
        host_kernels().launch(
            apply_op_kernel(kind.value, program.num_targets[index], precision),
            8,
            32,
            [
                pointer(states),
                ctypes.c_int(num_qubits),
                ctypes.c_longlong(items),
                pointer(row),
                pointer(data),
                *_mask_arguments(mask),
            ],
        )


@pytest.mark.parametrize("masked", [False, True], ids=["every-state", "masked"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("extra_qubits", [1, 2])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["double", "single"])
def test_blocked_run_agrees_with_op_by_op_and_the_cpu(
    dtype: type, extra_qubits: int, batch: int, masked: bool
) -> None:
    precision = PRECISIONS[dtype]
    block_bits = BLOCK_BITS[precision]
    num_qubits = block_bits + extra_qubits
    seed = 1000 * extra_qubits + 10 * batch + masked + (dtype == np.complex64) * 7
    ops = _program(block_bits, batch, seed)
    program = encode_program(ops, batch)
    highest = max(max(op.qubits) for op in ops)
    segments = gpu_segments.program_segments(program.rows, block_bits)
    assert segments == (gpu_segments.ProgramSegment(0, len(ops), True, highest),)
    data = program.data.astype(dtype)
    mask = _mask(batch, masked)
    initial = _states(num_qubits, batch, dtype, np.random.default_rng(seed))
    blocked, op_by_op, on_cpu = initial.copy(), initial.copy(), initial.copy()
    state_blocks = batch << extra_qubits
    _run_blocked(blocked, num_qubits, batch, program, data, precision, mask, max(1, state_blocks - 1))
    _run_op_by_op(op_by_op, num_qubits, batch, program, data, precision, mask)
    rows, width, slot = mask
    _cpu.run_program(on_cpu, num_qubits, batch, program.rows, data, rows, width, slot, 1, 0)
    assert not np.array_equal(blocked, initial)
    np.testing.assert_array_equal(blocked, op_by_op)
    np.testing.assert_allclose(blocked, on_cpu, rtol=0, atol=TOLERANCE[dtype])
    if masked and batch == 3:
        middle = slice(1 << num_qubits, 2 << num_qubits)
        np.testing.assert_array_equal(blocked[middle], initial[middle])


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["double", "single"])
def test_a_blocked_run_with_a_blocks_threads_as_os_threads_agrees(dtype: type) -> None:
    """The same, the threads of each CUDA block run concurrently as std::threads."""
    precision = PRECISIONS[dtype]
    num_qubits = BLOCK_BITS[precision] + 1
    ops = _program(BLOCK_BITS[precision], 3, 9)
    program = encode_program(ops, 3)
    data = program.data.astype(dtype)
    mask = _mask(3, True)
    initial = _states(num_qubits, 3, dtype, np.random.default_rng(9))
    blocked, op_by_op = initial.copy(), initial.copy()
    with host_kernels().os_threads():
        _run_blocked(blocked, num_qubits, 3, program, data, precision, mask, 2)
    _run_op_by_op(op_by_op, num_qubits, 3, program, data, precision, mask)
    np.testing.assert_array_equal(blocked, op_by_op)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["double", "single"])
def test_a_grid_of_more_cuda_blocks_than_state_blocks_leaves_the_rest_idle(dtype: type) -> None:
    """CUDA blocks past the last state block do nothing (and reach every barrier)."""
    precision = PRECISIONS[dtype]
    num_qubits = BLOCK_BITS[precision] + 1
    ops = _program(BLOCK_BITS[precision], 1, 5)
    program = encode_program(ops, 1)
    data = program.data.astype(dtype)
    mask = _mask(1, False)
    initial = _states(num_qubits, 1, dtype, np.random.default_rng(5))
    blocked, op_by_op = initial.copy(), initial.copy()
    _run_blocked(blocked, num_qubits, 1, program, data, precision, mask, 5)
    _run_op_by_op(op_by_op, num_qubits, 1, program, data, precision, mask)
    np.testing.assert_array_equal(blocked, op_by_op)

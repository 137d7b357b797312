"""The GPU's state and measurement launchers agree with the CPU extension's, and index
items with 64 bits.

The GPU launchers (the exact NVRTC source built for the host, ``host_build.py``)
``qc_set_zero_state``, ``qc_probabilities`` and ``qc_marginal_partials`` (both
precisions), ``qc_reduce_partials`` and ``qc_sample``, each over a grid of fewer threads
than items so that every thread loops, against ``_cpu.set_zero_state``,
``_cpu.probabilities``, ``_cpu.marginal_partials``, ``_cpu.reduce_partials`` and
``_cpu.sample``: random normalized states, batch 1 and 3, measured positions low,
middle, high, unsorted and all qubits, chunk_bits 0 and above.

The bounds. Both sides run the same per-item bodies (``measure.cuh``, ``state.cuh``), so
an item's |amplitude|^2 and its partial and reduced sums are computed in the same
order, but not bitwise alike: the CPU extension is built for the building machine
(``-march=native``, pyproject's default) and its compiler contracts ``re * re + im *
im`` into a fused multiply-add, which the host build (the x86-64 baseline, no FMA) does
not; NVRTC contracts too on a GPU (``--fmad=true`` is its default). One rounding less
per |a|^2, computed in the state's precision T, is a difference below 1.5 ulp of T.
Asserted, per item, relative to the value, with eps(T) the precision's machine epsilon
(2.2e-16 for complex128, 1.2e-7 for complex64):

- |a|^2 (``qc_probabilities``): within 2 eps(T); measured at most 1.0 eps(T).
- partial sums (``qc_marginal_partials``, sums of |a|^2 in double): within 4 eps(T);
  measured at most 1.33 eps(T) (complex128) and 1.0 eps(T) (complex64).
- ``qc_reduce_partials``: bitwise equal on the same partials (additions only).
- against an independent NumPy reference in float64 from the same amplitudes: within
  1e-14 (complex128, measured 6.6e-16) and 1e-6 (complex64, measured 1.1e-7).

Samples must be the same integers for the same seeds, and the same as a Python
transcription of the counter-based draw and its search.

The 64-bit tests run a single thread of a launch (``HostKernels.launch_thread``) whose
item is beyond 2**31 - 1 or 2**32, with the array pointers shifted back so that the
item's element lands in a small array; they assert that exactly that element was
written, with its value (|a|^2 within 2 eps(T), a diagonal entry times the amplitude
within 4 eps times |a|: the host compiler may contract), every other element left
bitwise as it was, including the thread's next grid-stride item, which a 32-bit
stride would bring inside the array. A masked op's item beyond 2**32 must read the mask
of its own batch entry.
"""

from __future__ import annotations

import ctypes
import zlib

import numpy as np
import pytest

from gpu_host.host_build import host_kernels, launch_looping, pointer
from qiskit_cupy import _cpu
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices.kernel_source import apply_op_kernel, precision_kernel

NUM_QUBITS = 10
PRECISIONS = {np.complex128: "double", np.complex64: "single"}
DTYPES = pytest.mark.parametrize("dtype", list(PRECISIONS), ids=list(PRECISIONS.values()))
BATCHES = pytest.mark.parametrize("batch", [1, 3])
#: Measured positions, bit b of an outcome being the value of qubit positions[b].
POSITIONS = {
    "low": (0, 1, 2),
    "middle": (4, 5, 6),
    "high": (7, 8, 9),
    "unsorted": (6, 1, 9, 3),
    "all": tuple(range(NUM_QUBITS)),
    "all-reversed": tuple(reversed(range(NUM_QUBITS))),
}
#: Relative bounds, in units of the precision's epsilon: |a|^2 and partial sums of it.
PROBABILITY_ULPS = 2
PARTIAL_ULPS = 4
#: Relative bounds of the marginals and partials against NumPy in float64.
REFERENCE_TOLERANCE = {np.complex128: 1e-14, np.complex64: 1e-6}


def _epsilon(dtype: type) -> float:
    """Machine epsilon of the precision of a complex dtype."""
    return float(np.finfo(dtype).eps)


def _states(batch: int, dtype: type, seed: str) -> np.ndarray:
    """A batch of random normalized states of NUM_QUBITS qubits, flat."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    shape = (batch, 1 << NUM_QUBITS)
    amplitudes = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    amplitudes /= np.linalg.norm(amplitudes, axis=1, keepdims=True)
    return amplitudes.astype(dtype).ravel()


@BATCHES
@DTYPES
def test_set_zero_state_agrees(dtype: type, batch: int) -> None:
    on_gpu = _states(batch, dtype, "zero")
    on_cpu = on_gpu.copy()
    items = batch << NUM_QUBITS
    launch_looping(
        precision_kernel("qc_set_zero_state", PRECISIONS[dtype]),
        items,
        [pointer(on_gpu), ctypes.c_int(NUM_QUBITS), ctypes.c_longlong(items)],
    )
    _cpu.set_zero_state(on_cpu, NUM_QUBITS, batch, 1)
    expected = np.zeros((batch, 1 << NUM_QUBITS), dtype=dtype)
    expected[:, 0] = 1
    np.testing.assert_array_equal(on_cpu, expected.ravel())
    np.testing.assert_array_equal(on_gpu, on_cpu)


@BATCHES
@DTYPES
def test_probabilities_agree(dtype: type, batch: int) -> None:
    states = _states(batch, dtype, "probabilities")
    items = states.size
    on_gpu = np.full(items, -1.0)
    on_cpu = np.full(items, -1.0)
    launch_looping(
        precision_kernel("qc_probabilities", PRECISIONS[dtype]),
        items,
        [pointer(states), ctypes.c_longlong(items), pointer(on_gpu)],
    )
    _cpu.probabilities(states, on_cpu, 1)
    # |a|^2 as both bodies compute it: in the state's precision, then widened.
    expected = (states.real * states.real + states.imag * states.imag).astype(np.float64)
    bound = PROBABILITY_ULPS * _epsilon(dtype)
    np.testing.assert_allclose(on_cpu, expected, rtol=bound, atol=0)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=bound, atol=0)


def _marginal_cases() -> list[tuple[str, tuple[int, ...], int]]:
    """(id, positions, chunk_bits): each position set with chunk_bits 0, 2 and the most."""
    cases = []
    for place, positions in POSITIONS.items():
        most = NUM_QUBITS - len(positions)
        for chunk_bits in sorted({0, min(2, most), most}):
            cases.append((f"{place}-chunk{chunk_bits}", positions, chunk_bits))
    return cases


def _reference_partials(
    states: np.ndarray, batch: int, positions: tuple[int, ...], chunk_bits: int
) -> np.ndarray:
    """Partial sums in float64 by NumPy: item ((entry * 2^m + outcome) * 2^c + chunk)
    sums the amplitudes of the outcome whose other qubits' value (in order) is in the
    chunk's range."""
    index = np.arange(1 << NUM_QUBITS)
    outcome = sum(((index >> p) & 1) << b for b, p in enumerate(positions))
    rest_positions = [q for q in range(NUM_QUBITS) if q not in positions]
    rest = sum(((index >> p) & 1) << b for b, p in enumerate(rest_positions))
    rest_bits = len(rest_positions) - chunk_bits
    key = (outcome << chunk_bits) | (rest >> rest_bits)
    size = 1 << (len(positions) + chunk_bits)
    probabilities = np.abs(states.astype(np.complex128).reshape(batch, -1)) ** 2
    return np.concatenate([np.bincount(key, weights=row, minlength=size) for row in probabilities])


@pytest.mark.parametrize(
    ("name", "positions", "chunk_bits"), _marginal_cases(), ids=[case[0] for case in _marginal_cases()]
)
@BATCHES
@DTYPES
def test_marginal_partials_and_reduction_agree(
    dtype: type, batch: int, name: str, positions: tuple[int, ...], chunk_bits: int
) -> None:
    states = _states(batch, dtype, name)
    measured = len(positions)
    position_array = np.asarray(positions, dtype=np.int64)
    sorted_array = np.sort(position_array)
    items = batch << (measured + chunk_bits)
    on_gpu = np.full(items, -1.0)
    on_cpu = np.full(items, -1.0)
    launch_looping(
        precision_kernel("qc_marginal_partials", PRECISIONS[dtype]),
        items,
        [
            pointer(states),
            ctypes.c_int(NUM_QUBITS),
            ctypes.c_longlong(items),
            pointer(position_array),
            pointer(sorted_array),
            ctypes.c_int(measured),
            ctypes.c_int(chunk_bits),
            pointer(on_gpu),
        ],
    )
    _cpu.marginal_partials(states, NUM_QUBITS, batch, position_array, sorted_array, chunk_bits, on_cpu, 1)
    reference = _reference_partials(states, batch, positions, chunk_bits)
    np.testing.assert_allclose(on_cpu, reference, rtol=REFERENCE_TOLERANCE[dtype], atol=0)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=PARTIAL_ULPS * _epsilon(dtype), atol=0)
    if chunk_bits == 0:
        return
    sums = batch << measured
    sums_on_gpu = np.full(sums, -1.0)
    sums_on_cpu = np.full(sums, -1.0)
    launch_looping(
        "qc_reduce_partials",
        sums,
        [pointer(on_gpu), ctypes.c_longlong(sums), ctypes.c_int(chunk_bits), pointer(sums_on_gpu)],
    )
    _cpu.reduce_partials(on_gpu, chunk_bits, sums_on_cpu, 1)
    marginals = reference.reshape(sums, -1).sum(axis=1)
    np.testing.assert_allclose(sums_on_cpu, marginals, rtol=REFERENCE_TOLERANCE[dtype], atol=0)
    np.testing.assert_array_equal(sums_on_gpu, sums_on_cpu)


_MASK64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """measure.cuh's SplitMix64 finalizer, on Python integers."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _reference_outcome(row: np.ndarray, seed: int, shot: int) -> int:
    """measure.cuh's draw of one shot: the first index whose cumulative sum exceeds it."""
    bits = _mix64((_mix64(seed) + (shot + 1) * 0x9E3779B97F4A7C15) & _MASK64)
    target = float(bits >> 11) * (1.0 / 9007199254740992.0) * float(row[-1])
    return min(int(np.searchsorted(row, target, side="right")), row.size - 1)


@pytest.mark.parametrize("num_measured", [0, 1, 3, NUM_QUBITS])
@BATCHES
def test_sample_agrees(batch: int, num_measured: int) -> None:
    rng = np.random.default_rng(zlib.crc32(f"sample-{batch}-{num_measured}".encode()))
    shots = 200
    size = 1 << num_measured
    weights = rng.random((batch, size))
    weights[:, 2::3] = 0.0  # outcomes that must never be drawn (none when size < 3)
    weights *= 0.9 / weights.sum(axis=1, keepdims=True)  # rows need not sum to 1
    cumulative = np.cumsum(weights, axis=1).ravel()
    seeds = rng.integers(0, 2**64, size=batch, dtype=np.uint64)
    items = batch * shots
    on_gpu = np.full(items, -1, dtype=np.int64)
    on_cpu = np.full(items, -1, dtype=np.int64)
    launch_looping(
        "qc_sample",
        items,
        [
            pointer(cumulative),
            ctypes.c_int(num_measured),
            ctypes.c_longlong(items),
            ctypes.c_longlong(shots),
            pointer(seeds),
            pointer(on_gpu),
        ],
    )
    _cpu.sample(cumulative, num_measured, shots, seeds, on_cpu, 1)
    rows = cumulative.reshape(batch, size)
    expected = [
        _reference_outcome(rows[item // shots], int(seeds[item // shots]), item % shots)
        for item in range(items)
    ]
    np.testing.assert_array_equal(on_cpu, expected)
    np.testing.assert_array_equal(on_gpu, on_cpu)
    drawn = on_gpu.reshape(batch, shots)
    for entry in range(batch):
        assert np.all(weights[entry, drawn[entry]] > 0)
    if size > 1:
        assert len(np.unique(drawn)) > 1


#: The thread's item lands on element SLOT of a small array of ARRAY_SIZE elements.
SLOT = 1
ARRAY_SIZE = 64
#: A launch of one-thread-past-the-item's grid has num_items = item + EXTRA_ITEMS: a
#: 64-bit grid stride ends the thread's loop after its first item, a stride truncated to
#: 32 bits (grid * block mod 2**32 = BLOCK) would also write element SLOT + BLOCK.
BLOCK = 32
EXTRA_ITEMS = 48


def _shifted(array: np.ndarray, index: int) -> ctypes.c_void_p:
    """A device pointer whose element ``index`` is ``array[SLOT]``."""
    address = array.ctypes.data + (SLOT - index) * array.itemsize
    assert address > 0
    return ctypes.c_void_p(address)


def _launch_item(name: str, item: int, arguments: list[ctypes._SimpleCData]) -> None:
    """Run the one thread of a grid-stride launch whose first item is ``item``."""
    block_index, thread_index = divmod(item, BLOCK)
    host_kernels().launch_thread(name, block_index + 1, BLOCK, block_index, thread_index, arguments)


#: The rows argument of an op that runs on every state, and the mask slot that says so.
NO_ROWS = np.zeros(1, dtype=np.int64)
EVERY_STATE = -1

BIG_ITEMS = pytest.mark.parametrize("item", [2**31 + 3, 2**32 + 5], ids=["above-int32", "above-uint32"])


@BIG_ITEMS
@DTYPES
def test_probabilities_index_items_with_64_bits(dtype: type, item: int) -> None:
    rng = np.random.default_rng(item)
    states = (rng.normal(size=ARRAY_SIZE) + 1j * rng.normal(size=ARRAY_SIZE)).astype(dtype)
    initial = states.copy()
    probabilities = np.full(ARRAY_SIZE, -1.0)
    _launch_item(
        precision_kernel("qc_probabilities", PRECISIONS[dtype]),
        item,
        [_shifted(states, item), ctypes.c_longlong(item + EXTRA_ITEMS), _shifted(probabilities, item)],
    )
    amplitude = states[SLOT]
    expected = np.float64(amplitude.real * amplitude.real + amplitude.imag * amplitude.imag)
    np.testing.assert_allclose(probabilities[SLOT], expected, rtol=PROBABILITY_ULPS * _epsilon(dtype), atol=0)
    np.testing.assert_array_equal(np.delete(probabilities, SLOT), -1.0)
    np.testing.assert_array_equal(states, initial)


@pytest.mark.parametrize(
    ("item", "num_qubits", "value"),
    [
        (2**31, 31, 1.0),  # first amplitude of batch entry 1
        (2**32, 32, 1.0),  # first amplitude of batch entry 1
        (2**32 + 5, 32, 0.0),  # amplitude 5 of batch entry 1
        (2**32 + 5, 33, 0.0),  # amplitude 2**32 + 5 of batch entry 0
    ],
)
def test_set_zero_state_indexes_items_with_64_bits(item: int, num_qubits: int, value: float) -> None:
    rng = np.random.default_rng(item + num_qubits)
    states = rng.normal(size=ARRAY_SIZE) + 1j * rng.normal(size=ARRAY_SIZE)
    expected = states.copy()
    expected[SLOT] = value
    _launch_item(
        precision_kernel("qc_set_zero_state", "double"),
        item,
        [_shifted(states, item), ctypes.c_int(num_qubits), ctypes.c_longlong(item + EXTRA_ITEMS)],
    )
    np.testing.assert_array_equal(states, expected)


@pytest.mark.parametrize(
    ("num_qubits", "target", "controls", "batch", "item", "index", "entry"),
    [
        # item = amplitude; bit 31 of it (the target) is 1: diagonal entry 1
        pytest.param(32, 31, (), 1, 2**31 + 3, 2**31 + 3, (0, 1), id="above-int32"),
        pytest.param(33, 32, (), 1, 2**32 + 5, 2**32 + 5, (0, 1), id="above-uint32"),
        # batch entry 2 (per-entry data), local item 5, target bit 0 is 1
        pytest.param(31, 0, (), 3, 2**32 + 5, 2**32 + 5, (2, 1), id="batch-entry"),
        # the control (qubit 33, value 1) is inserted above the local item's 33 bits
        pytest.param(34, 32, (33,), 1, 2**32 + 5, 2**33 + 2**32 + 5, (0, 1), id="controlled"),
    ],
)
def test_diagonal_op_indexes_items_with_64_bits(
    num_qubits: int,
    target: int,
    controls: tuple[int, ...],
    batch: int,
    item: int,
    index: int,
    entry: tuple[int, int],
) -> None:
    """One item of a 1-target diagonal op owns one amplitude, ``index``, so a single
    thread's writes stay inside the shifted array (as does a next item 32 further)."""
    rng = np.random.default_rng(item + num_qubits)
    diagonal = np.exp(2j * np.pi * rng.random((batch, 2)))
    op = GateOp(
        OpKind.DIAGONAL, (target,), diagonal[0] if batch == 1 else diagonal, controls, 1 if controls else 0
    )
    program = encode_program([op], batch)
    row = np.ascontiguousarray(program.rows[0])
    data = program.data.astype(np.complex128)
    states = rng.normal(size=ARRAY_SIZE) + 1j * rng.normal(size=ARRAY_SIZE)
    initial = states.copy()
    amplitude = states[SLOT]
    expected = diagonal[entry] * amplitude
    assert abs(expected - amplitude) > 1e-3
    _launch_item(
        apply_op_kernel(OpKind.DIAGONAL.value, 1, "double"),
        item,
        [
            _shifted(states, index),
            ctypes.c_int(num_qubits),
            ctypes.c_longlong(item + EXTRA_ITEMS),
            pointer(row),
            pointer(data),
            pointer(NO_ROWS),
            ctypes.c_longlong(1),
            ctypes.c_longlong(EVERY_STATE),
        ],
    )
    assert abs(states[SLOT] - expected) <= 4 * _epsilon(np.complex128) * abs(amplitude)
    np.testing.assert_array_equal(np.delete(states, SLOT), np.delete(initial, SLOT))


#: Width of the rows of slots of the masked test, and the slot its mask reads.
ROW_WIDTH = 5
MASK_SLOT = 4


@pytest.mark.parametrize("active", [True, False], ids=["active", "inactive"])
def test_masked_op_reads_the_mask_of_its_items_entry_with_64_bits(active: bool) -> None:
    """Item 2**32 + 5 of a 1-target diagonal on a batch of 3 states of 31 qubits belongs
    to entry 2 (item >> 31): the op applies iff that entry's row holds a nonzero mask
    slot. The other rows say the opposite, so an entry computed from a 32-bit item
    (entry 0) or a row read at a 32-bit offset would give the other answer."""
    num_qubits, batch, item = 31, 3, 2**32 + 5
    rng = np.random.default_rng(17)
    diagonal = np.exp(2j * np.pi * rng.random((batch, 2)))
    program = encode_program([GateOp(OpKind.DIAGONAL, (0,), diagonal)], batch)
    row = np.ascontiguousarray(program.rows[0])
    data = program.data.astype(np.complex128)
    rows = rng.integers(-(2**63), 2**63, size=(batch, ROW_WIDTH), dtype=np.int64)
    rows[:, MASK_SLOT] = 0 if active else -(2**63)  # any nonzero value is active
    rows[2, MASK_SLOT] = -(2**63) if active else 0
    initial_rows = rows.copy()
    states = rng.normal(size=ARRAY_SIZE) + 1j * rng.normal(size=ARRAY_SIZE)
    initial = states.copy()
    _launch_item(
        apply_op_kernel(OpKind.DIAGONAL.value, 1, "double"),
        item,
        [
            _shifted(states, item),
            ctypes.c_int(num_qubits),
            ctypes.c_longlong(item + EXTRA_ITEMS),
            pointer(row),
            pointer(data),
            pointer(rows),
            ctypes.c_longlong(ROW_WIDTH),
            ctypes.c_longlong(MASK_SLOT),
        ],
    )
    np.testing.assert_array_equal(rows, initial_rows)
    np.testing.assert_array_equal(np.delete(states, SLOT), np.delete(initial, SLOT))
    if not active:
        assert states[SLOT] == initial[SLOT]
        return
    expected = diagonal[2, 1] * initial[SLOT]  # entry 2's data, target bit 0 of 5 is 1
    assert abs(expected - initial[SLOT]) > 1e-3
    assert abs(states[SLOT] - expected) <= 4 * _epsilon(np.complex128) * abs(initial[SLOT])

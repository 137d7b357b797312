"""Both launchers agree op by op: the GPU's grid-stride ``qc_apply_op`` (the exact NVRTC
source built for the host, ``host_build.py``) and the CPU extension's run/tile launchers.

Every op kind the registry lists (dense 1..5 targets, diagonal 1..5, wide diagonal,
permutation and phased permutation), with targets and controls among the low, middle
and high qubits, batch 1 and 3 (per-entry data), both precisions. The bound: the two
agree within 1e-12 (complex128) and 1e-5 (complex64) per amplitude, on normalized
random states.

Every op runs on every state here: the rows of slots are a one-element array and the
mask slot is -1, as for an op outside any classical condition (the masked launches are
in ``test_dynamic_launchers_agree.py``).
"""

from __future__ import annotations

import ctypes
import itertools
import zlib

import numpy as np
import pytest
from scipy.stats import unitary_group

from gpu_host.host_build import host_kernels, pointer
from qiskit_cupy import _cpu
from qiskit_cupy.compiler.ops import MAX_PERMUTATION_TARGETS, MAX_TARGETS, GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices.kernel_source import apply_op_kernel

NUM_QUBITS = 10
TOLERANCE = {np.complex128: 1e-12, np.complex64: 1e-5}
#: Qubit groups the targets and controls are drawn from.
PLACES = {"low": (0, 1, 2, 3, 4), "middle": (3, 4, 5, 6, 7), "high": (9, 8, 7, 6, 5)}
#: The rows argument of an unconditioned op, and its mask slot (every state).
NO_ROWS = np.zeros(1, dtype=np.int64)
EVERY_STATE = -1


def _data(kind: OpKind, k: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """One op's data per batch entry: a unitary, a diagonal of phases or column phases."""

    def one() -> np.ndarray:
        if kind is OpKind.DENSE:
            return unitary_group.rvs(1 << k, random_state=rng) if k else np.eye(1)
        return np.exp(2j * np.pi * rng.random(1 << k))

    entries = [one() for _ in range(batch)]
    return entries[0] if batch == 1 else np.stack(entries)


def _ops() -> list[tuple[str, OpKind, tuple[int, ...], tuple[int, ...], tuple[int, ...] | None]]:
    """(id, kind, targets, controls, permutation) for every kind, size and placement.

    Permutations come phased and plain (every phase 1, the row's kPhased flag 0).
    """
    cases = []
    for place, qubits in PLACES.items():
        for k in range(1, MAX_TARGETS + 1):
            targets = qubits[:k]
            controls = tuple(q for q in (9, 0) if q not in targets)[: 1 if k < 5 else 0]
            cases.append((f"dense{k}-{place}", OpKind.DENSE, targets, (), None))
            cases.append((f"dense{k}-{place}-ctrl", OpKind.DENSE, targets[::-1], controls, None))
            cases.append((f"diagonal{k}-{place}", OpKind.DIAGONAL, targets, controls, None))
        for k in range(1, MAX_PERMUTATION_TARGETS + 1):
            for permutation, phased in itertools.product(
                itertools.permutations(range(1 << k)), ("phased", "plain")
            ):
                name = f"perm{k}-{place}-{''.join(map(str, permutation))}-{phased}"
                cases.append((name, OpKind.PERMUTATION, qubits[:k], (), permutation))
    cases.append(("wide7", OpKind.WIDE_DIAGONAL, (0, 2, 3, 5, 6, 8, 9), (), None))
    cases.append(("wide6-ctrl", OpKind.WIDE_DIAGONAL, (1, 2, 3, 4, 6, 7), (0,), None))
    return cases


def _gpu_launch(states: np.ndarray, batch: int, op: GateOp, precision: str) -> None:
    """Run one op through the GPU launcher (host build): 8 blocks of 32, grid-stride."""
    program = encode_program([op], batch)
    dtype = states.dtype
    data = program.data.astype(dtype)
    row = np.ascontiguousarray(program.rows[0])
    items = batch << (NUM_QUBITS - program.num_sorted[0])
    kernel = apply_op_kernel(op.kind.value, len(op.targets), precision)
    host_kernels().launch(
        kernel,
        8,
        32,
        [
            pointer(states),
            ctypes.c_int(NUM_QUBITS),
            ctypes.c_longlong(items),
            pointer(row),
            pointer(data),
            pointer(NO_ROWS),
            ctypes.c_longlong(1),
            ctypes.c_longlong(EVERY_STATE),
        ],
    )


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["double", "single"])
@pytest.mark.parametrize(
    ("name", "kind", "targets", "controls", "permutation"), _ops(), ids=[case[0] for case in _ops()]
)
def test_gpu_and_cpu_launchers_agree(
    name: str,
    kind: OpKind,
    targets: tuple[int, ...],
    controls: tuple[int, ...],
    permutation: tuple[int, ...] | None,
    batch: int,
    dtype: type,
) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    data = _data(kind, len(targets), batch, rng)
    if name.endswith("-plain"):
        data = np.ones_like(data)  # a pure permutation: amplitudes move, no arithmetic
    op = GateOp(kind, targets, data, controls, 1 if controls else 0, permutation or ())
    precision = "double" if dtype == np.complex128 else "single"
    amplitudes = rng.normal(size=(batch, 1 << NUM_QUBITS)) + 1j * rng.normal(size=(batch, 1 << NUM_QUBITS))
    amplitudes /= np.linalg.norm(amplitudes, axis=1, keepdims=True)
    initial = amplitudes.astype(dtype).ravel()
    on_gpu = initial.copy()
    on_cpu = initial.copy()
    _gpu_launch(on_gpu, batch, op, precision)
    program = encode_program([op], batch)
    _cpu.run_program(
        on_cpu, NUM_QUBITS, batch, program.rows, program.data.astype(dtype), NO_ROWS, 1, EVERY_STATE, 1
    )
    assert not np.allclose(on_cpu, initial) or kind is OpKind.PERMUTATION
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=0, atol=TOLERANCE[dtype])

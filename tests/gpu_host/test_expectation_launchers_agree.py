"""The GPU's expectation launcher agrees with the CPU extension's, and with Statevector.

``qc_expectation_partials`` (the exact NVRTC source built for the host, ``host_build.py``;
both precisions), over a grid of fewer threads than items so that every thread loops,
against ``_cpu.expectation_partials``: random normalized states of 10 qubits, batch 1
and 3, chunk_bits 3 and 5, observables of Pauli strings and of every projector (their
pieces lowered by ``compiler/observables.py``, with passes of one to eight pieces).

The bounds. Both sides run the same per-item body (``expectation.cuh``) in the same
order; the CPU build may contract products into fused multiply-adds (see
``test_measure_launchers_agree.py``), so a partial of 2**(10 - c) products of unit-norm
amplitudes differs by a few eps of the state's precision: asserted within 16 eps(T)
(absolute; partials are at most 1). Reduced and weighted, the values must be
Statevector.expectation_value of the observable (expanded into Paulis, an independent
path) within 1e-13 (complex128) and 1e-6 (complex64) per unit of coefficient norm.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from qiskit.quantum_info import SparseObservable, SparsePauliOp, Statevector

from gpu_host.host_build import launch_looping, pointer
from gpu_host.test_measure_launchers_agree import NUM_QUBITS, _states
from qiskit_cupy import _cpu
from qiskit_cupy.compiler.observables import lower_observables
from qiskit_cupy.devices.kernel_source import precision_kernel

PRECISIONS = {np.complex128: "double", np.complex64: "single"}
TOLERANCE = {np.complex128: 1e-13, np.complex64: 1e-6}

#: Observables as sparse lists: Paulis sharing X/Y patterns (more than one pass of
#: eight), the identity, and every projector, alone and with Paulis.
OBSERVABLES = {
    "paulis": [
        ("Z", [0], 0.5),
        ("ZZ", [3, 9], -1.0),
        ("X", [2], 0.25),
        ("XZ", [2, 5], 2.0),
        ("YY", [0, 1], 1.5),
        ("XY", [0, 1], -0.5),
        ("YXZ", [4, 7, 8], 0.75),
        ("", [], 0.3),
    ]
    + [("XZ", [6, z], 0.1 * z) for z in range(NUM_QUBITS) if z != 6],
    "projectors": [
        ("0", [0], 1.0),
        ("1Z", [9, 4], -0.5),
        ("+", [3], 0.7),
        ("-X", [5, 6], 1.1),
        ("r", [2], -0.4),
        ("lY", [8, 1], 0.9),
        ("0+1-rl", [0, 1, 2, 3, 4, 5], 2.0),
    ],
}


@pytest.mark.parametrize("dtype", list(PRECISIONS), ids=list(PRECISIONS.values()))
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", list(OBSERVABLES))
@pytest.mark.parametrize("chunk_bits", [3, 5])  # every thread of the launch loops
def test_expectation_partials_agree_and_give_the_expectation(
    dtype: type, batch: int, name: str, chunk_bits: int
) -> None:
    observable = SparseObservable.from_sparse_list(OBSERVABLES[name], NUM_QUBITS)
    lowered = lower_observables([observable], range(NUM_QUBITS), "test")
    assert lowered.passes[:, 2].max() >= 2  # some pass shares its read of the state
    states = _states(batch, dtype, name)
    size = (len(lowered.pieces) * batch * 2) << chunk_bits
    on_gpu = np.full(size, -7.0)
    on_cpu = np.full(size, -7.0)
    items = (len(lowered.passes) * batch) << chunk_bits
    launch_looping(
        precision_kernel("qc_expectation_partials", PRECISIONS[dtype]),
        items,
        [
            pointer(states),
            ctypes.c_int(NUM_QUBITS),
            ctypes.c_longlong(batch),
            ctypes.c_longlong(items),
            pointer(lowered.passes),
            pointer(lowered.pieces),
            ctypes.c_int(chunk_bits),
            pointer(on_gpu),
        ],
    )
    _cpu.expectation_partials(
        states, NUM_QUBITS, batch, lowered.passes, lowered.pieces, chunk_bits, on_cpu, 1
    )
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=0, atol=16 * float(np.finfo(dtype).eps))
    sums = np.zeros(size >> chunk_bits)
    _cpu.reduce_partials(on_gpu, chunk_bits, sums, 1)
    values = lowered.values(sums.reshape(len(lowered.pieces), batch, 2))[0]
    paulis = SparsePauliOp.from_sparse_observable(observable)
    expected = [
        Statevector(state.astype(np.complex128)).expectation_value(paulis).real
        for state in states.reshape(batch, -1)
    ]
    norm = float(np.abs(observable.coeffs).sum())
    np.testing.assert_allclose(values, expected, rtol=0, atol=TOLERANCE[dtype] * norm)

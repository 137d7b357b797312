"""Index-bit swaps: the same operator as the unswapped ops, swaps only where the model says
they pay, fewer passes over memory, and the same states from both launchers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from op_reference import evolve_ops
from qiskit_cupy import _cpu
from qiskit_cupy.compiler.fusion import Fuser, FusionSettings, Roofline
from qiskit_cupy.compiler.index_swaps import IndexSwapper, swap_op
from qiskit_cupy.compiler.lowering import lower_circuit
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices.cpu import CpuDevice
from qiskit_cupy.devices.gpu import GpuDevice
from random_circuits import random_circuit

#: Passes over memory dominate: bringing qubits into the blocks pays.
MEMORY_BOUND = Roofline(bandwidth=1e9, flop_rate=1e13, launch_seconds=1e-6, block_bits=5)
#: Passes cost nothing: a swap can only add work.
FREE_PASSES = Roofline(bandwidth=1e18, flop_rate=1e9, launch_seconds=0.0, block_bits=5)


def swaps_in(ops: list[GateOp]) -> int:
    return sum(op.kind is OpKind.PERMUTATION and op.permutation == (0, 2, 1, 3) for op in ops)


def high_and_low_circuit(num_qubits: int, rounds: int) -> QuantumCircuit:
    """Rounds of rotations on the top qubit between layers on low qubits (unfusable runs)."""
    circuit = QuantumCircuit(num_qubits)
    for step in range(rounds):
        circuit.rz(0.1 * step + 0.2, num_qubits - 1)
        circuit.rx(0.3 * step + 0.1, num_qubits - 1)
        circuit.h(step % 3)
        circuit.cx(step % 3, 3)
        circuit.t(num_qubits - 1)
        circuit.ry(0.5, (step + 1) % 3)
    return circuit


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("num_qubits", [7, 9])
def test_placed_ops_apply_the_same_operator(seed: int, num_qubits: int) -> None:
    circuit = random_circuit(num_qubits, 6 * num_qubits, seed=seed)
    ops = lower_circuit(circuit).gate_ops
    fused = Fuser(FusionSettings(max_qubits=1 + seed % 3)).fuse(ops, num_qubits, MEMORY_BOUND, 16)
    start = Statevector.from_int(0, 1 << num_qubits)
    expected = evolve_ops(start, ops).data
    for candidates in (ops, fused):
        placed = IndexSwapper().place(candidates, num_qubits, MEMORY_BOUND, 16)
        np.testing.assert_allclose(evolve_ops(start, placed).data, expected, atol=1e-10)


def test_swaps_come_where_passes_cost_and_not_where_they_are_free() -> None:
    circuit = high_and_low_circuit(9, 8)
    ops = lower_circuit(circuit).gate_ops
    with_swaps = IndexSwapper().place(ops, 9, MEMORY_BOUND, 16)
    assert swaps_in(with_swaps) >= 2  # at least one there and one back
    assert swaps_in(IndexSwapper().place(ops, 9, FREE_PASSES, 16)) == 0
    start = Statevector.from_int(0, 1 << 9)
    np.testing.assert_allclose(evolve_ops(start, with_swaps).data, evolve_ops(start, ops).data, atol=1e-10)
    # Every op but the swaps themselves now lies below the blocks: far fewer passes.
    passes = [_cpu.program_passes(9, 1, encode_program(program).rows, 16, 5) for program in (ops, with_swaps)]
    assert passes[1] < passes[0] / 2


def test_nothing_changes_without_blocks_or_below_them() -> None:
    ops = lower_circuit(high_and_low_circuit(9, 3)).gate_ops
    swapper = IndexSwapper()
    assert swapper.place(ops, 9, replace(MEMORY_BOUND, block_bits=0), 16) == list(ops)
    assert swapper.place(ops, 9, replace(MEMORY_BOUND, block_bits=9), 16) == list(ops)


def test_diagonal_targets_stay_ascending_with_their_entries_moved() -> None:
    diagonal = np.exp(1j * np.arange(8))
    op = GateOp(OpKind.DIAGONAL, (1, 4, 8), diagonal)
    ops = [op, swap_op(0, 1), op, GateOp(OpKind.DIAGONAL, (8,), np.exp(1j * np.array([0.5, 1.5])))] * 4
    placed = IndexSwapper().place(ops, 9, MEMORY_BOUND, 16)
    for placed_op in placed:
        if placed_op.kind is OpKind.DIAGONAL:
            assert list(placed_op.targets) == sorted(placed_op.targets)
    start = Statevector(np.exp(1j * np.arange(512)) / np.sqrt(512))
    np.testing.assert_allclose(evolve_ops(start, placed).data, evolve_ops(start, ops).data, atol=1e-12)


def test_plans_are_cached_by_structure() -> None:
    swapper = IndexSwapper()
    first = lower_circuit(high_and_low_circuit(9, 6)).gate_ops
    swapper.place(first, 9, MEMORY_BOUND, 16)
    again = swapper.place(first, 9, MEMORY_BOUND, 16)
    assert swapper.cached_plans == 1
    assert swaps_in(again) >= 2


@pytest.mark.parametrize("precision", ["double", "single"])
def test_backend_runs_swapped_programs_like_statevector(
    backend, device_name: str, monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    """Blocks of 6 qubits on both devices: the swaps and the relabelled ops run through
    each launcher and give Statevector's states."""
    for device in (CpuDevice, GpuDevice):
        roofline = device.roofline
        monkeypatch.setattr(
            device, "roofline", lambda self, p, roofline=roofline: replace(roofline(self, p), block_bits=6)
        )
    circuits = [high_and_low_circuit(12, 10), random_circuit(12, 60, seed=4)]
    result = backend.run(circuits, save_statevector=True, precision=precision, fusion_threshold=1).result()
    tolerance = 1e-10 if precision == "double" else 5e-5
    for index, circuit in enumerate(circuits):
        np.testing.assert_allclose(
            result.get_statevector(index).data, Statevector(circuit).data, rtol=0, atol=tolerance
        )

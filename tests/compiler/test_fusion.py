"""Gate fusion: same final states as without fusion; diagonal runs stay diagonal; plans cached."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.circuit.library import QFTGate
from qiskit.quantum_info import Statevector

from op_reference import evolve_ops
from qiskit_cupy.compiler.fusion import Fuser, FusionSettings, Roofline
from qiskit_cupy.compiler.lowering import lower_circuit
from qiskit_cupy.compiler.ops import OpKind
from random_circuits import random_circuit

ROOFLINE = Roofline(bandwidth=8e9, flop_rate=5e9, launch_seconds=2e-5)


@pytest.mark.parametrize("max_qubits", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("precision", ["double", "single"])
def test_fused_random_circuits_match_statevector(backend, max_qubits: int, precision: str) -> None:
    circuits = [random_circuit(n, 3 * n, seed=100 * max_qubits + n) for n in range(2, 11)]
    result = backend.run(
        circuits, save_statevector=True, precision=precision, fusion_threshold=1, fusion_max_qubits=max_qubits
    ).result()
    tolerance = 1e-10 if precision == "double" else 5e-5
    for index, circuit in enumerate(circuits):
        np.testing.assert_allclose(
            result.get_statevector(index).data, Statevector(circuit).data, rtol=0, atol=tolerance
        )
        lowered = lower_circuit(circuit, save_final_state=True)
        assert result.results[index].metadata["num_ops"] <= len(lowered.gate_ops)


def qft_circuit(width: int) -> QuantumCircuit:
    circuit = QuantumCircuit(width)
    circuit.h(range(width))
    circuit.append(QFTGate(width), range(width))
    return transpile(circuit, basis_gates=["h", "cp", "swap"], optimization_level=0)


def test_qft_stages_fuse_into_diagonal_passes() -> None:
    width = 16
    ops = lower_circuit(qft_circuit(width)).gate_ops
    fused = Fuser(FusionSettings()).fuse(ops, width, ROOFLINE, 16)
    controlled_phases = [op for op in ops if op.kind is OpKind.DIAGONAL]
    wide = [op for op in fused if op.kind is OpKind.WIDE_DIAGONAL]
    assert len(controlled_phases) == width * (width - 1) // 2
    assert wide, "runs of controlled phases become wide diagonal ops"
    assert len(fused) < len(ops) / 3


def test_fusion_respects_threshold_and_enable(cpu_backend) -> None:
    circuit = random_circuit(6, 30, seed=1)
    circuit.measure_all()
    unfused = cpu_backend.run(circuit, shots=10, fusion_threshold=7).result()
    disabled = cpu_backend.run(circuit, shots=10, fusion_enable=False, fusion_threshold=1).result()
    fused = cpu_backend.run(circuit, shots=10, fusion_threshold=6).result()
    lowered = len(lower_circuit(circuit).gate_ops)
    assert unfused.results[0].metadata["num_ops"] == lowered
    assert disabled.results[0].metadata["num_ops"] == lowered
    assert fused.results[0].metadata["num_ops"] < lowered


def test_plans_are_cached_across_parameter_values() -> None:
    theta = Parameter("theta")
    template = QuantumCircuit(14)
    for qubit in range(14):
        template.ry(theta * (qubit + 1), qubit)
    for qubit in range(13):
        template.cx(qubit, qubit + 1)
    fuser = Fuser(FusionSettings())
    for value in (0.3, 0.7, 1.1):
        bound = template.assign_parameters({theta: value})
        fused = fuser.fuse(lower_circuit(bound).gate_ops, 14, ROOFLINE, 16)
        state = evolve_ops(Statevector.from_label("0" * 14), fused)
        np.testing.assert_allclose(state.data, Statevector(bound).data, atol=1e-10)
    assert fuser.cached_plans == 1


def test_cost_model_prefers_fewer_passes_when_memory_bound() -> None:
    memory_bound = Roofline(bandwidth=1e9, flop_rate=1e15, launch_seconds=0.0)
    compute_bound = Roofline(bandwidth=1e15, flop_rate=1e9, launch_seconds=0.0)
    circuit = random_circuit(14, 80, seed=9)
    ops = lower_circuit(circuit).gate_ops
    few_passes = Fuser(FusionSettings()).fuse(ops, 14, memory_bound, 16)
    cheap_flops = Fuser(FusionSettings()).fuse(ops, 14, compute_bound, 16)
    assert len(few_passes) < len(cheap_flops)
    assert max(len(op.targets) for op in few_passes if op.kind is OpKind.DENSE) >= 4


def test_gpu_roofline_from_device_attributes() -> None:
    from qiskit_cupy.devices.gpu import _roofline

    attributes = {
        "MemoryClockRate": 2_619_000,  # kHz
        "GlobalMemoryBusWidth": 5120,  # bits
        "MultiProcessorCount": 132,
        "ClockRate": 1_980_000,  # kHz
        "SingleToDoublePrecisionPerfRatio": 2,
    }
    single, double = _roofline(attributes, "single"), _roofline(attributes, "double")
    assert single.bandwidth == double.bandwidth == 2 * 2_619_000e3 * 5120 / 8
    assert single.flop_rate == 2 * 128 * 132 * 1_980_000e3
    assert double.flop_rate == single.flop_rate / 2
    assert (single.block_bits, double.block_bits) == (12, 11)  # qc_apply_blocked_run's blocks

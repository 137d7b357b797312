"""pytest-benchmark suites for the two workloads of issue 3 that the circuit suites miss:
1,000 parameter sets of a 12-qubit, 4-layer hardware-efficient ansatz (1,024 shots each,
Aer with ``parameter_binds``), and the run-to-result latency of a tiny job (2 qubits,
1 gate, 1 shot). qiskit-cupy and Aer run in the same benchmark group, so the table shows
the ratio. Off by default; run them with::

    python -m pytest tests/benchmarks/test_bench_targets.py -o addopts=-ra \
        --benchmark-only --benchmark-group-by=group
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qiskit_cupy import CupySimulator

aer = pytest.importorskip("qiskit_aer", reason="Qiskit Aer is the peer of these benchmarks")

WIDTH, LAYERS, BINDINGS, SHOTS = 12, 4, 1000, 1024


def ansatz() -> tuple[QuantumCircuit, ParameterVector]:
    theta = ParameterVector("theta", 2 * WIDTH * LAYERS)
    circuit = QuantumCircuit(WIDTH)
    index = 0
    for _ in range(LAYERS):
        for qubit in range(WIDTH):
            circuit.ry(theta[index], qubit)
            circuit.rz(theta[index + 1], qubit)
            index += 2
        for qubit in range(WIDTH - 1):
            circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit, theta


def simulators() -> dict[str, object]:
    return {"cupy-cpu": CupySimulator(device="CPU"), "aer": aer.AerSimulator(method="statevector")}


@pytest.mark.parametrize("name", ["cupy-cpu", "aer"])
def test_parameter_sets(benchmark, name: str) -> None:
    circuit, theta = ansatz()
    values = np.random.default_rng(7).uniform(-np.pi, np.pi, size=(BINDINGS, len(theta)))
    binds = [{parameter: values[:, i].tolist() for i, parameter in enumerate(theta)}]
    backend = simulators()[name]
    benchmark.group = f"{BINDINGS} parameter sets, {WIDTH} qubits, {LAYERS} layers, {SHOTS} shots"

    def run() -> int:
        result = backend.run(circuit, shots=SHOTS, parameter_binds=binds, seed_simulator=1).result()
        return len(result.results)

    assert benchmark.pedantic(run, warmup_rounds=1, rounds=3, iterations=1) == BINDINGS


@pytest.mark.parametrize("name", ["cupy-cpu", "aer"])
def test_tiny_job_latency(benchmark, name: str) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.measure_all()
    backend = simulators()[name]
    benchmark.group = "tiny job: 2 qubits, 1 gate, 1 shot, run to counts"

    def run() -> dict:
        return backend.run(circuit, shots=1).result().get_counts()

    counts = benchmark.pedantic(run, warmup_rounds=20, rounds=300, iterations=1)
    assert sum(counts.values()) == 1

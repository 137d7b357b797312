"""pytest-benchmark suites of issue 14's noisy workloads, side by side with Qiskit Aer.

(a) 16 qubits, 10 layers of random ``u`` on every qubit and a CX chain, depolarizing
errors 1e-3 on ``u`` and 1e-2 on ``cx``, 2% symmetric readout error, 2,000 shots, as
trajectories: qiskit-cupy against Aer's statevector method by default and with
``shot_branching_enable`` and ``shot_branching_sampling_enable``. (b) the same circuit
on 10 qubits with ``method="density_matrix"`` against Aer's ``density_matrix``. Each
benchmark keeps the states qiskit-cupy kept alive in its ``extra_info``. Off by default;
run them with::

    python -m pytest tests/benchmarks/test_bench_noise.py -o addopts=-ra \
        --benchmark-only --benchmark-group-by=group

Medians move with the machine's load: compare ratios from one run.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit

from qiskit_cupy import CupySimulator

aer = pytest.importorskip("qiskit_aer", reason="Qiskit Aer is the peer of these benchmarks")

SHOTS, LAYERS = 2000, 10


def layered_circuit(width: int) -> QuantumCircuit:
    rng = np.random.default_rng(1)
    circuit = QuantumCircuit(width)
    for _ in range(LAYERS):
        for qubit in range(width):
            circuit.u(*rng.uniform(0, 2 * np.pi, 3), qubit)
        for qubit in range(width - 1):
            circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def noise_model() -> object:
    noise = aer.noise
    model = noise.NoiseModel()
    model.add_all_qubit_quantum_error(noise.depolarizing_error(1e-3, 1), ["u"])
    model.add_all_qubit_quantum_error(noise.depolarizing_error(1e-2, 2), ["cx"])
    model.add_all_qubit_readout_error(noise.ReadoutError([[0.98, 0.02], [0.02, 0.98]]))
    return model


SIMULATORS = {
    "cupy-cpu": lambda method: CupySimulator(device="CPU", method=method),
    "aer": lambda method: aer.AerSimulator(method=method),
    "aer-branching": lambda method: aer.AerSimulator(
        method=method, shot_branching_enable=True, shot_branching_sampling_enable=True
    ),
}


def _run(benchmark, name: str, method: str, width: int, rounds: int) -> None:
    circuit, model = layered_circuit(width), noise_model()
    backend = SIMULATORS[name](method)
    benchmark.group = f"noisy {method}: {width} qubits, {LAYERS} layers, {SHOTS} shots"

    def run() -> object:
        return backend.run(circuit, shots=SHOTS, noise_model=model, seed_simulator=1).result()

    result = benchmark.pedantic(run, rounds=rounds, iterations=1)
    assert sum(result.get_counts().values()) == SHOTS
    states = result.results[0].metadata.get("num_states")
    if states is not None:
        benchmark.extra_info["states_kept_alive"] = states


@pytest.mark.parametrize("name", ["cupy-cpu", "aer", "aer-branching"])
def test_noisy_trajectories(benchmark, name: str) -> None:
    _run(benchmark, name, "statevector", 16, rounds=1)


@pytest.mark.parametrize("name", ["cupy-cpu", "aer"])
def test_noisy_density_matrix(benchmark, name: str) -> None:
    _run(benchmark, name, "density_matrix", 10, rounds=3)

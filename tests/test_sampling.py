"""Sampling: counts follow the exact distribution; seeds make counts reproducible.

Statistical bound: every outcome's count c of N shots with exact probability p must
satisfy |c - N p| <= 6 sqrt(N p (1 - p)) + 3 (six standard deviations; with the fixed
seeds used here the outcome is deterministic, and a correct sampler fails this with
probability below 1e-8 per outcome for any seed).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import Statevector

from random_circuits import random_circuit


def assert_counts_follow(counts: dict[str, int], probabilities: dict[str, float], shots: int) -> None:
    assert sum(counts.values()) == shots
    for outcome in set(counts) | set(probabilities):
        p = probabilities.get(outcome, 0.0)
        c = counts.get(outcome, 0)
        assert abs(c - shots * p) <= 6 * np.sqrt(shots * p * (1 - p)) + 3, (outcome, c, shots * p)


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("seed", range(6))
def test_counts_of_a_measured_subset_follow_exact_probabilities(backend, precision: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    width = 3 + seed
    body = random_circuit(width, 4 * width, seed=seed + 500)
    measured = [int(q) for q in rng.permutation(width)[: max(1, width - 2)]]
    circuit = body.copy()
    register = ClassicalRegister(len(measured), "c")
    circuit.add_register(register)
    for clbit, qubit in enumerate(measured):
        circuit.measure(qubit, register[clbit])
    shots = 20_000
    counts = backend.run(circuit, shots=shots, precision=precision, seed_simulator=seed).result().get_counts()
    exact = Statevector(body).probabilities_dict(qargs=measured)
    assert_counts_follow(counts, exact, shots)


def test_zero_probability_outcomes_never_appear(backend) -> None:
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 2)
    circuit.measure_all()
    counts = backend.run(circuit, shots=10_000, seed_simulator=1).result().get_counts()
    assert set(counts) == {"000", "101"}


def test_same_seed_same_counts_whatever_else_the_job_holds(backend) -> None:
    target = random_circuit(7, 30, seed=77)
    target.measure_all()
    others = [random_circuit(n, 10, seed=n) for n in range(2, 9)]
    for other in others:
        other.measure_all()
    alone = backend.run(target, shots=2000, seed_simulator=123, memory=True).result()
    reference = alone.get_memory(0)
    for streams in (1, 3, 0):
        mixed = backend.run(
            others[:3] + [target] + others[3:],
            shots=2000,
            seed_simulator=123,
            memory=True,
            max_parallel_experiments=streams,
        ).result()
        assert mixed.get_memory(3) == reference
        assert mixed.get_counts(3) == alone.get_counts(0)


def test_different_seeds_give_different_samples(backend) -> None:
    circuit = QuantumCircuit(4)
    circuit.h(range(4))
    circuit.measure_all()
    first = backend.run(circuit, shots=100, seed_simulator=1, memory=True).result().get_memory()
    second = backend.run(circuit, shots=100, seed_simulator=2, memory=True).result().get_memory()
    assert first != second


def test_unseeded_jobs_differ_and_report_their_seed(backend) -> None:
    circuit = QuantumCircuit(4)
    circuit.h(range(4))
    circuit.measure_all()
    first = backend.run(circuit, shots=100, memory=True).result()
    second = backend.run(circuit, shots=100, memory=True).result()
    assert first.get_memory() != second.get_memory()
    replay = backend.run(
        circuit, shots=100, memory=True, seed_simulator=first.results[0].seed_simulator
    ).result()
    assert replay.get_memory() == first.get_memory()


def test_trailing_swaps_become_relabelings_with_the_same_distribution(backend) -> None:
    from qiskit_cupy.compiler.lowering import lower_circuit

    body = random_circuit(6, 24, seed=42)
    circuit = body.copy()
    circuit.swap(0, 5)
    circuit.swap(1, 3)
    circuit.swap(0, 3)
    measured = circuit.copy()
    measured.measure_all()
    assert len(lower_circuit(measured).gate_ops) == len(lower_circuit(body).gate_ops)
    shots = 20_000
    counts = backend.run(measured, shots=shots, seed_simulator=8).result().get_counts()
    assert_counts_follow(counts, Statevector(circuit).probabilities_dict(), shots)
    state = backend.run(circuit, save_statevector=True).result().get_statevector()
    np.testing.assert_allclose(state.data, Statevector(circuit).data, atol=1e-12)

"""The V2 primitives on this backend against Qiskit's exact statevector primitives.

Bounds: sampler counts within six standard deviations per outcome of the exact
distribution (see test_sampling.py), and the two samplers' counts within six standard
deviations of their difference; estimator values within six times the shot-noise standard
deviation of a Pauli mean, 6 / sqrt(shots) per unit of coefficient norm.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import efficient_su2
from qiskit.primitives import (
    BackendEstimatorV2,
    BackendSamplerV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.quantum_info import SparsePauliOp, Statevector

from test_sampling import assert_counts_follow


def ansatz() -> QuantumCircuit:
    return efficient_su2(4, reps=2)


def test_sampler_matches_statevector_sampler(backend) -> None:
    circuit = ansatz()
    circuit.measure_all()
    rng = np.random.default_rng(3)
    values = rng.uniform(-np.pi, np.pi, size=(3, circuit.num_parameters))
    shots = 8000
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 9, "default_shots": shots})
    result = sampler.run([(circuit, values)]).result()[0]
    reference = StatevectorSampler(seed=9).run([(circuit, values)], shots=shots).result()[0]
    for index in range(3):
        counts = result.data.meas.get_counts(index)
        bound = circuit.assign_parameters(values[index]).remove_final_measurements(inplace=False)
        exact = Statevector(bound).probabilities_dict()
        assert_counts_follow(counts, exact, shots)
        reference_counts = reference.data.meas.get_counts(index)
        for outcome, p in exact.items():
            difference = counts.get(outcome, 0) - reference_counts.get(outcome, 0)
            assert abs(difference) <= 6 * np.sqrt(2 * shots * p * (1 - p)) + 3, outcome


def test_estimator_matches_statevector_estimator(backend) -> None:
    circuit = ansatz()
    observables = [
        SparsePauliOp.from_list([("ZZII", 1.0), ("IXXI", 0.5)]),
        SparsePauliOp.from_list([("YIIY", 0.7), ("ZIII", -0.2)]),
    ]
    values = np.random.default_rng(4).uniform(-np.pi, np.pi, size=circuit.num_parameters)
    precision = 1 / 64
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 2})
    pubs = [(circuit, observable, values) for observable in observables]
    measured = estimator.run(pubs, precision=precision).result()
    exact = StatevectorEstimator().run(pubs).result()
    shots = int(np.ceil(1 / precision**2))
    for got, want, observable in zip(measured, exact, observables):
        tolerance = 6 * np.abs(observable.coeffs).sum() / np.sqrt(shots)
        assert abs(float(got.data.evs) - float(want.data.evs)) <= tolerance

"""EstimatorV2: exact expectation values on the device, no basis changes and no sampling.

Each PUB's circuit is lowered once with its parameters free; all of its parameter sets
run as one batch of states (one launch per op for the whole batch). Every observable of
the PUB is lowered to pieces (``compiler/observables.py``), equal pieces are evaluated
once and pieces of one X/Y pattern share one pass over each state; the values are
combined on the host and broadcast to the PUB's shape.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives.base import BaseEstimatorV2
from qiskit.primitives.containers import DataBin, EstimatorPubLike, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub

from qiskit_cupy.backend import MAX_BATCH_AMPLITUDES, CupySimulator
from qiskit_cupy.compiler.lowering import LoweredCircuit, MeasureTerminal
from qiskit_cupy.compiler.observables import EvaluateObservables, lower_observables
from qiskit_cupy.compiler.truncation import truncate_idle_qubits
from qiskit_cupy.errors import InvalidCircuitError
from qiskit_cupy.options import RunOptions
from qiskit_cupy.primitives.job import CupyPrimitiveJob
from qiskit_cupy.primitives.pubs import (
    NativePrimitive,
    check_precision,
    coerce_pubs,
    flat_parameter_values,
    lower_pub_circuit,
    pub_name,
    resolve_run_options,
)
from qiskit_cupy.runtime.executor import PendingRun
from qiskit_cupy.runtime.request import ExperimentRequest
from qiskit_cupy.runtime.results import pool_description

#: The label under which a request's observable sums are kept.
_SUMS = "observable sums"


@dataclass
class EstimatorOptions:
    """Options of :class:`EstimatorV2`, as Aer's ``EstimatorV2`` takes them.

    Attributes:
        default_precision: The precision of PUBs that give none, when ``run`` gives
            none: 0 gives exact values; above 0, each value gets Gaussian noise of that
            standard deviation (seeded by ``run_options["seed_simulator"]``).
        backend_options: Options of the CupySimulator the estimator makes (``device``,
            ``precision``...); with a given backend, they override its options.
        run_options: Options of each run (``seed_simulator``...), as ``run()`` takes them.
    """

    default_precision: float = 0.0
    backend_options: dict[str, Any] = field(default_factory=dict)
    run_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _PubPlan:
    """One PUB, lowered: its requests and how to turn their sums into its values."""

    pub: EstimatorPub
    evaluation: EvaluateObservables
    requests: list[ExperimentRequest]
    parameter_index: np.ndarray
    observable_index: np.ndarray


class EstimatorV2(NativePrimitive, BaseEstimatorV2):  # type: ignore[misc]  # qiskit is untyped: BaseEstimatorV2 is Any
    """The native estimator of qiskit-cupy.

    Args:
        backend: The simulator to run on; one is made from ``backend_options`` if None.
        options: :class:`EstimatorOptions` fields, as a dict.

    Raises:
        InvalidOptionError: An option is unknown or invalid.
    """

    def __init__(
        self, *, backend: CupySimulator | None = None, options: dict[str, Any] | None = None
    ) -> None:
        self._options = self._read_options(EstimatorOptions, options, backend, "estimator")
        check_precision(self._options.default_precision, "default_precision")
        resolve_run_options(self._backend, self._options.backend_options, self._options.run_options)

    @property
    def options(self) -> EstimatorOptions:
        """The estimator's options."""
        return self._options

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> CupyPrimitiveJob[PrimitiveResult[PubResult]]:
        """Estimate the expectation values of each PUB; return a submitted job at once.

        Args:
            pubs: Estimator PUBs: (circuit, observables, parameter values, precision).
            precision: The precision of PUBs that give none; the default precision if None.

        Raises:
            InvalidCircuitError: A PUB's circuit measures, resets or branches, or its
                parameter values or observable coefficients are not finite.
            InvalidOptionError: A precision is negative or not finite, or an option is invalid.
            InvalidPubError: Qiskit cannot coerce a PUB (shapes that do not broadcast...).
        """
        if precision is None:
            precision = self._options.default_precision
        check_precision(precision, "precision")
        pubs = list(pubs)
        for index, pub in enumerate(pubs):
            if isinstance(pub, tuple) and len(pub) == 4 and pub[3] is not None:
                check_precision(pub[3], f"the precision of PUB {index}")
        coerced = coerce_pubs(pubs, lambda pub: EstimatorPub.coerce(pub, precision))
        options = resolve_run_options(self._backend, self._options.backend_options, self._options.run_options)
        for index, pub in enumerate(coerced):
            check_precision(pub.precision, f"the precision of PUB {index}")
        plans = [_plan(index, pub) for index, pub in enumerate(coerced)]
        requests = [request for plan in plans for request in plan.requests]
        job = self._backend.submit_requests(requests, options, lambda run: _results(plans, run, options))
        return CupyPrimitiveJob(job)


def _plan(index: int, pub: EstimatorPub) -> _PubPlan:
    """Lower a PUB: its circuit with the observable evaluation at the end, its batches."""
    where = pub_name(index, pub.circuit)
    observables = pub.observables.sparse_observables_array()
    observed = {
        qubit
        for observable in observables.flat
        for _, qubits, _ in observable.to_sparse_list()
        for qubit in qubits
    }
    circuit, positions = truncate_idle_qubits(pub.circuit, observed)
    lowered = lower_pub_circuit(circuit, where)
    if lowered.measured_qubits or any(isinstance(step, MeasureTerminal) for step in lowered.steps):
        raise InvalidCircuitError(f"{where}: the estimator takes circuits without measurements")
    evaluation = EvaluateObservables(_SUMS, lower_observables(observables.ravel(), positions, where))
    lowered = dataclasses.replace(lowered, steps=[*lowered.steps, evaluation])
    values = flat_parameter_values(circuit, pub.parameter_values, where)
    sets = math.prod(pub.parameter_values.shape) if values else 1
    shape = np.broadcast_shapes(pub.parameter_values.shape, observables.shape)
    parameter_index = np.arange(sets).reshape(pub.parameter_values.shape if values else ())
    observable_index = np.arange(observables.size).reshape(observables.shape)
    return _PubPlan(
        pub,
        evaluation,
        _batches(circuit, lowered, values, sets),
        np.broadcast_to(parameter_index, shape),
        np.broadcast_to(observable_index, shape),
    )


def _batches(
    circuit: QuantumCircuit, lowered: LoweredCircuit, values: dict[Parameter, np.ndarray] | None, sets: int
) -> list[ExperimentRequest]:
    """One request per batch of parameter sets (all of them unless the states are large)."""
    step = max(1, MAX_BATCH_AMPLITUDES >> circuit.num_qubits)
    requests = []
    for start in range(0, sets, step):
        stop = min(sets, start + step)
        batch_values = (
            None if values is None else {parameter: array[start:stop] for parameter, array in values.items()}
        )
        requests.append(ExperimentRequest(circuit, 1, (0,) * (stop - start), lowered, False, batch_values))
    return requests


def _results(plans: Sequence[_PubPlan], run: PendingRun, options: RunOptions) -> PrimitiveResult:
    """Turn the completed run's sums into each PUB's values (with noise if asked)."""
    results = []
    experiments = iter(run.experiments)
    for index, plan in enumerate(plans):
        sums = []
        num_ops = 0
        batch = sum(request.batch for request in plan.requests)
        while batch:  # the parts of the PUB's requests, in order
            experiment = next(experiments)
            batch -= experiment.request.batch
            num_ops = experiment.num_ops
            copies = [copy.array for label, copy in experiment.saved_states if label == _SUMS]
            sums.append(np.concatenate(copies) if copies else np.zeros((0, experiment.request.batch, 2)))
        pieces = plan.evaluation.pieces
        values = pieces.values(np.concatenate(sums, axis=1) if sums else np.zeros((len(pieces.pieces), 0, 2)))
        evs = values[plan.observable_index, plan.parameter_index]
        precision = plan.pub.precision
        stds = np.full(evs.shape, float(precision))
        if precision > 0:
            seed = None if options.seed_simulator is None else [options.seed_simulator, index]
            evs = np.asarray(np.random.default_rng(seed).normal(evs, precision, size=evs.shape))
        metadata = {
            "target_precision": precision,
            "circuit_metadata": plan.pub.circuit.metadata,
            "simulator_metadata": {
                "device": pool_description(run.devices)[0],
                "precision": run.precision,
                "num_ops": num_ops,
                "num_pieces": len(pieces.pieces),
                "num_passes": len(pieces.passes),
            },
        }
        results.append(PubResult(DataBin(evs=evs, stds=stds, shape=evs.shape), metadata=metadata))
    return PrimitiveResult(results, metadata={"version": 2})

"""Building a ``qiskit.result.Result`` from a finished run."""

from __future__ import annotations

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from qiskit_cupy.executor import PendingExperiment, PendingRun


def clbit_value(outcome: int, clbit_sources: dict[int, int]) -> int:
    """Return the classical register value a sampled outcome writes.

    Args:
        outcome: Sampled outcome; bit t is the value of the t-th measured qubit.
        clbit_sources: Measured clbit -> index of the measured qubit it holds.

    Returns:
        The integer whose bit c is clbit c.
    """
    value = 0
    for clbit, source in clbit_sources.items():
        value |= ((outcome >> source) & 1) << clbit
    return value


def measurement_data(outcomes: np.ndarray, clbit_sources: dict[int, int], memory: bool) -> dict:
    """Turn sampled outcomes into hex counts and, if asked, hex per-shot memory.

    Args:
        outcomes: int64 sampled outcomes, one per shot.
        clbit_sources: Measured clbit -> index of the measured qubit it holds.
        memory: Also return the per-shot list.

    Returns:
        ``{"counts": {...}}``, with ``"memory": [...]`` when asked.
    """
    distinct, inverse, frequency = np.unique(outcomes, return_inverse=True, return_counts=True)
    labels = [hex(clbit_value(int(outcome), clbit_sources)) for outcome in distinct]
    counts: dict[str, int] = {}
    for label, count in zip(labels, frequency):
        counts[label] = counts.get(label, 0) + int(count)
    data: dict = {"counts": counts}
    if memory:
        data["memory"] = [labels[index] for index in inverse.ravel()]
    return data


def circuit_header(circuit: QuantumCircuit) -> dict:
    """Return the experiment header ``Result`` uses to format counts and memory."""
    return {
        "name": circuit.name,
        "n_qubits": circuit.num_qubits,
        "qreg_sizes": [[qreg.name, qreg.size] for qreg in circuit.qregs],
        "creg_sizes": [[creg.name, creg.size] for creg in circuit.cregs],
        "qubit_labels": [[qreg.name, j] for qreg in circuit.qregs for j in range(qreg.size)],
        "clbit_labels": [[creg.name, j] for creg in circuit.cregs for j in range(creg.size)],
        "memory_slots": circuit.num_clbits,
        "global_phase": float(circuit.global_phase),
        "metadata": circuit.metadata if circuit.metadata is not None else {},
    }


def experiment_result(experiment: PendingExperiment, run: PendingRun, memory: bool) -> ExperimentResult:
    """Build one experiment's result; its stream must have passed its end event."""
    request, lowered = experiment.request, experiment.lowered
    data: dict = {}
    if experiment.outcomes is not None:
        data.update(measurement_data(experiment.outcomes.array, lowered.clbit_sources, memory))
    for label, copy in experiment.saved_states:
        data[label] = Statevector(np.asarray(copy.array, dtype=np.complex128))
    return ExperimentResult(
        shots=request.shots,
        success=True,
        data=ExperimentResultData(**data),
        status="DONE",
        seed_simulator=request.seed,
        header=circuit_header(request.circuit),
        time_taken=experiment.end.elapsed_since(experiment.start),
        metadata={
            "device": run.device.name,
            "device_description": run.device.description,
            "precision": run.precision,
            "method": "statevector",
            "num_qubits": lowered.num_qubits,
            "num_ops": experiment.num_ops,
            "measured_qubits": list(lowered.measured_qubits),
        },
    )


def build_result(
    backend_name: str, backend_version: str, job_id: str, run: PendingRun, memory: bool
) -> Result:
    """Build the Result of a run whose event has completed.

    Args:
        backend_name: The backend's name.
        backend_version: The backend's version.
        job_id: The job's identifier.
        run: The completed run.
        memory: Include per-shot memory.

    Returns:
        The Result, one ExperimentResult per circuit, in input order.
    """
    results = [experiment_result(experiment, run, memory) for experiment in run.experiments]
    first = run.experiments[0].start
    return Result(
        backend_name=backend_name,
        backend_version=backend_version,
        job_id=job_id,
        success=True,
        results=results,
        status="COMPLETED",
        time_taken=run.event.elapsed_since(first),
        metadata={
            "device": run.device.name,
            "device_description": run.device.description,
            "precision": run.precision,
        },
    )

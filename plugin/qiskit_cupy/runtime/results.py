"""Building a ``qiskit.result.Result`` from a finished run."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Statevector
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.lowering import LoweredCircuit
from qiskit_cupy.compiler.parametric import evaluate_expressions
from qiskit_cupy.devices.base import Device
from qiskit_cupy.runtime.executor import PendingExperiment, PendingRun
from qiskit_cupy.runtime.saved_data import saved_values
from qiskit_cupy.runtime.trajectories import ChunkRecord


def clbit_values(outcomes: np.ndarray, clbit_sources: dict[int, int]) -> list[int]:
    """Return the classical register value each sampled outcome writes.

    Args:
        outcomes: Sampled outcomes.
        clbit_sources: Measured clbit -> the outcome bit it holds.

    Returns:
        For each outcome, the integer whose bit c is clbit c.
    """
    values = _register_array(outcomes, clbit_sources)
    if values is None:
        return _register_values([int(outcome) for outcome in outcomes], clbit_sources)
    register_values: list[int] = values.tolist()
    return register_values


def _register_array(outcomes: np.ndarray, clbit_sources: dict[int, int]) -> NDArray[np.int64] | None:
    """:func:`clbit_values` as an int64 array; None where a clbit past 62 needs Python ints."""
    if clbit_sources and max(clbit_sources) >= 63:
        return None
    if all(clbit == source for clbit, source in clbit_sources.items()) and len(clbit_sources) == (
        max(clbit_sources, default=-1) + 1
    ):
        # Clbit c holds outcome bit c for every clbit: the values are the outcomes' low bits.
        return np.asarray(outcomes, dtype=np.int64) & ((1 << len(clbit_sources)) - 1)
    values = np.zeros(len(outcomes), dtype=np.int64)
    for clbit, source in clbit_sources.items():
        values |= ((outcomes >> source) & 1) << clbit
    return values


def measurement_data(
    outcomes: np.ndarray, clbit_sources: dict[int, int] | None, memory: bool
) -> dict[str, Any]:
    """Turn sampled outcomes into hex counts and, if asked, hex per-shot memory.

    Counts are keyed in ascending register value, memory is in shot order.

    Args:
        outcomes: int64 sampled outcomes, one per shot; or, with ``clbit_sources``
            None, each shot's register value already (Python ints past 62 clbits).
        clbit_sources: Measured clbit -> the outcome bit it holds.
        memory: Also return the per-shot list.

    Returns:
        ``{"counts": {...}}``, with ``"memory": [...]`` when asked.
    """
    if len(outcomes) <= FEW_SHOTS:
        shots = outcomes.tolist()
        values = shots if clbit_sources is None else _register_values(shots, clbit_sources)
        return _tally(values, memory)
    array = np.asarray(outcomes) if clbit_sources is None else _register_array(outcomes, clbit_sources)
    if array is None or array.dtype.kind not in "iu":
        values = list(outcomes) if clbit_sources is None else clbit_values(outcomes, clbit_sources)
        return _tally(values, memory)
    if int(array.max()) < (1 << LABEL_TABLE_BITS):
        # Few possible values: one bincount, labels from the table.
        frequency = np.bincount(array)
        distinct = np.flatnonzero(frequency)
        labels = _hex_labels()
        counts = dict(zip([labels[value] for value in distinct.tolist()], frequency[distinct].tolist()))
        data: dict[str, Any] = {"counts": counts}
        if memory:
            data["memory"] = [labels[value] for value in array.tolist()]
        return data
    found, where, tally = np.unique(array, return_inverse=True, return_counts=True)
    names = [hex(value) for value in found.tolist()]
    data = {"counts": dict(zip(names, tally.tolist()))}
    if memory:
        data["memory"] = [names[index] for index in where.ravel().tolist()]
    return data


#: Up to this many shots, outcomes are tallied in Python: numpy's setup costs more than
#: the tally below some hundreds of shots. Every path gives the same counts, in the same
#: (ascending value) order, and the same memory.
FEW_SHOTS = 128

#: Register values below 2**LABEL_TABLE_BITS take their hex label from a table.
LABEL_TABLE_BITS = 16


@functools.cache
def _hex_labels() -> list[str]:
    """``hex(value)`` of every value below 2**LABEL_TABLE_BITS, built on first use."""
    return [hex(value) for value in range(1 << LABEL_TABLE_BITS)]


def _tally(values: list[int], memory: bool) -> dict[str, Any]:
    """Counts (and memory) of a few register values, in Python."""
    distinct = sorted(set(values))
    labels = {value: hex(value) for value in distinct}
    counts = dict.fromkeys(labels.values(), 0)
    for value in values:
        counts[labels[value]] += 1
    data: dict[str, Any] = {"counts": counts}
    if memory:
        data["memory"] = [labels[value] for value in values]
    return data


def _register_values(outcomes: list[int], clbit_sources: dict[int, int]) -> list[int]:
    """:func:`clbit_values` of a few outcomes, in Python."""
    return [
        sum(((outcome >> source) & 1) << clbit for clbit, source in clbit_sources.items())
        for outcome in outcomes
    ]


def trajectory_register_values(program: DynamicCircuit, chunks: list[ChunkRecord]) -> np.ndarray:
    """Each shot's classical register value, in shot order, from its chunk's host copies.

    A clbit that the trailing measurements write takes its bit of the shot's final
    outcome; every other clbit is its slot in the row of the shot's branch.

    Returns:
        int64 values, or Python ints (object array) for 63 clbits or more.
    """
    wide = program.num_clbits >= 63
    parts: list[np.ndarray] = []
    for chunk in chunks:
        rows = chunk.rows.array.reshape(-1, program.row_width)[chunk.shot_states]
        final = chunk.outcomes.array if chunk.outcomes is not None else None
        bits: list[NDArray[np.int64]] = [
            (cast(NDArray[np.int64], final) >> program.final_clbits[clbit]) & 1  # final clbits were drawn
            if clbit in program.final_clbits
            else rows[:, program.clbit_slot(clbit)]
            for clbit in range(program.num_clbits)
        ]
        if wide:
            parts.append(
                np.array(
                    [
                        sum(int(bit[shot]) << clbit for clbit, bit in enumerate(bits))
                        for shot in range(len(chunk.shot_numbers))
                    ],
                    dtype=object,
                )
            )
        else:
            value = np.zeros(len(chunk.shot_numbers), dtype=np.int64)
            for clbit, bit in enumerate(bits):
                value |= (bit.astype(np.int64) & 1) << clbit
            parts.append(value)
    return np.concatenate(parts)


def _trajectory_data(program: DynamicCircuit, chunks: list[ChunkRecord], memory: bool) -> dict[str, Any]:
    """Counts (and memory) and saved data of a dynamic circuit's shots, chunk by chunk."""
    data: dict[str, Any] = {}
    if program.num_clbits:
        values = trajectory_register_values(program, chunks)
        data.update(measurement_data(values, None, memory))
    if chunks[0].saves:
        data.update(
            saved_values(
                [chunk.saves for chunk in chunks],
                program.num_qubits,
                program.row_width,
                [program.clbit_slot(clbit) for clbit in range(program.num_clbits)],
            )
        )
    return data


def circuit_header(circuit: QuantumCircuit, global_phase: float) -> dict[str, Any]:
    """Return the experiment header ``Result`` uses to format counts and memory."""
    return {
        "name": circuit.name,
        "n_qubits": circuit.num_qubits,
        "qreg_sizes": [[qreg.name, qreg.size] for qreg in circuit.qregs],
        "creg_sizes": [[creg.name, creg.size] for creg in circuit.cregs],
        "qubit_labels": [[qreg.name, j] for qreg in circuit.qregs for j in range(qreg.size)],
        "clbit_labels": [[creg.name, j] for creg in circuit.cregs for j in range(creg.size)],
        "memory_slots": circuit.num_clbits,
        "global_phase": global_phase,
        "metadata": circuit.metadata if circuit.metadata is not None else {},
    }


def _groups(run: PendingRun) -> list[list[PendingExperiment]]:
    """The run's parts, grouped into what each yields results from: a trajectory
    circuit's shot ranges together (one result), every other part alone (its batch)."""
    groups: list[list[PendingExperiment]] = []
    for experiment in run.experiments:
        previous = groups[-1][0] if groups else None
        if (
            previous is not None
            and previous.index == experiment.index
            and isinstance(experiment.lowered, DynamicCircuit)
        ):
            groups[-1].append(experiment)
        else:
            groups.append([experiment])
    return groups


def pool_description(devices: list[Device]) -> tuple[str, str]:
    """The ``device`` and ``device_description`` metadata of work on these devices."""
    names = list(dict.fromkeys(device.name for device in devices))
    descriptions = list(dict.fromkeys(device.description for device in devices))
    return "+".join(names), "; ".join(descriptions)


def _aer_metadata(
    lowered: LoweredCircuit | DynamicCircuit, metadata: Mapping[str, Any], options_metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """The metadata Aer users read, under Aer's keys: whether the shots were sampled from
    one final state, what noise was simulated, and the options' own keys."""
    dynamic = isinstance(lowered, DynamicCircuit)
    if isinstance(lowered, DynamicCircuit):
        noise = "circuit" if lowered.draws_noise else "ideal"
    else:
        noise = lowered.noise
    extra: dict[str, Any] = {"measure_sampling": not dynamic, "noise": noise}
    for key, value in options_metadata.items():
        if key == "fusion":
            fusion = {name: entry for name, entry in value.items() if name != "verbose"}
            fusion["applied"] = bool(value["enabled"]) and (
                dynamic or metadata["num_qubits"] >= value["threshold"]
            )
            if value["verbose"]:
                fusion.update(output_ops=metadata["num_ops"], passes=metadata["passes"])
            extra[key] = fusion
        else:
            extra[key] = value
    return extra


def _saved_state(amplitudes: np.ndarray, lowered: LoweredCircuit | DynamicCircuit) -> Any:
    """A saved state as the result shows it: a Statevector, or for a density-matrix
    program a DensityMatrix (amplitude r + (c << n) is rho[r, c])."""
    if isinstance(lowered, LoweredCircuit) and lowered.method == "density_matrix":
        dimension = 1 << (lowered.num_qubits // 2)
        return DensityMatrix(amplitudes.reshape(dimension, dimension).T)
    return Statevector(amplitudes)


def _trajectory_metadata(shot_branching: bool, chunks: list[ChunkRecord]) -> dict[str, Any]:
    """What a trajectory circuit's result reports of how its shots ran."""
    return {
        "shot_branching_enable": shot_branching,
        "num_states": max(chunk.num_states for chunk in chunks),
        "num_chunks": len(chunks),
    }


def experiment_results(
    parts: list[PendingExperiment],
    run: PendingRun,
    memory: bool,
    options_metadata: Mapping[str, Any] | None = None,
) -> list[ExperimentResult]:
    """Build the results of one experiment's parts, one per batch entry.

    ``parts`` is one part of a static circuit, or every shot range of a trajectory
    circuit, in shot order. Each part's stream must have passed its end event. Entries
    of a batch share its kernel launches, so each reports the batch's device time.
    """
    experiment = parts[0]
    request, lowered = experiment.request, experiment.lowered
    size = 1 << lowered.num_qubits
    seconds = max(part.end.elapsed_since(part.start) for part in parts)
    values = request.parameter_values
    phases = (
        [float(request.circuit.global_phase)]  # a bound circuit: its one phase
        if values is None
        else evaluate_expressions([request.circuit.global_phase], values, request.batch)[:, 0]
    )
    device, description = pool_description([part.device for part in parts])
    chunks = [chunk for part in parts for chunk in part.chunks]
    shots = sum(part.request.shots for part in parts)
    # Each parameter's values as Python floats, converted once for every entry.
    bound = {
        parameter.name: np.asarray(column, dtype=float).tolist()
        for parameter, column in (values or {}).items()
    }
    results = []
    for entry, seed in enumerate(request.seeds):
        data: dict[str, Any] = {}
        if isinstance(lowered, DynamicCircuit):
            data.update(_trajectory_data(lowered, chunks, memory))
        elif experiment.outcomes is not None:
            outcomes = experiment.outcomes.array[entry]
            data.update(measurement_data(outcomes, experiment.clbit_bits, memory))
        for label, copy in experiment.saved_states:
            amplitudes = copy.array[entry * size : (entry + 1) * size]
            data[label] = _saved_state(np.asarray(amplitudes, dtype=np.complex128), lowered)
        metadata = {
            "device": device,
            "device_description": description,
            "precision": run.precision,
            "method": "statevector" if isinstance(lowered, DynamicCircuit) else lowered.method,
            "num_qubits": request.circuit.num_qubits,
            "num_ops": sum(part.num_ops for part in parts),
            "passes": sum(part.num_passes for part in parts),
            "measured_qubits": list(lowered.measured_qubits),
            "batch_size": request.batch,
        }
        if isinstance(lowered, DynamicCircuit):
            metadata.update(_trajectory_metadata(request.shot_branching, chunks))
        metadata.update(_aer_metadata(lowered, metadata, options_metadata or {}))
        if values is not None:
            metadata["parameter_binds"] = {name: column[entry] for name, column in bound.items()}
        results.append(
            ExperimentResult(
                shots=shots,
                success=True,
                data=ExperimentResultData(**data),
                status="DONE",
                seed_simulator=seed,
                header=circuit_header(request.circuit, float(phases[entry])),
                time_taken=seconds,
                metadata=metadata,
            )
        )
    return results


def build_result(
    backend_name: str,
    backend_version: str,
    job_id: str,
    run: PendingRun,
    memory: bool,
    options_metadata: Mapping[str, Any] | None = None,
) -> Result:
    """Build the Result of a run whose event has completed.

    Args:
        backend_name: The backend's name.
        backend_version: The backend's version.
        job_id: The job's identifier.
        run: The completed run.
        memory: Include per-shot memory.
        options_metadata: What each experiment's metadata says of the run options
            (``RunOptions.result_metadata``), if anything.

    Returns:
        The Result, one ExperimentResult per circuit and parameter binding, in input
        order.
    """
    results = [
        result
        for parts in _groups(run)
        for result in experiment_results(parts, run, memory, options_metadata or {})
    ]
    device, description = pool_description(run.devices)
    return Result(
        backend_name=backend_name,
        backend_version=backend_version,
        job_id=job_id,
        success=True,
        results=results,
        status="COMPLETED",
        time_taken=run.seconds(),
        metadata={
            "device": device,
            "device_description": description,
            "precision": run.precision,
            "num_devices": len(run.devices),
        },
    )

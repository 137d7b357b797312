"""Sub-jobs: a job cut by ``max_job_size`` and ``max_shot_size`` into plain-data pieces.

A sub-job is what a worker needs and nothing more: its circuits as QPY bytes (with the
data subtype of each Aer save instruction, which QPY does not carry), its slice of
``parameter_binds``, the validated options that say how to run, and the seed of each
experiment, derived on the client as ``run()`` derives them, so that a worker computes
exactly what the same experiments compute in one process. A trajectory circuit's shots
may be cut into ranges (``first_shot``, ``shots``): each shot's draws are keyed by its
number, so the merged counts and memory are those of the whole run.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from qiskit import qpy
from qiskit.circuit import QuantumCircuit
from qiskit.result.models import ExperimentResult

from qiskit_cupy.compiler.channels import portable_channels
from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.options import RunOptions, option_names
from qiskit_cupy.runtime.request import ExperimentRequest

#: Options a sub-job does not take from the client: where and how the job is split,
#: and what the worker decides for itself (its own GPUs) or the sub-job carries.
CLIENT_OPTIONS = (
    "executor",
    "max_job_size",
    "max_shot_size",
    "target_gpus",
    "parameter_binds",
    "seed_simulator",
)


@dataclass(frozen=True)
class Piece:
    """One experiment of a sub-job, or a range of its shots.

    Attributes:
        circuit: Index of its circuit among the sub-job's circuits.
        entry: Its parameter set (an index into the sub-job's binds of the circuit),
            or None for an unbound circuit.
        seed: Its sampler's seed.
        first_shot: Its first shot (a range of a trajectory circuit's shots).
        shots: Its shots.
    """

    circuit: int
    entry: int | None
    seed: int
    first_shot: int
    shots: int


@dataclass(frozen=True)
class SubJob:
    """Everything a worker needs to run part of a job, as plain data.

    Attributes:
        number: Its position among the job's sub-jobs.
        qpy: Its circuits, QPY-serialised.
        subtypes: For each circuit, the data subtype of each save instruction, by the
            path of the instruction (indices through control-flow blocks).
        binds: For each circuit, its parameter values (name to list), or None.
        options: The validated run options, less ``CLIENT_OPTIONS``.
        pieces: Its experiments, in job order.
        first_experiment: The job position of its first experiment.
        pricing: The client's roofline: the worker fuses with it, so that every
            worker's results are those of a run on the client.
    """

    number: int
    qpy: bytes
    subtypes: list[dict[tuple[int, ...], str]]
    binds: list[dict[str, list[float]] | None]
    options: dict[str, Any]
    pieces: list[Piece] = field(default_factory=list)
    first_experiment: int = 0
    pricing: Roofline | None = None

    def describe(self) -> str:
        """Name the sub-job and what it holds, for messages."""
        piece, first = self.pieces[0], self.first_experiment
        if piece.shots:
            last_shot = piece.first_shot + piece.shots - 1
            return f"sub-job {self.number} (experiment {first}, shots {piece.first_shot} to {last_shot})"
        return f"sub-job {self.number} (experiments {first} to {first + len(self.pieces) - 1})"


def save_subtypes(circuit: QuantumCircuit, path: tuple[int, ...] = ()) -> dict[tuple[int, ...], str]:
    """The ``_subtype`` of every Aer save instruction, by path, through control flow."""
    found = {}
    for index, instruction in enumerate(circuit.data):
        operation = instruction.operation
        if hasattr(operation, "_subtype"):
            found[path + (index,)] = operation._subtype
        for block_index, block in enumerate(getattr(operation, "blocks", ())):
            found.update(save_subtypes(block, path + (index, block_index)))
    return found


def restore_subtypes(circuit: QuantumCircuit, subtypes: dict[tuple[int, ...], str]) -> None:
    """Put back the save subtypes that QPY dropped (see :func:`save_subtypes`)."""
    for path, subtype in subtypes.items():
        target = circuit
        for index, block_index in zip(path[:-1:2], path[1::2]):
            target = target.data[index].operation.blocks[block_index]
        target.data[path[-1]].operation._subtype = subtype


@dataclass(frozen=True)
class _Item:
    """One experiment (or shot range) of the job, before it is packed into a sub-job."""

    circuit: QuantumCircuit
    values: dict[str, float] | None
    seed: int
    first_shot: int = 0
    shots: int = 0


def _items(requests: Sequence[ExperimentRequest], options: RunOptions) -> Iterator[list[_Item]]:
    """Each experiment of the job, as one item, or as its shot ranges (a trajectory
    circuit past ``max_shot_size`` that saves nothing but counts and memory)."""
    shot_size = options.max_shot_size
    for request in requests:
        values = request.parameter_values
        splits = (
            isinstance(request.lowered, DynamicCircuit)
            and shot_size is not None
            and request.shots > shot_size
            and not options.save_statevector
            and not save_subtypes(request.circuit)
        )
        for entry, seed in enumerate(request.seeds):
            one = (
                None
                if values is None
                else {parameter.name: float(array[entry]) for parameter, array in values.items()}
            )
            if not splits:
                yield [_Item(request.circuit, one, seed)]
                continue
            assert shot_size is not None  # a request splits only under a max_shot_size
            yield [
                _Item(request.circuit, one, seed, first, min(shot_size, request.shots - first))
                for first in range(0, request.shots, shot_size)
            ]


def split_job(
    requests: Sequence[ExperimentRequest], options: RunOptions, pricing: Roofline | None = None
) -> list[SubJob]:
    """Cut a checked, lowered job into sub-jobs of at most ``max_job_size`` experiments,
    each shot range of a trajectory circuit (``max_shot_size``) a sub-job of its own.

    Args:
        requests: The job's requests, as ``prepare_requests`` built them (seeds set).
        options: The validated run options.
        pricing: The client's roofline, which every sub-job fuses with.

    Returns:
        The sub-jobs, in job order.
    """
    shipped = {name: getattr(options, name) for name in option_names() if name not in CLIENT_OPTIONS}
    shipped["progress"] = False  # the client's job shows the bar, over its sub-jobs
    groups: list[tuple[int, list[_Item]]] = []
    current: list[_Item] = []
    first = 0
    for position, items in enumerate(_items(requests, options)):
        full = options.max_job_size is not None and len(current) >= options.max_job_size
        if current and (len(items) > 1 or full):
            groups.append((first, current))
            current = []
        if len(items) > 1:
            groups.extend((position, [item]) for item in items)
            continue
        if not current:
            first = position
        current.extend(items)
    if current:
        groups.append((first, current))
    return [
        dataclasses.replace(_sub_job(number, first, items, shipped), pricing=pricing)
        for number, (first, items) in enumerate(groups)
    ]


def _sub_job(number: int, first: int, items: list[_Item], shipped: dict[str, Any]) -> SubJob:
    """Pack items into a sub-job: each distinct circuit once, its parameter sets as binds."""
    circuits: list[QuantumCircuit] = []
    binds: list[dict[str, list[float]] | None] = []
    pieces = []
    for item in items:
        if not circuits or circuits[-1] is not item.circuit:
            circuits.append(item.circuit)
            binds.append(None if item.values is None else {name: [] for name in item.values})
        bound, entry = binds[-1], None
        if bound is not None and item.values is not None:
            entry = len(next(iter(bound.values()), []))
            for name, value in item.values.items():
                bound[name].append(value)
        pieces.append(Piece(len(circuits) - 1, entry, item.seed, item.first_shot, item.shots))
    buffer = io.BytesIO()
    qpy.dump([portable_channels(circuit) for circuit in circuits], buffer)
    return SubJob(
        number,
        buffer.getvalue(),
        [save_subtypes(circuit) for circuit in circuits],
        binds,
        shipped,
        pieces,
        first,
    )


def merge_shot_ranges(results: Sequence[ExperimentResult]) -> ExperimentResult:
    """Merge the results of one experiment's shot ranges, in shot order: counts add,
    memory concatenates, shots add."""
    first = results[0]
    counts: dict[str, int] = {}
    memory: list[str] = []
    for result in results:
        for key, value in getattr(result.data, "counts", {}).items():
            counts[key] = counts.get(key, 0) + value
        memory.extend(getattr(result.data, "memory", []))
    data = first.data.to_dict()
    if "counts" in data:
        data["counts"] = counts
    if "memory" in data:
        data["memory"] = memory
    merged = ExperimentResult.from_dict({**first.to_dict(), "data": data})
    merged.shots = sum(result.shots for result in results)
    merged.time_taken = max(result.time_taken for result in results)
    return merged

"""SamplerV2: each PUB's shots on the backend's own shot engine, as BitArrays.

All parameter sets of a PUB run as one batch of states (a dynamic circuit, with
mid-circuit measurements, resets or control flow, runs as trajectories, once per set),
and all PUBs of a call as one backend job, so that its status comes from the device.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives.base import BaseSamplerV2
from qiskit.primitives.containers import (
    BitArray,
    DataBin,
    PrimitiveResult,
    SamplerPubLike,
    SamplerPubResult,
)
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.result import Result

from qiskit_cupy.backend import CupySimulator
from qiskit_cupy.compiler.truncation import truncate_idle_qubits
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.options import MAX_SEED, RunOptions
from qiskit_cupy.primitives.job import CupyPrimitiveJob
from qiskit_cupy.primitives.pubs import (
    NativePrimitive,
    coerce_pubs,
    flat_parameter_values,
    pub_name,
    resolve_run_options,
)
from qiskit_cupy.runtime.executor import PendingRun
from qiskit_cupy.runtime.request import ExperimentRequest
from qiskit_cupy.runtime.results import build_result


@dataclass
class SamplerOptions:
    """Options of :class:`SamplerV2` besides ``default_shots`` and ``seed``, as Aer's.

    Attributes:
        backend_options: Options of the CupySimulator the sampler makes (``device``,
            ``precision``...); with a given backend, they override its options.
        run_options: Options of each run, as ``run()`` takes them.
    """

    backend_options: dict[str, Any] = field(default_factory=dict)
    run_options: dict[str, Any] = field(default_factory=dict)


class SamplerV2(NativePrimitive, BaseSamplerV2):  # type: ignore[misc]  # qiskit is untyped: BaseSamplerV2 is Any
    """The native sampler of qiskit-cupy.

    Args:
        backend: The simulator to run on; one is made from ``backend_options`` if None.
        default_shots: The shots of PUBs that give none, when ``run`` gives none.
        seed: Seed of the shots (the backend's ``seed_simulator``), or a NumPy Generator
            that draws each job's seed (as Qiskit's StatevectorSampler takes); None draws
            one per job.
        options: :class:`SamplerOptions` fields, as a dict.

    Raises:
        InvalidOptionError: An option is unknown or invalid.
    """

    def __init__(
        self,
        *,
        backend: CupySimulator | None = None,
        default_shots: int = 1024,
        seed: int | np.random.Generator | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self._options = self._read_options(SamplerOptions, options, backend, "sampler")
        self._seed = seed
        self._default_shots = default_shots
        self._run_options(default_shots)

    @property
    def options(self) -> SamplerOptions:
        """The sampler's options."""
        return self._options

    @property
    def default_shots(self) -> int:
        """The shots of PUBs that give none."""
        return self._default_shots

    @property
    def seed(self) -> int | np.random.Generator | None:
        """The seed of the shots."""
        return self._seed

    def run(
        self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None
    ) -> CupyPrimitiveJob[PrimitiveResult[SamplerPubResult]]:
        """Sample each PUB; return a submitted job at once.

        Args:
            pubs: Sampler PUBs: (circuit, parameter values, shots).
            shots: The shots of PUBs that give none; the default shots if None.

        Raises:
            InvalidCircuitError: A PUB's circuit cannot run or its parameter values are
                not finite; the PUB is named.
            InvalidOptionError: An option is invalid.
            InvalidPubError: Qiskit cannot coerce a PUB (shots below 1...).
        """
        shots = self._default_shots if shots is None else shots
        coerced = coerce_pubs(pubs, lambda pub: SamplerPub.coerce(pub, shots))
        requests: list[ExperimentRequest] = []
        sizes = []
        for index, pub in enumerate(coerced):
            if not pub.circuit.cregs:
                warnings.warn(
                    f"{pub_name(index, pub.circuit)} has no classical registers, so its result "
                    "is empty; did you mean to add measurements?",
                    UserWarning,
                    stacklevel=2,
                )
            pub_requests = _pub_requests(self._backend, self._run_options(pub.shots), index, pub)
            requests.extend(pub_requests)
            sizes.append(sum(request.batch for request in pub_requests))
        options = self._run_options(shots)
        backend = self._backend

        def results(run: PendingRun) -> PrimitiveResult:
            raw = build_result(backend.name, backend.backend_version, "", run, memory=True)
            return _pub_results(coerced, sizes, raw)

        return CupyPrimitiveJob(self._backend.submit_requests(requests, options, results))

    def _run_options(self, shots: int) -> RunOptions:
        """The run options of PUBs of ``shots`` shots, validated."""
        seed: dict[str, int] = {}
        if isinstance(self._seed, np.random.Generator):
            seed["seed_simulator"] = int(self._seed.integers(MAX_SEED, dtype=np.uint64))
        elif self._seed is not None:
            seed["seed_simulator"] = self._seed
        return resolve_run_options(
            self._backend,
            self._options.backend_options,
            self._options.run_options,
            shots=shots,
            memory=True,
            **seed,
        )


def _pub_requests(
    backend: CupySimulator, options: RunOptions, index: int, pub: SamplerPub
) -> list[ExperimentRequest]:
    """Lower one PUB's circuit with its parameter sets as binds."""
    where = pub_name(index, pub.circuit)
    values = flat_parameter_values(pub.circuit, pub.parameter_values, where)
    binds = None if values is None else [values]
    if pub.parameter_values.size == 0 and values is not None:
        return []  # no parameter sets: nothing to run, empty BitArrays
    circuit, _ = truncate_idle_qubits(pub.circuit)
    try:
        requests = backend.prepare_requests([circuit], dataclasses.replace(options, parameter_binds=binds))
    except CupySimulatorError as error:
        raise type(error)(f"{where}: {error.message}") from error
    seeds = iter(set_seeds(options.seed_simulator, index, sum(r.batch for r in requests)))
    return [
        dataclasses.replace(request, seeds=tuple(next(seeds) for _ in request.seeds)) for request in requests
    ]


def set_seeds(seed: int | None, pub_index: int, count: int) -> list[int]:
    """The seed of each parameter set of a PUB: derived from (seed, PUB, set), so that
    every set's shots are independent of every other's and reproducible from ``seed``."""
    base = int.from_bytes(os.urandom(8), "little") if seed is None else seed
    return [
        int(np.random.SeedSequence([base, pub_index, entry]).generate_state(1, np.uint64)[0])
        for entry in range(count)
    ]


def _pub_results(pubs: Sequence[SamplerPub], sizes: Sequence[int], raw: Result) -> PrimitiveResult:
    """Split the backend Result by PUB and turn each shot's memory into BitArrays.

    A PUB whose circuit has no parameters ran once; its BitArrays are broadcast to the
    PUB's shape.
    """
    results = []
    first = 0
    for pub, size in zip(pubs, sizes):
        experiments = raw.results[first : first + size]
        first += size
        shape = pub.parameter_values.shape
        clbits = [
            _clbit_values(pub.circuit, getattr(experiment.data, "memory", None), pub.shots)
            for experiment in experiments
        ]
        data = {}
        for register in pub.circuit.cregs:
            columns = [pub.circuit.find_bit(bit).index for bit in register]
            packed = (
                np.stack([_packed(values[:, columns]) for values in clbits])
                if clbits
                else np.zeros((0, pub.shots, (register.size + 7) // 8), dtype=np.uint8)
            )
            packed = np.broadcast_to(packed, (math.prod(shape),) + packed.shape[1:])
            data[register.name] = BitArray(packed.reshape(shape + packed.shape[1:]), register.size)
        results.append(
            SamplerPubResult(
                DataBin(**data, shape=shape),
                metadata={
                    "shots": pub.shots,
                    "circuit_metadata": pub.circuit.metadata,
                    "simulator_metadata": raw.metadata,
                },
            )
        )
    return PrimitiveResult(results, metadata={"version": 2})


def _clbit_values(circuit: QuantumCircuit, memory: list[str] | None, shots: int) -> np.ndarray:
    """Each shot's clbit values, (shots, num_clbits) uint8, from hex memory (bit k = clbit k)."""
    width = max(1, (circuit.num_clbits + 7) // 8)
    if not memory:
        return np.zeros((shots, circuit.num_clbits), dtype=np.uint8)
    raw = b"".join(int(value, 16).to_bytes(width, "little") for value in memory)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8).reshape(shots, width), axis=1, bitorder="little")
    return bits[:, : circuit.num_clbits]


def _packed(bits: np.ndarray) -> np.ndarray:
    """Pack (shots, n) bit columns (column j = bit j) as BitArray's big-endian bytes."""
    padding = np.zeros((len(bits), -bits.shape[1] % 8), dtype=np.uint8)
    return np.packbits(np.concatenate([padding, bits[:, ::-1]], axis=1), axis=1, bitorder="big")

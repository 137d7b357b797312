"""CupySimulator: the BackendV2 that runs circuits on a GPU or on the CPU fallback."""

from __future__ import annotations

import functools
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from qiskit_cupy.compiler.density import lower_density_matrix
from qiskit_cupy.compiler.device_noise import device_target_copy, noise_from_target
from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.fusion import Fuser, FusionSettings, Roofline
from qiskit_cupy.compiler.gates import add_simulator_instructions, build_target
from qiskit_cupy.compiler.lower import is_dynamic, lower_for_run
from qiskit_cupy.compiler.lowering import LoweredCircuit
from qiskit_cupy.compiler.noise import noise_table
from qiskit_cupy.compiler.validation import parameter_values
from qiskit_cupy.devices import DeviceKey, make_device, pool_keys
from qiskit_cupy.devices.base import Device
from qiskit_cupy.distributed.job import CupyDistributedJob
from qiskit_cupy.distributed.subjobs import split_job
from qiskit_cupy.errors import (
    CupySimulatorError,
    DeviceUnavailableError,
    InvalidCircuitError,
    InvalidOptionError,
)
from qiskit_cupy.job import CupyJob
from qiskit_cupy.options import ALIASES, MAX_SEED, RunOptions, validate_options
from qiskit_cupy.runtime.executor import PendingRun, submit_to_pool
from qiskit_cupy.runtime.host_executors import INLINE_INSTRUCTIONS, BackendHostExecutor, runs_inline
from qiskit_cupy.runtime.memory import check_fits, check_memory_limit
from qiskit_cupy.runtime.pool import assign_parts, split_for_pool
from qiskit_cupy.runtime.progress import progress_bar
from qiskit_cupy.runtime.request import ExperimentRequest
from qiskit_cupy.runtime.results import build_result
from qiskit_cupy.version import __version__


class CupySimulator(BackendV2):  # type: ignore[misc]  # qiskit is untyped: BackendV2 is Any
    """A statevector simulator on NVIDIA GPUs, with a CPU fallback from the same kernels.

    Options (see ``qiskit_cupy.options.RunOptions``) can be set at construction, with
    ``set_options`` or per ``run``.

    Args:
        provider: The provider that made the backend, if any.
        **options: Initial option values.
    """

    def __init__(self, provider: Any = None, **options: Any) -> None:
        super().__init__(
            provider=provider,
            name="cupy_simulator",
            description="Statevector simulator on NVIDIA GPUs (CuPy), with a CPU fallback",
            backend_version=__version__,
        )
        self._target = build_target("qiskit-cupy statevector simulator")
        self._run_options = RunOptions()
        self._devices: dict[tuple[DeviceKey, int], Device] = {}
        self._pools: dict[tuple[str, tuple[int, ...] | None], list[DeviceKey]] = {}
        self._fusers: dict[FusionSettings, Fuser] = {}
        self._host_executor = BackendHostExecutor()
        self._lock = threading.Lock()
        # Jobs hold their backend, so this runs only once no job of it is left.
        weakref.finalize(self, _release, self._devices, self._host_executor)
        if options:
            self.set_options(**options)

    @property
    def target(self) -> Target:
        """Every standard gate, unitary, measure, reset, delay, barrier, control flow,
        Store, Aer's save instructions and the channels, on any number of qubits; for a
        backend made by :meth:`from_backend`, the device's Target with the simulator's
        instructions added."""
        return self._target

    @classmethod
    def from_backend(cls, backend: BackendV2, **options: Any) -> CupySimulator:
        """A simulator of a device: its Target (basis gates, coupling map, properties)
        and, unless ``noise_model`` is given, the noise its Target reports (depolarizing
        and thermal relaxation per gate, readout error per measurement; see
        ``compiler/device_noise.py``). qiskit-aer is not needed (Aer: ``from_backend``).

        Args:
            backend: A ``BackendV2`` with a Target, such as ``GenericBackendV2`` or an
                IBM device.
            **options: Initial option values.

        Returns:
            The simulator.

        Raises:
            InvalidOptionError: ``backend`` has no Target, or an option is invalid.
        """
        try:
            target = device_target_copy(backend)
        except TypeError as error:
            raise InvalidOptionError(str(error)) from error
        add_simulator_instructions(target)
        options.setdefault("noise_model", noise_from_target(target))
        simulator = cls(**options)
        simulator._target = target
        simulator.name = f"cupy_simulator({backend.name})"
        return simulator

    @property
    def max_circuits(self) -> None:
        """No limit on the circuits of one job."""
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(**vars(RunOptions()))

    def set_options(self, **fields: Any) -> None:
        """Validate and set default options for later runs.

        Raises:
            InvalidOptionError: An option is unknown or has a value that is not allowed.
        """
        self._run_options = validate_options(fields, self._run_options)
        names = (ALIASES.get(name, name) for name in fields)  # Aer's spellings set ours
        super().set_options(**{name: getattr(self._run_options, name) for name in names})

    def resolve_options(self, overrides: dict[str, Any]) -> RunOptions:
        """Return the backend's options with ``overrides`` applied, validated.

        Raises:
            InvalidOptionError: An option is unknown or has a value that is not allowed.
        """
        return validate_options(overrides, self._run_options)

    def devices(self, options: RunOptions | None = None) -> list[Device]:
        """Return the pool of devices a job with ``options`` runs on (the backend's own
        options by default): the ``target_gpus`` GPUs (every visible one by default),
        with the CPU last for ``device="GPU+CPU"``, or the CPU alone.

        Raises:
            DeviceUnavailableError: A GPU was requested and none can be used, or a
                ``target_gpus`` ordinal does not exist.
        """
        options = options or self._run_options
        pool = (options.device, options.target_gpus)
        with self._lock:
            if pool not in self._pools:  # device="auto" warns here, once per backend
                self._pools[pool] = pool_keys(options.device, options.target_gpus)
            devices = []
            for key in self._pools[pool]:
                cache_key = (key, options.max_parallel_threads if key[0] == "CPU" else 0)
                if cache_key not in self._devices:
                    self._devices[cache_key] = make_device(key, options.max_parallel_threads)
                devices.append(self._devices[cache_key])
            return devices

    def device(self, options: RunOptions | None = None) -> Device:
        """Return the first device of the pool that runs with ``options``.

        Raises:
            DeviceUnavailableError: As :meth:`devices`.
        """
        return self.devices(options)[0]

    def _fuser(self, settings: FusionSettings) -> Fuser:
        """Return the fuser of these settings; it keeps its plan cache across runs."""
        with self._lock:
            if settings not in self._fusers:
                self._fusers[settings] = Fuser(settings)
            return self._fusers[settings]

    def run(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any
    ) -> CupyJob | CupyDistributedJob:
        """Start simulating circuits; return a submitted job at once.

        With the ``executor`` option, the job runs as sub-jobs on the executor's
        workers (a ``CupyDistributedJob``); every input is checked here first.

        Args:
            run_input: A circuit or a sequence of circuits, every parameter bound.
            **options: Options for this run only.

        Returns:
            The job.

        Raises:
            InvalidOptionError: An option is unknown or invalid.
            InvalidCircuitError: The input is empty, not circuits, or has unbound parameters.
            UnsupportedInstructionError: A circuit holds an instruction that cannot run.
            InsufficientMemoryError: A circuit's state does not fit in free memory.
            DeviceUnavailableError: ``device="GPU"`` and no GPU can be used.
        """
        run_options = validate_options(options, self._run_options)
        circuits = _circuit_list(run_input)
        requests = self.prepare_requests(circuits, run_options)
        job_id = str(uuid.uuid4())
        if run_options.executor is not None:
            job = CupyDistributedJob(
                self,
                job_id,
                split_job(requests, run_options, self._client_pricing(run_options)),
                run_options.executor,
                progress=run_options.progress,
            )
            job.submit()
            return job
        return self.submit_requests(
            requests,
            run_options,
            functools.partial(
                build_result,
                self.name,
                self.backend_version,
                job_id,
                memory=run_options.memory,
                options_metadata=run_options.result_metadata,
            ),
            small=sum(len(circuit.data) for circuit in circuits) <= INLINE_INSTRUCTIONS,
            job_id=job_id,
        )

    def prepare_requests(
        self, circuits: list[QuantumCircuit], options: RunOptions
    ) -> list[ExperimentRequest]:
        """Check and lower circuits, and batch their parameter bindings, as ``run()`` does.

        Args:
            circuits: The circuits.
            options: The validated run options (``parameter_binds``, ``shots``...).

        Returns:
            The experiment requests, in order.

        Raises:
            InvalidOptionError: ``parameter_binds`` does not match the circuits.
            InvalidCircuitError: A circuit has unbound parameters or a malformed instruction.
            UnsupportedInstructionError: A circuit holds an instruction that cannot run.
        """
        bindings = parameter_values(circuits, options.parameter_binds)
        noise = noise_table(options.noise_model)
        lowered: list[LoweredCircuit | DynamicCircuit | list[LoweredCircuit | DynamicCircuit]] = []
        with progress_bar(len(circuits), "lowering", options.progress, unit="circuit") as bar:
            for index, (circuit, values) in enumerate(zip(circuits, bindings)):
                try:
                    noisy = circuit if noise is None else noise.apply(circuit)
                    lowered.append(_lower(noisy, values, options))
                except CupySimulatorError as error:
                    raise type(error)(f"circuit {index} ('{circuit.name}'): {error.message}") from error
                bar.update(1)
        return _requests(circuits, lowered, bindings, options)

    def _client_pricing(self, options: RunOptions) -> Roofline | None:
        """The roofline this process would fuse with, shipped with sub-jobs; None where it
        has no device for the options (a client without the workers' GPUs), and then
        each worker fuses with its own."""
        try:
            return self.devices(options)[0].roofline(options.precision)
        except DeviceUnavailableError:
            return None

    def submit_requests(
        self,
        requests: Sequence[ExperimentRequest],
        options: RunOptions,
        build_result: Callable[[PendingRun], Any],
        small: bool = False,
        job_id: str | None = None,
        pricing: Roofline | None = None,
    ) -> CupyJob:
        """Start a job of lowered experiment requests (for ``run()`` and the primitives).

        Args:
            requests: The experiments, lowered and checked.
            options: The validated run options.
            build_result: Turns the completed run into the job's result.
            small: The job is small enough to enqueue from the caller's thread when the
                backend's worker is idle (dynamic circuits never are). Whatever it says,
                a job that ``runtime/host_executors.py::runs_inline`` finds small
                enough runs whole on the caller's thread (its kernels too, on the CPU).
            job_id: The job's identifier; a new one by default.
            pricing: The roofline fusion prices with; the first device's by default (a
                sub-job runs with its client's, so that it fuses as the client would).

        Returns:
            The submitted job.

        Raises:
            InsufficientMemoryError: A circuit's state does not fit in free memory.
            DeviceUnavailableError: ``device="GPU"`` and no GPU can be used.
        """
        check_memory_limit(requests, options.precision, options.max_memory_mb)
        devices = self.devices(options)
        if len(devices) == 1:
            check_fits(devices[0], requests, options.precision)
        parts = split_for_pool(requests, devices, options.precision)
        placement = assign_parts(parts, devices, options.precision)
        inline = runs_inline(requests)
        job = CupyJob(
            self,
            job_id or str(uuid.uuid4()),
            functools.partial(
                submit_to_pool,
                devices,
                parts,
                placement,
                options.precision,
                options.streams,
                self._fuser(options.fusion),
                pricing,
                inline,
            ),
            build_result,
            self._host_executor,
            small=small and not any(isinstance(request.lowered, DynamicCircuit) for request in requests),
            progress=options.progress,
            inline=inline,
        )
        job.submit()
        return job


def _lower(
    circuit: QuantumCircuit, values: dict[Parameter, np.ndarray] | None, options: RunOptions
) -> LoweredCircuit | DynamicCircuit | list[LoweredCircuit | DynamicCircuit]:
    """Lower a circuit by its method; a dynamic one, or a density matrix, with parameter
    binds once per binding."""
    if options.method == "density_matrix":
        if options.save_statevector:
            raise InvalidOptionError(
                "save_statevector has no statevector to save with method 'density_matrix'"
            )
        if values is None:
            return lower_density_matrix(circuit)
        return [lower_density_matrix(bound) for bound in _bindings(circuit, values)]
    if values is None or not is_dynamic(circuit):
        return lower_for_run(circuit, options.save_statevector, values is not None)
    return [lower_for_run(bound, options.save_statevector) for bound in _bindings(circuit, values)]


def _bindings(circuit: QuantumCircuit, values: dict[Parameter, np.ndarray]) -> list[QuantumCircuit]:
    """The circuit with each binding's values assigned."""
    size = len(next(iter(values.values())))
    return [
        circuit.assign_parameters({key: float(array[entry]) for key, array in values.items()})
        for entry in range(size)
    ]


def _release(devices: dict[tuple[DeviceKey, int], Device], host_executor: BackendHostExecutor) -> None:
    """Stop a dropped backend's threads: its host worker and its devices' streams."""
    host_executor.shutdown(wait=False)
    for device in list(devices.values()):
        device.close()


def _circuit_list(run_input: Any) -> list[QuantumCircuit]:
    """Return the run input as a non-empty list of circuits, or raise a clear error."""
    circuits = [run_input] if isinstance(run_input, QuantumCircuit) else run_input
    if not isinstance(circuits, (list, tuple)):
        raise InvalidCircuitError(
            f"run() takes a QuantumCircuit or a list of them, not {type(run_input).__name__}"
        )
    if not circuits:
        raise InvalidCircuitError("run() was given an empty list of circuits")
    for index, circuit in enumerate(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise InvalidCircuitError(
                f"run input {index} is a {type(circuit).__name__}, not a QuantumCircuit"
            )
    return list(circuits)


#: Most amplitudes one batch of bound states may hold; larger binds are split.
MAX_BATCH_AMPLITUDES = 1 << 24


def _requests(
    circuits: list[QuantumCircuit],
    lowered: list[LoweredCircuit | DynamicCircuit | list[LoweredCircuit | DynamicCircuit]],
    bindings: list[dict[Parameter, np.ndarray] | None],
    options: RunOptions,
) -> list[ExperimentRequest]:
    """One request per unbound circuit, and per batch of bindings of a bound one."""
    sizes = [1 if values is None else len(next(iter(values.values()))) for values in bindings]
    seeds = _seeds(options.seed_simulator, sum(sizes))
    requests = []
    first = 0
    branching = options.shot_branching_enable
    for circuit, low, values, size in zip(circuits, lowered, bindings, sizes):
        if values is None:
            assert not isinstance(low, list)  # _lower makes a list only of a circuit with bindings
            requests.append(
                ExperimentRequest(
                    circuit,
                    options.shots,
                    (seeds[first],),
                    low,
                    options.save_statevector,
                    shot_branching=branching,
                )
            )
        elif isinstance(low, list):  # a dynamic circuit or a density matrix, bound once per binding
            for entry, bound in enumerate(low):
                requests.append(
                    ExperimentRequest(
                        circuit,
                        options.shots,
                        (seeds[first + entry],),
                        bound,
                        options.save_statevector,
                        {key: array[entry : entry + 1] for key, array in values.items()},
                        shot_branching=branching,
                    )
                )
        else:
            step = max(1, MAX_BATCH_AMPLITUDES >> circuit.num_qubits)
            for start in range(0, size, step):
                stop = min(size, start + step)
                requests.append(
                    ExperimentRequest(
                        circuit,
                        options.shots,
                        tuple(seeds[first + start : first + stop]),
                        low,
                        options.save_statevector,
                        {key: array[start:stop] for key, array in values.items()},
                    )
                )
        first += size
    return requests


def _seeds(seed_simulator: int | None, count: int) -> list[int]:
    """Seed each experiment: all with ``seed_simulator`` if given, else a job seed + index."""
    if seed_simulator is not None:
        return [seed_simulator] * count
    base = int.from_bytes(os.urandom(8), "little")
    return [(base + index) & MAX_SEED for index in range(count)]

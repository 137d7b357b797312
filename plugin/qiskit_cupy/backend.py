"""CupySimulator: the BackendV2 that runs circuits on a GPU or on the CPU fallback."""

from __future__ import annotations

import functools
import numbers
import os
import threading
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import Gate, Instruction, Parameter, QuantumCircuit
from qiskit.circuit.library import UnitaryGate
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from qiskit_cupy.devices import select_device
from qiskit_cupy.devices.base import Device
from qiskit_cupy.errors import (
    CupySimulatorError,
    InvalidCircuitError,
    InvalidOptionError,
    UnsupportedInstructionError,
)
from qiskit_cupy.executor import ExperimentRequest, required_bytes, submit_experiments, usable_streams
from qiskit_cupy.fusion import Fuser, FusionSettings
from qiskit_cupy.gates import CONTROL_FLOW_NAMES, INSTRUCTION_TREATMENTS, build_target
from qiskit_cupy.host_executors import INLINE_INSTRUCTIONS, BackendHostExecutor
from qiskit_cupy.job import CupyJob
from qiskit_cupy.lowering import LoweredCircuit, lower_circuit, require_unitary
from qiskit_cupy.options import MAX_SEED, RunOptions, validate_options
from qiskit_cupy.results import build_result
from qiskit_cupy.version import __version__


class CupySimulator(BackendV2):
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
        self._devices: dict[tuple[str, int], Device] = {}
        self._fusers: dict[FusionSettings, Fuser] = {}
        self._host_executor = BackendHostExecutor()
        self._lock = threading.Lock()
        # Jobs hold their backend, so this runs only once no job of it is left.
        weakref.finalize(self, _release, self._devices, self._host_executor)
        if options:
            self.set_options(**options)

    @property
    def target(self) -> Target:
        """Every standard gate, unitary, measure, delay and barrier, on any number of qubits."""
        return self._target

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
        super().set_options(**{name: getattr(self._run_options, name) for name in fields})

    def device(self, options: RunOptions | None = None) -> Device:
        """Return the device that runs with ``options`` (the backend's own by default).

        Raises:
            DeviceUnavailableError: The GPU was requested and none can be used.
        """
        options = options or self._run_options
        key = (options.device, options.max_parallel_threads)
        with self._lock:
            if key not in self._devices:
                self._devices[key] = select_device(options.device, options.max_parallel_threads)
            return self._devices[key]

    def _fuser(self, settings: FusionSettings) -> Fuser:
        """Return the fuser of these settings; it keeps its plan cache across runs."""
        with self._lock:
            if settings not in self._fusers:
                self._fusers[settings] = Fuser(settings)
            return self._fusers[settings]

    def run(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any
    ) -> CupyJob:
        """Start simulating circuits; return a submitted job at once.

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
        bindings = _parameter_values(circuits, run_options.parameter_binds)
        lowered = []
        for index, (circuit, values) in enumerate(zip(circuits, bindings)):
            try:
                _check_circuit(circuit, bound=values is not None)
                lowered.append(
                    lower_circuit(circuit, run_options.save_statevector, values is not None)
                )
            except CupySimulatorError as error:
                raise type(error)(f"circuit {index} ('{circuit.name}'): {error.message}") from error
        device = self.device(run_options)
        requests = _requests(circuits, lowered, bindings, run_options)
        widest = max(
            required_bytes(
                request.lowered.num_qubits,
                len(request.lowered.measured_qubits),
                request.shots,
                run_options.precision,
                request.batch,
            )
            for request in requests
        )
        usable_streams(device, widest, 1)
        job_id = str(uuid.uuid4())
        job = CupyJob(
            self,
            job_id,
            functools.partial(
                submit_experiments,
                device,
                requests,
                run_options.precision,
                run_options.streams,
                self._fuser(run_options.fusion),
            ),
            functools.partial(
                build_result, self.name, self.backend_version, job_id, memory=run_options.memory
            ),
            run_options.executor or self._host_executor,
            small=sum(len(circuit.data) for circuit in circuits) <= INLINE_INSTRUCTIONS,
        )
        job.submit()
        return job


def _release(devices: dict[tuple[str, int], Device], host_executor: BackendHostExecutor) -> None:
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


def _check_circuit(circuit: QuantumCircuit, bound: bool) -> None:
    """Reject unbound parameters, non-finite values, malformed and unsupported instructions.

    Raises:
        InvalidCircuitError: A parameter is unbound or not finite, or an instruction's
            qubits and clbits do not match its shape.
        UnsupportedInstructionError: An instruction cannot run; it is named.
    """
    if circuit.parameters and not bound:
        names = ", ".join(sorted(parameter.name for parameter in circuit.parameters))
        raise InvalidCircuitError(
            f"circuit '{circuit.name}' has unbound parameters ({names}); bind them with "
            "QuantumCircuit.assign_parameters or the parameter_binds option before running it"
        )
    _check_finite(circuit.global_phase, "the global phase")
    for position, instruction in enumerate(circuit.data):
        operation = instruction.operation
        where = f"instruction {position} ('{operation.name}')"
        _check_shape(instruction, where)
        for parameter in getattr(operation, "params", ()):
            _check_finite(parameter, f"a parameter of {where}")
        if isinstance(operation, UnitaryGate):
            require_unitary(operation.to_matrix(), where)
        if operation.name in CONTROL_FLOW_NAMES:
            raise UnsupportedInstructionError(
                f"circuit '{circuit.name}': control-flow instruction '{operation.name}' is "
                "not supported yet"
            )
        if (
            operation.name not in INSTRUCTION_TREATMENTS
            and isinstance(operation, Instruction)
            and not isinstance(operation, Gate)
            and operation.definition is None
        ):
            raise UnsupportedInstructionError(
                f"circuit '{circuit.name}': instruction '{operation.name}' is not supported "
                "by the cupy simulator"
            )


def _check_shape(instruction: Any, where: str) -> None:
    """Require an instruction's qubits and clbits to match its operation, without repeats."""
    operation = instruction.operation
    qubits, clbits = instruction.qubits, instruction.clbits
    if len(qubits) != operation.num_qubits or len(clbits) != operation.num_clbits:
        raise InvalidCircuitError(
            f"{where} acts on {operation.num_qubits} qubits and {operation.num_clbits} "
            f"clbits but is applied to {len(qubits)} qubits and {len(clbits)} clbits"
        )
    if len(set(qubits)) != len(qubits) or len(set(clbits)) != len(clbits):
        raise InvalidCircuitError(f"{where} names the same qubit or clbit more than once")


def _check_finite(value: Any, what: str) -> None:
    """Require a numeric value (where it is one) to be finite."""
    if isinstance(value, numbers.Number) and not np.all(np.isfinite(complex(value))):
        raise InvalidCircuitError(f"{what} is {value}; values must be finite")
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" and not np.isfinite(value).all():
        raise InvalidCircuitError(f"{what} holds values that are not finite (NaN or infinity)")


def _parameter_values(
    circuits: list[QuantumCircuit], parameter_binds: list[dict] | None
) -> list[dict[Parameter, np.ndarray] | None]:
    """Check ``parameter_binds`` against the circuits; return each circuit's value arrays.

    Raises:
        InvalidOptionError: The binds do not match the circuits or their parameters.
    """
    if parameter_binds is None:
        return [None] * len(circuits)
    if len(parameter_binds) != len(circuits):
        raise InvalidOptionError(
            f"parameter_binds has {len(parameter_binds)} entries for {len(circuits)} "
            "circuits; give one dict per circuit"
        )
    values_per_circuit: list[dict[Parameter, np.ndarray] | None] = []
    for index, (circuit, bind) in enumerate(zip(circuits, parameter_binds)):
        if not circuit.parameters and not bind:
            values_per_circuit.append(None)
            continue
        unknown = [str(key) for key in bind if key not in circuit.parameters]
        missing = sorted(p.name for p in circuit.parameters if p not in bind)
        if unknown or missing:
            raise InvalidOptionError(
                f"parameter_binds for circuit '{circuit.name}' must bind exactly its "
                f"parameters; unknown: {unknown or 'none'}, missing: {missing or 'none'}"
            )
        arrays = {}
        for key, value in bind.items():
            try:
                arrays[key] = np.atleast_1d(np.asarray(value, dtype=float))
            except (TypeError, ValueError) as error:
                raise InvalidOptionError(
                    f"parameter_binds for circuit {index} ('{circuit.name}'): the values of "
                    f"{key} must be real numbers, not {value!r}"
                ) from error
            if not np.isfinite(arrays[key]).all():
                raise InvalidOptionError(
                    f"parameter_binds for circuit {index} ('{circuit.name}'): the values of "
                    f"{key} must be finite; NaN or infinity given"
                )
        lengths = {array.shape for array in arrays.values()}
        if len(lengths) != 1 or len(next(iter(lengths))) != 1 or next(iter(lengths))[0] == 0:
            raise InvalidOptionError(
                f"parameter_binds for circuit '{circuit.name}' must give every parameter "
                "the same number (at least one) of values"
            )
        values_per_circuit.append(arrays)
    return values_per_circuit


#: Most amplitudes one batch of bound states may hold; larger binds are split.
MAX_BATCH_AMPLITUDES = 1 << 24


def _requests(
    circuits: list[QuantumCircuit],
    lowered: list[LoweredCircuit],
    bindings: list[dict[Parameter, np.ndarray] | None],
    options: RunOptions,
) -> list[ExperimentRequest]:
    """One request per unbound circuit, and per batch of bindings of a bound one."""
    sizes = [1 if values is None else len(next(iter(values.values()))) for values in bindings]
    seeds = _seeds(options.seed_simulator, sum(sizes))
    requests = []
    first = 0
    for circuit, low, values, size in zip(circuits, lowered, bindings, sizes):
        if values is None:
            requests.append(
                ExperimentRequest(
                    circuit, options.shots, (seeds[first],), low, options.save_statevector
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

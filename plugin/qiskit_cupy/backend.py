"""CupySimulator: the BackendV2 that runs circuits on a GPU or on the CPU fallback."""

from __future__ import annotations

import concurrent.futures
import functools
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import Gate, Instruction, QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from qiskit_cupy.devices import select_device
from qiskit_cupy.devices.base import Device
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError
from qiskit_cupy.executor import ExperimentRequest, required_bytes, submit_experiments, usable_streams
from qiskit_cupy.fusion import Fuser, FusionSettings
from qiskit_cupy.gates import CONTROL_FLOW_NAMES, INSTRUCTION_TREATMENTS, Treatment, build_target
from qiskit_cupy.job import CupyJob
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
        self._host_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="qiskit-cupy-host"
        )
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
        if key not in self._devices:
            self._devices[key] = select_device(options.device, options.max_parallel_threads)
        return self._devices[key]

    def _fuser(self, settings: FusionSettings) -> Fuser:
        """Return the fuser of these settings; it keeps its plan cache across runs."""
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
        for circuit in circuits:
            _check_circuit(circuit)
        device = self.device(run_options)
        widest = max(
            required_bytes(c.num_qubits, _count_measured(c), run_options.shots, run_options.precision)
            for c in circuits
        )
        usable_streams(device, widest, 1)
        requests = [
            ExperimentRequest(circuit, run_options.shots, seed, run_options.save_statevector)
            for circuit, seed in zip(circuits, _seeds(run_options.seed_simulator, len(circuits)))
        ]
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
        )
        job.submit()
        return job


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


def _check_circuit(circuit: QuantumCircuit) -> None:
    """Reject unbound parameters and instructions that cannot run, naming them."""
    if circuit.parameters:
        names = ", ".join(sorted(parameter.name for parameter in circuit.parameters))
        raise InvalidCircuitError(
            f"circuit '{circuit.name}' has unbound parameters ({names}); bind them with "
            "QuantumCircuit.assign_parameters before running it"
        )
    for instruction in circuit.data:
        operation = instruction.operation
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


def _count_measured(circuit: QuantumCircuit) -> int:
    """Count the distinct qubits measured at the top level of a circuit."""
    measured = {
        instruction.qubits[0]
        for instruction in circuit.data
        if INSTRUCTION_TREATMENTS.get(instruction.operation.name) is Treatment.MEASURE
    }
    return len(measured)


def _seeds(seed_simulator: int | None, count: int) -> list[int]:
    """Seed each circuit: all with ``seed_simulator`` if given, else a fresh job seed + index."""
    if seed_simulator is not None:
        return [seed_simulator] * count
    base = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0])
    return [(base + index) & MAX_SEED for index in range(count)]

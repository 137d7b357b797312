"""Run options: their defaults, their documentation and their validation, in one place.

Names and meanings follow Qiskit Aer wherever Aer has the same option.
"""

from __future__ import annotations

import concurrent.futures
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from qiskit_cupy.compiler.fusion import FusionSettings
from qiskit_cupy.compiler.noise import noise_table
from qiskit_cupy.compiler.ops import MAX_TARGETS
from qiskit_cupy.errors import InvalidOptionError

if TYPE_CHECKING:
    from qiskit.circuit import Parameter

#: Streams used when ``max_parallel_experiments`` is 0 ("as many as useful").
DEFAULT_MAX_STREAMS = 4

PRECISIONS = ("double", "single")
DEVICES = ("auto", "GPU", "CPU", "GPU+CPU")
#: Aer's simulation methods this backend runs: "automatic" means "statevector".
METHODS = ("automatic", "statevector", "density_matrix")
#: Aer's other methods, refused by name.
OTHER_AER_METHODS = (
    "stabilizer",
    "extended_stabilizer",
    "matrix_product_state",
    "unitary",
    "superop",
    "tensor_network",
)
#: Aer's spellings of options this backend names otherwise: accepted, and read as ours.
ALIASES = {"fusion_max_qubit": "fusion_max_qubits"}
MAX_SEED = 2**64 - 1
#: Largest dense block the kernels apply (the dense kind's limit in the op-kind registry).
MAX_FUSED_QUBITS = MAX_TARGETS


@dataclass(frozen=True)
class RunOptions:
    """Every option of ``CupySimulator.run`` and ``set_options``.

    Attributes:
        shots: Samples of each circuit's terminal measurements; an integral float such
            as ``1e3`` is read as that integer (Aer: ``shots``).
        seed_simulator: Seed of the sampler; ``None`` draws one per job. With a seed,
            every circuit of the job is sampled with it, so a circuit's counts do not
            depend on what else the job holds (Aer: ``seed_simulator``).
        memory: Return each shot's outcome as a hex string (Aer: ``memory``).
        precision: ``"double"`` (complex128) or ``"single"`` (complex64) amplitudes
            (Aer: ``precision``).
        device: ``"GPU"``, ``"CPU"``, ``"auto"`` (the GPUs when one is usable, else
            the CPU fallback with one warning) or ``"GPU+CPU"`` (the GPUs and the CPU
            fallback as one pool, the CPU taking the share of the job the cost model
            gives it) (Aer: ``device``; ``"GPU+CPU"`` is this backend's own).
        max_parallel_experiments: Streams the job's circuits are spread over; 0 uses
            up to DEFAULT_MAX_STREAMS (Aer: ``max_parallel_experiments``).
        max_parallel_threads: OpenMP threads of the CPU device; 0 uses every core
            (Aer: ``max_parallel_threads``).
        target_gpus: The CUDA device ordinals a job runs on; ``None`` is every visible
            GPU. A job's experiments and batch chunks (parameter sets, trajectory
            shots) are spread over them by the cost model; results do not depend on
            how many there are (Aer: ``target_gpus``).
        save_statevector: Keep each circuit's final state in the result under
            ``"statevector"``, as if the circuit ended with Aer's
            ``save_statevector()``.
        executor: Where sub-jobs run: a ``dask.distributed.Client`` or any
            ``concurrent.futures.Executor`` (one that ships work to other processes,
            or threads). The job is split into sub-jobs by ``max_job_size`` and
            ``max_shot_size``; each is shipped as plain data (QPY circuits, validated
            options, seeds) and run on the worker's own backend, and the results are
            merged in order. ``None`` runs the job in this process on the backend's
            devices (Aer: ``executor``).
        max_job_size: With an ``executor``, most experiments (circuits, or parameter
            sets of a bound circuit) per sub-job; ``None`` sends the whole job as one
            sub-job (Aer: ``max_job_size``).
        max_shot_size: With an ``executor``, most shots per sub-job of a circuit whose
            shots run as trajectories (a dynamic circuit); ``None`` keeps its shots
            together. Counts and memory are the same either way for a given seed
            (Aer: ``max_shot_size``).
        fusion_enable: Fuse consecutive gates into larger dense or diagonal blocks
            (Aer: ``fusion_enable``).
        fusion_max_qubits: Largest dense block fusion may build, 1 to MAX_FUSED_QUBITS
            (5); a cost model picks the best size up to this (Aer: ``fusion_max_qubit``,
            which is accepted under that name too).
        fusion_threshold: Fuse only circuits of at least this many qubits, where the
            saved passes outweigh the planning (Aer: ``fusion_threshold``).
        parameter_binds: One dict per circuit mapping each of its Parameters to a list
            of values; circuit i then runs once per value index, all of them as one
            batch of states sharing every kernel launch (Aer: ``parameter_binds``).
        shot_branching_enable: Run the shots of a dynamic circuit (mid-circuit
            measurement, reset, control flow) as branches: all shots share one state
            until a measurement splits them by outcome, so m measurements cost at most
            min(shots, 2^m) states. Off, each shot is its own trajectory from the
            start. Counts are the same either way for a given seed. On by default
            (Aer: ``shot_branching_enable``, off there by default).
        method: ``"automatic"`` or ``"statevector"`` simulate the statevector (noisy
            circuits as trajectories); ``"density_matrix"`` evolves the density matrix,
            held as a vector of twice the qubits, exactly through every channel (its
            measurements must end the circuit). Aer's other methods (``stabilizer``...)
            are refused by name (Aer: ``method``).
        noise_model: A Qiskit Aer ``NoiseModel``: its quantum errors act after their
            instructions (before measurements), its readout errors flip measured bits,
            and every shot runs as a trajectory of sampled errors; ``None`` simulates
            without noise (Aer: ``noise_model``).
        max_memory_mb: Most MiB one experiment's states may take (its states, and for
            trajectories its chunk of them); a job that needs more is refused before
            anything is allocated. 0 leaves the device's free memory as the only limit
            (Aer: ``max_memory_mb``).
        fusion_verbose: Add the fused ops and their passes to each result's ``fusion``
            metadata (Aer: ``fusion_verbose``).
        progress: Show a progress bar on standard error while a job of many
            experiments lowers and runs, once it has taken a second; never when
            standard error is not a terminal or ``QISKIT_CUPY_PROGRESS=0`` (this
            backend's own; Aer has none).
    """

    shots: int = 1024
    seed_simulator: int | None = None
    memory: bool = False
    precision: str = "double"
    device: str = "auto"
    max_parallel_experiments: int = 1
    max_parallel_threads: int = 0
    target_gpus: tuple[int, ...] | None = None
    save_statevector: bool = False
    executor: Any = None
    max_job_size: int | None = None
    max_shot_size: int | None = None
    fusion_enable: bool = True
    fusion_max_qubits: int = 5
    fusion_threshold: int = 14
    parameter_binds: list[dict[Parameter, Any]] | None = None
    shot_branching_enable: bool = True
    method: str = "automatic"
    progress: bool = True
    noise_model: Any = None
    max_memory_mb: int = 0
    fusion_verbose: bool = False

    @property
    def fusion(self) -> FusionSettings:
        """The fusion options, as the fuser takes them."""
        return FusionSettings(self.fusion_enable, self.fusion_max_qubits, self.fusion_threshold)

    @property
    def result_metadata(self) -> dict[str, Any]:
        """What every experiment's metadata says of these options, under Aer's keys."""
        return {
            "max_memory_mb": self.max_memory_mb,
            "fusion": {
                "enabled": self.fusion_enable,
                "max_fused_qubits": self.fusion_max_qubits,
                "threshold": self.fusion_threshold,
                "verbose": self.fusion_verbose,
            },
        }

    @property
    def streams(self) -> int:
        """The number of streams ``max_parallel_experiments`` asks for."""
        return self.max_parallel_experiments or DEFAULT_MAX_STREAMS


_OPTION_NAMES = tuple(field.name for field in fields(RunOptions))


def option_names() -> tuple[str, ...]:
    """Return the name of every option."""
    return _OPTION_NAMES


def _integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidOptionError(f"{name} must be an integer, not {value!r}")
    if value < minimum or (maximum is not None and value > maximum):  # type: ignore[operator]  # typeshed's Integral lacks __gt__
        upper = "" if maximum is None else f" and at most {maximum}"
        raise InvalidOptionError(f"{name} must be at least {minimum}{upper}, not {value}")
    return int(value)


def _shots(value: Any) -> int:
    """``shots``: a positive integer, or a float that holds one (Aer accepts ``1e3``)."""
    if isinstance(value, float) and value.is_integer():
        return _integer("shots", int(value), 1)
    return _integer("shots", value, 1)


def _method(value: Any) -> str:
    """``method``: one of METHODS; Aer's other methods are refused by name."""
    if isinstance(value, str) and value.lower() in OTHER_AER_METHODS:
        raise InvalidOptionError(
            f"method {value!r} is not supported: qiskit-cupy simulates statevectors and "
            f"density matrices (method {', '.join(repr(choice) for choice in METHODS)})"
        )
    return _choice("method", value, METHODS)


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidOptionError(f"{name} must be True or False, not {value!r}")
    return value


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str):
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
    raise InvalidOptionError(f"{name} must be one of {', '.join(choices)}; not {value!r}")


def _target_gpus(value: Any) -> tuple[int, ...] | None:
    """``target_gpus`` as a tuple of distinct device ordinals, or None (every GPU)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise InvalidOptionError(f"target_gpus must be a list of GPU ordinals, not {value!r}")
    ordinals = tuple(_integer("target_gpus entry", entry, 0) for entry in value)
    if not ordinals or len(set(ordinals)) != len(ordinals):
        raise InvalidOptionError(f"target_gpus must name at least one GPU, each once, not {list(value)!r}")
    return ordinals


def is_dask_client(value: Any) -> bool:
    """Whether ``value`` is a ``dask.distributed.Client`` (without importing Dask)."""
    return any(
        cls.__name__ == "Client" and cls.__module__.startswith("distributed") for cls in type(value).__mro__
    )


def _executor(value: Any) -> Any:
    """``executor``: None, a ``concurrent.futures.Executor`` or a Dask ``Client``."""
    if value is None or isinstance(value, concurrent.futures.Executor) or is_dask_client(value):
        return value
    raise InvalidOptionError(
        f"executor must be a concurrent.futures.Executor or a dask.distributed.Client, not {value!r}"
    )


def _validate(name: str, value: Any) -> Any:
    """Check one option's value and return it in canonical form."""
    if name == "shots":
        return _shots(value)
    if name == "method":
        return _method(value)
    if name == "seed_simulator":
        return None if value is None else _integer(name, value, 0, MAX_SEED)
    if name in (
        "memory",
        "save_statevector",
        "fusion_enable",
        "shot_branching_enable",
        "progress",
        "fusion_verbose",
    ):
        return _boolean(name, value)
    if name == "precision":
        return _choice(name, value, PRECISIONS)
    if name == "device":
        return _choice(name, value, DEVICES)
    if name in ("max_parallel_experiments", "max_parallel_threads", "max_memory_mb"):
        return _integer(name, value, 0)
    if name == "target_gpus":
        return _target_gpus(value)
    if name == "fusion_max_qubits":
        return _integer(name, value, 1, MAX_FUSED_QUBITS)
    if name == "fusion_threshold":
        return _integer(name, value, 1)
    if name in ("max_job_size", "max_shot_size"):
        return None if value is None else _integer(name, value, 1)
    if name == "noise_model":
        noise_table(value)  # refuses what cannot run, now rather than at run()
        return value
    if name == "parameter_binds":
        if value is not None and not (
            isinstance(value, (list, tuple)) and all(isinstance(b, Mapping) for b in value)
        ):
            raise InvalidOptionError(
                "parameter_binds must be a list with one dict per circuit, mapping each "
                f"Parameter to a list of values; not {value!r}"
            )
        return None if value is None else list(value)
    return _executor(value)


def validate_options(values: Mapping[str, Any], base: RunOptions | None = None) -> RunOptions:
    """Validate option values and merge them over ``base``.

    Args:
        values: Option names and values.
        base: Options the values override; the defaults if None.

    Returns:
        The merged options.

    Raises:
        InvalidOptionError: An option is unknown or has a value that is not allowed.
    """
    merged = dict(vars(base or RunOptions()))
    for given, ours in ALIASES.items():
        if given in values and ours in values:
            raise InvalidOptionError(f"{given} is Aer's name for {ours}: give one of them, not both")
    for given, value in values.items():
        name = ALIASES.get(given, given)
        if name not in merged:
            known = ", ".join(_OPTION_NAMES)
            raise InvalidOptionError(f"unknown option {name!r}; the options are: {known}")
        merged[name] = _validate(name, value)
    return RunOptions(**merged)

"""What both native primitives check and prepare of their options and PUBs."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives.containers.bindings_array import BindingsArray

from qiskit_cupy.backend import CupySimulator
from qiskit_cupy.compiler.lowering import LoweredCircuit, NeedsTrajectories, lower_circuit
from qiskit_cupy.errors import (
    CupySimulatorError,
    InvalidCircuitError,
    InvalidOptionError,
    InvalidPubError,
)
from qiskit_cupy.options import RunOptions

if TYPE_CHECKING:
    from typing_extensions import Self

PubT = TypeVar("PubT")
OptionsT = TypeVar("OptionsT")

#: Run options that a primitive sets itself from its PUBs.
PUB_OWNED_OPTIONS = ("parameter_binds", "shots", "memory", "save_statevector")


class NativePrimitive:
    """What both native primitives share: options read from a dict, and their backend."""

    _backend: CupySimulator

    def _read_options(
        self,
        options_type: type[OptionsT],
        options: dict[str, Any] | None,
        backend: CupySimulator | None,
        kind: str,
    ) -> OptionsT:
        """Read the options dict and set the backend; return the options.

        Raises:
            InvalidOptionError: An option is unknown, or the backend is not usable.
        """
        try:
            read = options_type(**(options or {}))
        except TypeError as error:
            raise InvalidOptionError(f"unknown {kind} option: {error}") from None
        self._backend = primitive_backend(backend, read.backend_options)  # type: ignore[attr-defined]
        return read

    @classmethod
    def from_backend(cls, backend: CupySimulator, **options: Any) -> Self:
        """Make the primitive on ``backend``; ``options`` as the constructor's."""
        return cls(backend=backend, **options)  # type: ignore[call-arg]

    @property
    def backend(self) -> CupySimulator:
        """The simulator the primitive runs on."""
        return self._backend


def primitive_backend(backend: CupySimulator | None, backend_options: dict[str, Any]) -> CupySimulator:
    """Return the simulator a primitive runs on: ``backend``, or a new one.

    Raises:
        InvalidOptionError: ``backend`` is not a CupySimulator, or an option is invalid.
    """
    if backend is None:
        return CupySimulator(**backend_options)
    if not isinstance(backend, CupySimulator):
        raise InvalidOptionError(
            f"the native primitives run on a CupySimulator, not a {type(backend).__name__}"
        )
    return backend


def resolve_run_options(
    backend: CupySimulator, backend_options: dict[str, Any], run_options: dict[str, Any], **pub_options: Any
) -> RunOptions:
    """Return the backend's options with the primitive's options applied, then the
    options the primitive sets from its PUBs (``pub_options``).

    Raises:
        InvalidOptionError: An option is unknown or invalid, is one the PUBs set, or
            is ``executor`` (which would otherwise be silently ignored).
    """
    overrides = {**backend_options, **run_options}
    owned = sorted(set(overrides) & set(PUB_OWNED_OPTIONS))
    if owned:
        raise InvalidOptionError(
            f"the primitives set {', '.join(owned)} from the PUBs; do not pass them as options"
        )
    resolved = backend.resolve_options({**overrides, **pub_options})
    if resolved.executor is not None:
        raise InvalidOptionError(
            "the native primitives run on this process's devices (target_gpus, "
            "device='GPU+CPU'), not as sub-jobs: executor= is for backend.run(); "
            "unset it for the primitive"
        )
    return resolved


def check_precision(value: Any, what: str) -> None:
    """Refuse a precision that is not a finite number at least 0.

    Raises:
        InvalidOptionError: It is not.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidOptionError(f"{what} must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise InvalidOptionError(f"{what} must be finite and at least 0, not {value}")


def pub_name(index: int, circuit: QuantumCircuit) -> str:
    """Name a PUB in errors."""
    return f"PUB {index} (circuit '{circuit.name}')"


def lower_pub_circuit(circuit: QuantumCircuit, where: str) -> LoweredCircuit:
    """Lower a PUB's static circuit with its parameters free.

    Raises:
        InvalidCircuitError: The circuit is dynamic or cannot be lowered; ``where`` names it.
    """
    try:
        return lower_circuit(circuit, False, allow_parameters=True)
    except NeedsTrajectories:
        raise InvalidCircuitError(
            f"{where}: the estimator takes circuits without mid-circuit measurements, resets or control flow"
        ) from None
    except CupySimulatorError as error:
        raise type(error)(f"{where}: {error.message}") from error


def flat_parameter_values(
    circuit: QuantumCircuit, bindings: BindingsArray, where: str
) -> dict[Parameter, np.ndarray] | None:
    """Each circuit parameter's values over the PUB's parameter sets, flattened in C order.

    Returns:
        None for a circuit without parameters.

    Raises:
        InvalidCircuitError: A value is NaN or infinite.
    """
    if not circuit.parameters:
        return None
    values = bindings.as_array(circuit.parameters).reshape(-1, circuit.num_parameters)
    if not np.isfinite(values).all():
        raise InvalidCircuitError(f"{where}: parameter values must be finite; NaN or infinity given")
    return {parameter: values[:, k].copy() for k, parameter in enumerate(circuit.parameters)}


def coerce_pubs(pubs: Iterable[Any], coerce: Callable[[Any], PubT]) -> list[PubT]:
    """Coerce each PUB as Qiskit specifies, naming the PUB that cannot be.

    Raises:
        InvalidPubError: Qiskit refused a PUB (its message is kept).
    """
    coerced = []
    for index, pub in enumerate(pubs):
        try:
            coerced.append(coerce(pub))
        except ValueError as error:
            raise InvalidPubError(f"PUB {index}: {error}") from error
    return coerced

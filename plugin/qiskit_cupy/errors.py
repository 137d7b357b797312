"""The exceptions raised by qiskit-cupy, under one root type."""

from qiskit.exceptions import QiskitError


class CupySimulatorError(QiskitError):  # type: ignore[misc]  # qiskit is untyped: QiskitError is Any
    """The root of every error that qiskit-cupy raises."""


class InvalidOptionError(CupySimulatorError, ValueError):
    """A run or backend option has a value that is not allowed."""


class InvalidCircuitError(CupySimulatorError, ValueError):
    """A run input is not a circuit this backend can run as given."""


class InvalidPubError(InvalidCircuitError):
    """A primitive's PUB cannot be coerced: its shapes, values or observables are invalid."""


class UnsupportedInstructionError(InvalidCircuitError):
    """A circuit holds an instruction the simulator cannot apply."""


class InsufficientMemoryError(CupySimulatorError, MemoryError):
    """A state would not fit in the memory that the device has free."""


class DeviceUnavailableError(CupySimulatorError, RuntimeError):
    """The requested device cannot be used on this machine."""

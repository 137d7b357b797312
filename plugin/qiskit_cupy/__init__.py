"""qiskit-cupy: a Qiskit provider that simulates circuits on NVIDIA GPUs through CuPy.

Where no GPU is usable, the same kernels run on the CPU through a C++/OpenMP extension.
"""

from qiskit_cupy.backend import CupySimulator
from qiskit_cupy.errors import (
    CupySimulatorError,
    DeviceUnavailableError,
    InsufficientMemoryError,
    InvalidCircuitError,
    InvalidOptionError,
    UnsupportedInstructionError,
)
from qiskit_cupy.job import CupyJob
from qiskit_cupy.provider import CupyProvider
from qiskit_cupy.version import __version__

__all__ = [
    "CupyJob",
    "CupyProvider",
    "CupySimulator",
    "CupySimulatorError",
    "DeviceUnavailableError",
    "InsufficientMemoryError",
    "InvalidCircuitError",
    "InvalidOptionError",
    "UnsupportedInstructionError",
    "__version__",
]

"""The package version, read from the installed distribution's metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("qiskit-cupy")
except PackageNotFoundError:
    __version__ = "0.0.0+unknown"

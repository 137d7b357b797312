"""Discovery of installed Qiskit provider plugins through entry points.

Providers register under the ``qiskit.providers`` group, for example qiskit-cupy's
``cupy = "qiskit_cupy.provider:CupyProvider"``. Discovery uses the standard library's
``importlib.metadata``.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from qiskit_cupy.errors import CupySimulatorError

#: The entry-point group providers register under.
PROVIDER_GROUP = "qiskit.providers"


def provider_entry_points() -> dict[str, EntryPoint]:
    """Return every installed provider entry point, by name."""
    return {entry.name: entry for entry in entry_points(group=PROVIDER_GROUP)}


def load_provider(name: str) -> Any:
    """Load the provider registered as ``name`` and return an instance of it.

    Args:
        name: The entry point's name, such as ``"cupy"``.

    Returns:
        The provider instance.

    Raises:
        CupySimulatorError: No provider is registered under that name.
    """
    found = provider_entry_points()
    if name not in found:
        installed = ", ".join(sorted(found)) or "none"
        raise CupySimulatorError(
            f"no provider named {name!r} in entry-point group {PROVIDER_GROUP!r} (installed: {installed})"
        )
    return found[name].load()()


def load_providers() -> dict[str, Any]:
    """Load every installed provider; return instances by entry-point name."""
    return {name: entry.load()() for name, entry in provider_entry_points().items()}

"""CupyProvider: hands out the qiskit-cupy backend (a plain class; Qiskit 2 has no ProviderV1)."""

from __future__ import annotations

from typing import Any

from qiskit_cupy.backend import CupySimulator
from qiskit_cupy.errors import CupySimulatorError


class CupyProvider:
    """The provider registered under the ``qiskit.providers`` entry point ``cupy``."""

    #: Names of the backends this provider makes.
    BACKEND_NAMES: tuple[str, ...] = ("cupy_simulator",)

    def backends(self, name: str | None = None, **options: Any) -> list[CupySimulator]:
        """Return the backends, optionally only the one called ``name``.

        Args:
            name: A backend name, or None for all.
            **options: Options to set on each backend returned.

        Returns:
            New backend instances.
        """
        names = self.BACKEND_NAMES if name is None else [n for n in self.BACKEND_NAMES if n == name]
        return [CupySimulator(provider=self, **options) for _ in names]

    def get_backend(self, name: str = "cupy_simulator", **options: Any) -> CupySimulator:
        """Return the backend called ``name``.

        Args:
            name: The backend's name.
            **options: Options to set on it.

        Returns:
            A new backend instance.

        Raises:
            CupySimulatorError: No backend has that name.
        """
        found = self.backends(name, **options)
        if not found:
            raise CupySimulatorError(f"no backend named {name!r}; available: {', '.join(self.BACKEND_NAMES)}")
        return found[0]

    def __repr__(self) -> str:
        return "CupyProvider()"

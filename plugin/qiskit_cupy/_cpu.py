"""The CPU extension: the build of the shared kernels that this processor runs best.

The extension is compiled once per instruction set it ships (``CMakeLists.txt``): a
source build holds ``_cpu_native`` (tuned for the building machine); a wheel or conda
package holds ``_cpu_baseline`` and, on x86-64, ``_cpu_avx2`` (x86-64-v3: AVX2, FMA,
BMI2). Importing this module imports the native build where there is one, else the
AVX2 build when the processor implements x86-64-v3 (asked of the baseline build), else
the baseline build. ``QISKIT_CUPY_CPU_BUILD`` (``native``, ``avx2`` or ``baseline``)
forces one, for tests and for comparing builds.

Every function of the chosen build is an attribute of this module, so the rest of the
package imports ``qiskit_cupy._cpu`` alone and never names a build.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from qiskit_cupy.errors import CupySimulatorError

#: The builds a package may hold, best first, each with the x86-64 level it needs.
BUILDS: dict[str, str | None] = {"native": None, "avx2": "x86-64-v3", "baseline": None}

#: The environment variable that forces a build.
BUILD_VARIABLE = "QISKIT_CUPY_CPU_BUILD"


def _import_build(name: str) -> ModuleType:
    return importlib.import_module(f"qiskit_cupy._cpu_{name}")


def _installed(name: str) -> bool:
    try:
        _import_build(name)
    except ModuleNotFoundError:
        return False
    return True


def _choose() -> tuple[str, ModuleType]:
    """The build to use and its module.

    Raises:
        CupySimulatorError: The forced build is unknown, not installed, or needs an
            instruction set this processor lacks; or no build is installed.
    """
    forced = os.environ.get(BUILD_VARIABLE, "").strip().lower()
    if forced:
        if forced not in BUILDS:
            raise CupySimulatorError(f"{BUILD_VARIABLE}={forced!r}: expected one of {', '.join(BUILDS)}")
        if not _installed(forced):
            raise CupySimulatorError(f"{BUILD_VARIABLE}={forced!r}: this installation has no {forced} build")
        level = BUILDS[forced]
        if level is not None and not _import_build("baseline").cpu_supports(level):
            raise CupySimulatorError(
                f"{BUILD_VARIABLE}={forced!r}: this processor does not implement {level}"
            )
        return forced, _import_build(forced)
    if _installed("native"):
        return "native", _import_build("native")
    if not _installed("baseline"):
        raise CupySimulatorError("the CPU extension is not installed: reinstall qiskit-cupy")
    baseline = _import_build("baseline")
    level = BUILDS["avx2"]
    if level is not None and _installed("avx2") and baseline.cpu_supports(level):
        return "avx2", _import_build("avx2")
    return "baseline", baseline


#: The name of the build in use (``native``, ``avx2`` or ``baseline``) and its module.
build, extension = _choose()


def __getattr__(name: str) -> Any:
    """The chosen build's function or constant ``name``."""
    try:
        return getattr(extension, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

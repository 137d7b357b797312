"""Where the installed kernel source lives, and reading its files.

CMake installs ``kernels/include`` and ``kernels/cuda`` into the package, so the text
that the compiler parses (``op_layout.cuh``) and that NVRTC compiles is the text the
CPU extension was built from.
"""

from __future__ import annotations

import importlib.resources
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable


def kernel_directory() -> Traversable:
    """Return the installed ``kernels`` directory of the package.

    Returns:
        The directory holding ``include/`` and ``cuda/``.
    """
    return importlib.resources.files("qiskit_cupy") / "kernels"


def read_kernel_file(relative_path: str) -> str:
    """Read one file of the installed kernel source.

    Args:
        relative_path: Path below ``kernels/``, such as ``include/gates.cuh``.

    Returns:
        The file's text.
    """
    node = kernel_directory()
    for part in relative_path.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")

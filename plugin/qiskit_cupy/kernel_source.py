"""The single kernel source: where it lives, the NVRTC source string, and its instantiations.

The GPU device (``devices/gpu.py``) and the offline NVRTC check (``nvrtc_check.py``) both
take the source, options and name expressions from here, so what CI compiles is what a
GPU runs.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from importlib.resources.abc import Traversable

#: Headers in dependency order; each is inlined once into the NVRTC source.
KERNEL_HEADERS: tuple[str, ...] = (
    "portable.cuh",
    "bits.cuh",
    "op_layout.cuh",
    "gates.cuh",
    "measure.cuh",
    "state.cuh",
)

#: The launcher file compiled after the headers.
KERNEL_LAUNCHERS = "kernels.cu"

#: Options qiskit-cupy passes to ``cupy.RawModule``.
NVRTC_OPTIONS: tuple[str, ...] = ("--std=c++17",)

#: Options CuPy adds itself when it compiles a RawModule with NVRTC (cupy/cuda/compiler.py);
#: the offline check adds them too so that it compiles what CuPy compiles.
CUPY_ADDED_OPTIONS: tuple[str, ...] = ("-ftz=true", "--device-as-default-execution-space")

#: C++ scalar type of each precision.
PRECISION_TYPES: dict[str, str] = {"double": "double", "single": "float"}

#: The gate body of each op kind name in ``op_layout.cuh`` templated on size K.
GATE_BODIES: dict[str, str] = {
    "kDense": "qc::DenseBody",
    "kDiagonal": "qc::DiagonalBody",
    "kPermutationKind": "qc::PermutationBody",
}

#: The gate body of each op kind whose size is known only at run time.
RUNTIME_SIZE_BODIES: dict[str, str] = {"kWideDiagonal": "qc::WideDiagonalBody"}

_LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s+"[^"]+"\s*$', re.MULTILINE)
_PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\s*$", re.MULTILINE)


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


@functools.cache
def cuda_source() -> str:
    """Return the NVRTC source: every header inlined, then the launchers.

    Inlining (instead of include paths) makes the text CuPy hashes for its compile
    cache change whenever any header changes.

    Returns:
        One self-contained CUDA C++ translation unit.
    """
    parts = []
    for name in (*(f"include/{header}" for header in KERNEL_HEADERS), f"cuda/{KERNEL_LAUNCHERS}"):
        text = read_kernel_file(name)
        text = _PRAGMA_ONCE.sub("", _LOCAL_INCLUDE.sub("", text))
        parts.append(f"// ---- {name} ----\n{text}")
    return "\n".join(parts)


def apply_op_kernel(kind_name: str, num_targets: int, precision: str) -> str:
    """Name the ``qc_apply_op`` instantiation for one op kind, size and precision.

    Args:
        kind_name: The op kind's constant name in ``op_layout.cuh`` (``kDense``...).
        num_targets: Number of target qubits of the op (ignored by run-time-size kinds).
        precision: ``"double"`` or ``"single"``.

    Returns:
        The C++ name expression of the kernel.
    """
    scalar = PRECISION_TYPES[precision]
    if kind_name in RUNTIME_SIZE_BODIES:
        return f"qc_apply_op<{RUNTIME_SIZE_BODIES[kind_name]}<{scalar}>, {scalar}>"
    return f"qc_apply_op<{GATE_BODIES[kind_name]}<{scalar}, {num_targets}>, {scalar}>"


def precision_kernel(name: str, precision: str) -> str:
    """Name a kernel template instantiated on precision only.

    Args:
        name: The template's name, such as ``qc_set_zero_state``.
        precision: ``"double"`` or ``"single"``.

    Returns:
        The C++ name expression of the kernel.
    """
    return f"{name}<{PRECISION_TYPES[precision]}>"


#: Kernels that are not templates.
PLAIN_KERNELS: tuple[str, ...] = ("qc_reduce_partials", "qc_sample")

#: Kernel templates instantiated on precision alone.
PRECISION_KERNELS: tuple[str, ...] = ("qc_set_zero_state", "qc_marginal_partials", "qc_probabilities")


def name_expressions(precision: str) -> tuple[str, ...]:
    """List every kernel instantiation one precision needs.

    Args:
        precision: ``"double"`` or ``"single"``.

    Returns:
        The name expressions to pass to ``cupy.RawModule``.
    """
    from qiskit_cupy.program import OP_LAYOUT

    names = [precision_kernel(name, precision) for name in PRECISION_KERNELS]
    for kind_name in GATE_BODIES:
        largest = (
            OP_LAYOUT["kMaxPermutationTargets"]
            if kind_name == "kPermutationKind"
            else OP_LAYOUT["kMaxTargets"]
        )
        names.extend(apply_op_kernel(kind_name, k, precision) for k in range(1, largest + 1))
    names.extend(apply_op_kernel(kind_name, 0, precision) for kind_name in RUNTIME_SIZE_BODIES)
    names.extend(PLAIN_KERNELS)
    return tuple(names)

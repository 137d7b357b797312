"""The single kernel source: where it lives, the NVRTC source string, and its instantiations.

The GPU device (``devices/gpu.py``) and the offline NVRTC check
(``tools/nvrtc_check.py``) both take the source, options and name expressions from here,
so what CI compiles is what a GPU runs. The op kernels' instantiations are derived from
the op-kind registry (``compiler/op_registry.py``).
"""

from __future__ import annotations

import functools
import re

from qiskit_cupy.compiler.op_registry import OP_KINDS
from qiskit_cupy.kernel_files import read_kernel_file

#: Headers in dependency order; each is inlined once into the NVRTC source.
KERNEL_HEADERS: tuple[str, ...] = (
    "portable.cuh",
    "bits.cuh",
    "measure.cuh",
    "classical.cuh",
    "op_layout.cuh",
    "gates.cuh",
    "expectation.cuh",
    "dynamic.cuh",
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

_LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s+"[^"]+"\s*$', re.MULTILINE)
_PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\s*$", re.MULTILINE)


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
        kind_name: The op kind's registry name (``kDense``...).
        num_targets: Number of target qubits of the op (ignored by run-time-size kinds).
        precision: ``"double"`` or ``"single"``.

    Returns:
        The C++ name expression of the kernel.
    """
    spec = OP_KINDS[kind_name]
    scalar = PRECISION_TYPES[precision]
    size = num_targets if spec.sized else 0
    return f"qc_apply_op<{spec.body}<{scalar}, {size}>, {scalar}>"


#: Static shared memory one CUDA block may have without opting in (dynamic shared
#: memory beyond it needs cudaFuncSetAttribute), on every supported architecture.
STATIC_SHARED_BYTES = 48 * 1024

#: Width (qubits) of the state blocks ``qc_apply_blocked_run`` holds in shared memory, per
#: precision: the largest power of two of amplitudes that fits STATIC_SHARED_BYTES,
#: 2**11 complex128 (32 KiB) and 2**12 complex64 (32 KiB); one bit more would take
#: 64 KiB. Half of the 48 KiB left unused also leaves a multiprocessor room for more
#: resident blocks (up to 7 on sm_90's 228 KiB) than a 48 KiB block would.
BLOCK_BITS: dict[str, int] = {"double": 11, "single": 12}


def blocked_run_kernel(precision: str) -> str:
    """Name the ``qc_apply_blocked_run`` instantiation of one precision.

    Args:
        precision: ``"double"`` or ``"single"``.

    Returns:
        The C++ name expression of the kernel, its block width :data:`BLOCK_BITS`.
    """
    return f"qc_apply_blocked_run<{PRECISION_TYPES[precision]}, {BLOCK_BITS[precision]}>"


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
PLAIN_KERNELS: tuple[str, ...] = (
    "qc_reduce_partials",
    "qc_sample",
    "qc_classical",
    "qc_decide_outcomes",
    "qc_choose_kraus",
    "qc_sample_shots",
)

#: Kernel templates instantiated on precision alone.
PRECISION_KERNELS: tuple[str, ...] = (
    "qc_set_zero_state",
    "qc_density_diagonal",
    "qc_marginal_partials",
    "qc_probabilities",
    "qc_collapse",
    "qc_gather",
    "qc_scale_states",
    "qc_expectation_partials",
)


def name_expressions(precision: str) -> tuple[str, ...]:
    """List every kernel instantiation one precision needs.

    Args:
        precision: ``"double"`` or ``"single"``.

    Returns:
        The name expressions to pass to ``cupy.RawModule``.
    """
    names = [precision_kernel(name, precision) for name in PRECISION_KERNELS]
    for kind_name, spec in OP_KINDS.items():
        names.extend(apply_op_kernel(kind_name, k, precision) for k in spec.sizes())
    names.append(blocked_run_kernel(precision))
    names.extend(PLAIN_KERNELS)
    return tuple(names)

"""Kernel launches as data, checked against the kernels' C++ signatures.

Every GPU launch is built here as a :class:`Launch` (kernel name expression, number of
work items, arguments) and its arguments are checked against the parameter list of the
``__global__`` function in ``kernels/cuda/kernels.cu``, parsed from the source text. A
wrong dtype or scalar width would otherwise reach the GPU as garbage. The builders
are plain Python, so the checks run (and are tested) on machines without a GPU.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.devices.base import COMPLEX_DTYPES
from qiskit_cupy.devices.kernel_source import KERNEL_LAUNCHERS, apply_op_kernel, precision_kernel
from qiskit_cupy.kernel_files import read_kernel_file

_KERNEL = re.compile(r"__global__\s+void\s+(\w+)\s*\(([^)]*)\)", re.DOTALL)

#: What each C++ parameter type must receive: a scalar of a dtype, or an array of one.
#: ``T`` stands for the precision's complex type.
_PARAMETER_KINDS: dict[str, tuple[str, Any]] = {
    "int": ("scalar", np.int32),
    "long long": ("scalar", np.int64),
    "qc::complex<T>*": ("array", "T"),
    "const qc::complex<T>*": ("array", "T"),
    "long long*": ("array", np.int64),
    "const long long*": ("array", np.int64),
    "double*": ("array", np.float64),
    "const double*": ("array", np.float64),
    "const unsigned long long*": ("array", np.uint64),
}


@functools.cache
def kernel_signatures() -> dict[str, tuple[str, ...]]:
    """Parse the parameter types of every ``__global__`` kernel in the launcher source.

    Returns:
        Kernel (template) name -> C++ parameter types, whitespace-normalized.
    """
    source = read_kernel_file(f"cuda/{KERNEL_LAUNCHERS}")
    signatures = {}
    for name, parameters in _KERNEL.findall(source):
        types = []
        for parameter in parameters.split(","):
            words = " ".join(parameter.split())
            types.append(re.sub(r"\s*\w+$", "", words).replace(" *", "*"))
        signatures[name] = tuple(types)
    return signatures


@dataclass(frozen=True)
class Launch:
    """One kernel launch: which instantiation, over how many items, with what arguments."""

    kernel: str
    num_items: int
    arguments: tuple[Any, ...]


def check_arguments(kernel: str, precision: str, arguments: tuple[Any, ...]) -> tuple[Any, ...]:
    """Check launch arguments against the kernel's C++ signature and fix scalar widths.

    Args:
        kernel: Name expression of the instantiation (``qc_sample``, ``qc_apply_op<...>``).
        precision: ``"double"`` or ``"single"``, the meaning of ``T``.
        arguments: Arrays (anything with a ``dtype``) and Python or NumPy integers.

    Returns:
        The arguments, with every scalar as the NumPy type of its C++ parameter.

    Raises:
        CupySimulatorError: An argument does not match its parameter.
    """
    template = kernel.split("<", 1)[0]
    expected = kernel_signatures()[template]
    if len(arguments) != len(expected):
        raise CupySimulatorError(
            f"{kernel} takes {len(expected)} arguments, the launch passes {len(arguments)}"
        )
    packed = []
    for position, (cpp_type, argument) in enumerate(zip(expected, arguments)):
        what, dtype = _PARAMETER_KINDS[cpp_type]
        if what == "scalar":
            if isinstance(argument, (bool, float)) or not isinstance(argument, (int, np.integer)):
                raise CupySimulatorError(f"{kernel} argument {position} must be an integer ({cpp_type})")
            limits = np.iinfo(dtype)
            if not limits.min <= int(argument) <= limits.max:
                raise CupySimulatorError(
                    f"{kernel} argument {position} ({cpp_type}) is out of range: {argument}"
                )
            packed.append(dtype(argument))
            continue
        wanted = np.dtype(COMPLEX_DTYPES[precision] if dtype == "T" else dtype)
        given = getattr(argument, "dtype", None)
        # A NumPy scalar has a dtype too, but would be passed by value, not as a pointer;
        # and None must be tested apart, since NumPy takes dtype None for float64.
        if isinstance(argument, np.generic) or given is None or given != wanted:
            raise CupySimulatorError(
                f"{kernel} argument {position} ({cpp_type}) needs a {wanted} array, "
                f"the launch passes a {type(argument).__name__} of dtype {given}"
            )
        packed.append(argument)
    return tuple(packed)


def _launch(kernel: str, num_items: int, precision: str, *arguments: Any) -> Launch:
    return Launch(kernel, num_items, check_arguments(kernel, precision, arguments))


def set_zero_state(states: Any, num_qubits: int, batch: int, precision: str) -> Launch:
    """The launch that sets a batch of states to |0...0>."""
    items = batch << num_qubits
    return _launch(precision_kernel("qc_set_zero_state", precision), items, precision,
                   states, num_qubits, items)


def apply_op(
    states: Any,
    num_qubits: int,
    batch: int,
    row: Any,
    data: Any,
    kind_name: str,
    num_targets: int,
    num_sorted: int,
    precision: str,
) -> Launch:
    """The launch of one encoded op on a batch of states."""
    items = batch << (num_qubits - num_sorted)
    kernel = apply_op_kernel(kind_name, num_targets, precision)
    return _launch(kernel, items, precision, states, num_qubits, items, row, data)


def marginal_partials(
    states: Any,
    num_qubits: int,
    batch: int,
    positions: Any,
    sorted_positions: Any,
    num_measured: int,
    chunk_bits: int,
    partials: Any,
    precision: str,
) -> Launch:
    """The launch of the chunked partial sums of marginal probabilities."""
    items = batch << (num_measured + chunk_bits)
    return _launch(precision_kernel("qc_marginal_partials", precision), items, precision,
                   states, num_qubits, items, positions, sorted_positions, num_measured,
                   chunk_bits, partials)


def probabilities(states: Any, num_items: int, out: Any, precision: str) -> Launch:
    """The launch of |amplitude|^2 for every amplitude of a batch of states."""
    return _launch(precision_kernel("qc_probabilities", precision), num_items, precision,
                   states, num_items, out)


def reduce_partials(partials: Any, num_sums: int, chunk_bits: int, sums: Any) -> Launch:
    """The launch that adds each run of 2**chunk_bits partials."""
    return _launch("qc_reduce_partials", num_sums, "double", partials, num_sums, chunk_bits, sums)


def sample(
    cumulative: Any, num_measured: int, batch: int, shots: int, seeds: Any, outcomes: Any
) -> Launch:
    """The launch that draws ``shots`` outcomes per row of cumulative probabilities."""
    items = batch * shots
    return _launch("qc_sample", items, "double", cumulative, num_measured, items, shots, seeds,
                   outcomes)

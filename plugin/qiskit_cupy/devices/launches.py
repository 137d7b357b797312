"""Kernel launches as data, checked twice before anything is enqueued.

Every GPU launch is built here as a :class:`Launch` (kernel name expression, number of
work items, arguments). Its arguments are checked against the parameter list of the
``__global__`` function in ``kernels/cuda/kernels.cu``, parsed from the source text (a
wrong dtype or scalar width would otherwise reach the GPU as garbage), and its values
by the CPU extension's own argument checks (``check_*`` in ``kernels/cpu/checks.cpp``),
on the host copies of the same values: both devices refuse the same calls with the same
message, and no launch can make a kernel read or write outside its arrays. The builders
are plain Python, so the checks run (and are tested) on machines without a GPU.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qiskit_cupy import _cpu
from qiskit_cupy.compiler.op_registry import OP_LAYOUT
from qiskit_cupy.devices.base import COMPLEX_DTYPES
from qiskit_cupy.devices.kernel_source import (
    BLOCK_BITS,
    KERNEL_LAUNCHERS,
    apply_op_kernel,
    blocked_run_kernel,
    precision_kernel,
)
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.kernel_files import read_kernel_file

_KERNEL = re.compile(r"__global__\s+void\s+(\w+)\s*\(([^)]*)\)", re.DOTALL)

#: What each C++ parameter type must receive: a scalar of a dtype, or an array of one.
#: ``T`` stands for the precision's complex type.
_PARAMETER_KINDS: dict[str, tuple[str, Any]] = {
    "int": ("scalar", np.int32),
    "long long": ("scalar", np.int64),
    "unsigned long long": ("scalar", np.uint64),
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
    """One kernel launch: which instantiation, over how many items, with what arguments.

    Attributes:
        kernel: The name expression.
        num_items: Work items of the launch.
        arguments: The kernel's arguments, checked.
        block_per_item: Each work item is taken by a whole CUDA block (whose threads
            share it out), not by one thread: the grid needs no more blocks than items.
    """

    kernel: str
    num_items: int
    arguments: tuple[Any, ...]
    block_per_item: bool = False


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


def checked_launch(
    kernel: str,
    num_items: int,
    precision: str,
    arguments: tuple[Any, ...],
    check_values: Callable[[], None],
    block_per_item: bool = False,
) -> Launch:
    """Check the arguments' types, then their values (``check_values``); build the launch."""
    packed = check_arguments(kernel, precision, arguments)
    check_values()
    return Launch(kernel, num_items, packed, block_per_item)


def set_zero_state(states: Any, num_qubits: int, batch: int, precision: str) -> Launch:
    """The launch that sets a batch of states to |0...0>."""
    items = batch << num_qubits
    return checked_launch(
        precision_kernel("qc_set_zero_state", precision),
        items,
        precision,
        (states, num_qubits, items),
        lambda: _cpu.check_states(int(num_qubits), int(batch), states.size),
    )


def density_diagonal(densities: Any, states: Any, num_qubits: int, batch: int, precision: str) -> Launch:
    """The launch that writes the states whose probabilities are the densities' diagonals."""
    items = batch << num_qubits
    return checked_launch(
        precision_kernel("qc_density_diagonal", precision),
        items,
        precision,
        (densities, states, num_qubits, items),
        lambda: _cpu.check_density_diagonal(int(num_qubits), int(batch), densities.size, states.size),
    )


def check_program(states: Any, num_qubits: int, batch: int, rows: np.ndarray, data_size: int) -> None:
    """Check a program's host rows as the CPU extension checks them, before it is launched.

    Args:
        states: The batch the program will run on.
        num_qubits: Width of each state.
        batch: Number of states.
        rows: The encoded op rows, on the host.
        data_size: Entries of the program's data buffer.

    Raises:
        ValueError: A row names a qubit outside the states or data outside the buffer.
    """
    _cpu.check_states(num_qubits, batch, states.size)
    _cpu.check_program(num_qubits, batch, rows, data_size)


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
    mask: tuple[Any, int, int],
) -> Launch:
    """The launch of one encoded op on a batch; its row is checked by :func:`check_program`.

    ``mask`` is (rows, row width, mask slot): the op runs on the states whose row holds
    a nonzero value in the slot, or on every state when the slot is negative.
    """
    items = batch << (num_qubits - num_sorted)
    kernel = apply_op_kernel(kind_name, num_targets, precision)
    rows, width, slot = mask
    return checked_launch(
        kernel,
        items,
        precision,
        (states, num_qubits, items, row, data, rows, width, slot),
        lambda: _cpu.check_rows(int(batch), rows.size, int(width), int(slot)),
    )


def blocked_run(
    states: Any,
    num_qubits: int,
    batch: int,
    ops: Any,
    num_ops: int,
    highest_qubit: int,
    data: Any,
    precision: str,
    mask: tuple[Any, int, int],
) -> Launch:
    """The launch of a blocked run: consecutive ops applied block by block in shared memory.

    The ops' rows are checked with the whole program by :func:`check_program`; here,
    that they fit the blocks: every qubit at most ``highest_qubit``, which must lie below
    the precision's block width, itself below ``num_qubits``.

    Args:
        states: The batch.
        num_qubits: Width of each state.
        batch: Number of states.
        ops: The run's rows on the device (``num_ops`` consecutive rows).
        num_ops: Ops in the run.
        highest_qubit: The highest qubit any op of the run reads or writes.
        data: The program's data on the device.
        precision: ``"double"`` or ``"single"``.
        mask: (rows, row width, mask slot), as for :func:`apply_op`.

    Returns:
        The launch, one work item per state block, each taken by a whole CUDA block.
    """
    block_bits = BLOCK_BITS[precision]
    num_blocks = batch << max(num_qubits - block_bits, 0)
    rows, width, slot = mask

    def check_values() -> None:
        if not highest_qubit < block_bits < num_qubits:
            raise ValueError(
                f"a blocked run needs every qubit below the block width {block_bits} "
                f"and states wider than it: qubit {highest_qubit}, {num_qubits} qubits"
            )
        if num_ops < 1 or ops.size != num_ops * OP_LAYOUT["kOpWidth"]:
            raise ValueError(f"a blocked run of {num_ops} ops needs as many rows, got {ops.size} values")
        _cpu.check_rows(int(batch), rows.size, int(width), int(slot))

    return checked_launch(
        blocked_run_kernel(precision),
        num_blocks,
        precision,
        (states, num_qubits, num_blocks, ops, num_ops, data, rows, width, slot),
        check_values,
        block_per_item=True,
    )


def marginal_partials(
    states: Any,
    num_qubits: int,
    batch: int,
    positions: tuple[int, ...],
    position_arrays: tuple[Any, Any],
    chunk_bits: int,
    partials: Any,
    precision: str,
) -> Launch:
    """The launch of the chunked partial sums of marginal probabilities.

    Args:
        states: The batch of states.
        num_qubits: Width of each state.
        batch: Number of states.
        positions: The measured qubits, on the host (their values are checked here).
        position_arrays: The device copies of ``positions`` and of ``sorted(positions)``.
        chunk_bits: log2 of the partial sums per outcome.
        partials: float64 output, ``batch * 2**(len(positions) + chunk_bits)`` entries.
        precision: ``"double"`` or ``"single"``.
    """
    host = np.asarray(positions, dtype=np.int64)
    measured = len(positions)
    items = batch << (measured + chunk_bits)

    def check_values() -> None:
        _cpu.check_states(int(num_qubits), int(batch), states.size)
        _cpu.check_marginal(int(num_qubits), int(batch), host, np.sort(host), int(chunk_bits), partials.size)

    return checked_launch(
        precision_kernel("qc_marginal_partials", precision),
        items,
        precision,
        (states, num_qubits, items, *position_arrays, measured, chunk_bits, partials),
        check_values,
    )


def expectation_partials(
    states: Any,
    num_qubits: int,
    batch: int,
    tables: tuple[Any, Any],
    table_arrays: tuple[Any, Any],
    chunk_bits: int,
    partials: Any,
    precision: str,
) -> Launch:
    """The launch of the chunked partial sums of observable pieces, one pass at a time.

    Args:
        states: The batch.
        num_qubits: Width of each state.
        batch: Number of states.
        tables: The host pass table and piece table (int64 rows of 3; see
            ``kernels/include/expectation.cuh``); their values are checked here.
        table_arrays: The device copies of ``tables``.
        chunk_bits: log2 of the partial sums per piece, state and part.
        partials: float64 output, ``pieces * batch * 2 * 2**chunk_bits`` entries.
        precision: ``"double"`` or ``"single"``.
    """
    passes, pieces = (np.asarray(table, dtype=np.int64).reshape(-1, 3) for table in tables)
    items = (len(passes) * batch) << chunk_bits

    def check_values() -> None:
        _cpu.check_states(int(num_qubits), int(batch), states.size)
        _cpu.check_expectation(int(num_qubits), int(batch), passes, pieces, int(chunk_bits), partials.size)

    return checked_launch(
        precision_kernel("qc_expectation_partials", precision),
        items,
        precision,
        (states, num_qubits, batch, items, *table_arrays, chunk_bits, partials),
        check_values,
    )


def probabilities(states: Any, out: Any, precision: str) -> Launch:
    """The launch of |amplitude|^2 for every amplitude of a batch of states."""
    items = np.size(states)
    return checked_launch(
        precision_kernel("qc_probabilities", precision),
        items,
        precision,
        (states, items, out),
        lambda: _cpu.check_probabilities(states.size, out.size),
    )


def reduce_partials(partials: Any, chunk_bits: int, sums: Any) -> Launch:
    """The launch that adds each run of 2**chunk_bits partials."""
    items = np.size(sums)
    return checked_launch(
        "qc_reduce_partials",
        items,
        "double",
        (partials, items, chunk_bits, sums),
        lambda: _cpu.check_reduce(partials.size, int(chunk_bits), sums.size),
    )


def sample(cumulative: Any, num_measured: int, shots: int, seeds: Any, outcomes: Any) -> Launch:
    """The launch that draws ``shots`` outcomes per row of cumulative probabilities."""
    items = np.size(outcomes)
    return checked_launch(
        "qc_sample",
        items,
        "double",
        (cumulative, num_measured, items, shots, seeds, outcomes),
        lambda: _cpu.check_sample(int(num_measured), int(shots), seeds.size, cumulative.size, outcomes.size),
    )

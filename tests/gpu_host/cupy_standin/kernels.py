"""``cupy.RawModule`` and its kernels: the given source built for the host, launched on streams.

The module's source is compiled by the host C++ compiler (``gpu_host.host_build``) with
every requested name expression instantiated. Calling a kernel converts each argument
as CuPy's ``cupy/cuda/function.pyx`` does (a device array becomes its data pointer; a
Python ``int`` a 64-bit integer, ``float`` a double, ``bool`` a bool; a NumPy scalar or
size-1 NumPy array its own dtype) and then checks it against the kernel's C++
parameter list, parsed from the source with the name expression's template arguments
substituted. CuPy itself would pass mismatched bytes and the GPU would read garbage;
the stand-in raises instead. The launch is queued on the stream and runs the whole
grid there.

One thing a real GPU would report and a host build would not survive: an op row that
sends a kernel outside its arrays (a stale or overwritten upload) is an illegal address
on a GPU but a crash of the test process here. So before each ``qc_apply_op`` runs,
the row it is about to read is checked, on the stream, with the CPU extension's row
check; a bad row becomes a device fault (``cudaErrorLaunchFailure``).
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpu_host import host_build
from gpu_host.cupy_standin import cuda
from gpu_host.cupy_standin.arrays import ndarray
from gpu_host.cupy_standin.machine import CUDADriverError, Launch, Work
from qiskit_cupy import _cpu
from qiskit_cupy.compiler.op_registry import OP_LAYOUT

_GLOBAL = re.compile(
    r"(?:template\s*<(?P<template>[^{;]*?)>\s*)?__global__\s+void\s+(?P<name>\w+)\s*\((?P<params>[^)]*)\)",
    re.DOTALL,
)

#: The C++ types a kernel parameter can have, by value or as a pointee, and their dtypes.
C_TYPES: dict[str, np.dtype] = {
    "bool": np.dtype(np.bool_),
    "int": np.dtype(np.int32),
    "long long": np.dtype(np.int64),
    "unsigned long long": np.dtype(np.uint64),
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
    "qc::complex<float>": np.dtype(np.complex64),
    "qc::complex<double>": np.dtype(np.complex128),
}

_CTYPES = {
    np.dtype(np.bool_): ctypes.c_bool,
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int64): ctypes.c_int64,
    np.dtype(np.uint64): ctypes.c_uint64,
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
}

MAX_GRID = 2**31 - 1
MAX_BLOCK = 1024


@dataclass(frozen=True)
class Parameter:
    """One kernel parameter: its C++ type, and the dtype it holds or points to."""

    cpp_type: str
    dtype: np.dtype
    pointer: bool


def _split_top_level(text: str) -> list[str]:
    """Comma-separated parts of ``text`` outside any <...>."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def parameters_of(code: str, name_expression: str) -> tuple[Parameter, ...]:
    """The C++ parameter list of one instantiation, template arguments substituted."""
    template, _, rest = name_expression.partition("<")
    arguments = _split_top_level(rest[:-1]) if rest else []
    for match in _GLOBAL.finditer(code):
        if match["name"] != template:
            continue
        names = [part.split()[-1] for part in _split_top_level(match["template"] or "")]
        if len(names) != len(arguments):
            raise CUDADriverError("CUDA_ERROR_NOT_FOUND", f"{name_expression}: wrong template arguments")
        substitutions = dict(zip(names, arguments))
        parameters = []
        for declaration in _split_top_level(match["params"]):
            cpp = " ".join(re.sub(r"\s*\b\w+$", "", declaration).split())
            for param, value in substitutions.items():
                cpp = re.sub(rf"\b{param}\b", value, cpp)
            pointer = cpp.endswith("*")
            base = " ".join(cpp.rstrip("*").replace("const ", "").split()).replace(" <", "<")
            if base not in C_TYPES:
                raise NotImplementedError(f"the CuPy stand-in cannot pass a {cpp} ({name_expression})")
            parameters.append(Parameter(cpp, C_TYPES[base], pointer))
        return tuple(parameters)
    raise CUDADriverError("CUDA_ERROR_NOT_FOUND", f"no __global__ function {template} in the module")


def _cupy_value(argument: Any) -> tuple[str, Any]:
    """How CuPy passes one argument: ("pointer", device array | None) or ("value", NumPy scalar)."""
    if argument is None or isinstance(argument, ndarray):
        return "pointer", argument
    if isinstance(argument, np.ndarray):
        if argument.size != 1:
            raise TypeError(
                f"You are trying to pass a numpy.ndarray of shape {argument.shape} as a kernel "
                "parameter. Only numpy.ndarrays of size one can be passed by value. If you meant "
                "to pass a pointer to __global__ memory, you need to pass a cupy.ndarray instead."
            )
        return "value", argument.reshape(()).copy()[()]
    if type(argument) is bool:
        return "value", np.bool_(argument)
    if type(argument) is int:
        return "value", np.uint64(argument) if argument >= 2**63 else np.int64(argument)
    if type(argument) is float:
        return "value", np.float64(argument)
    if type(argument) is complex:
        return "value", np.complex128(argument)
    if isinstance(argument, np.generic):
        return "value", argument
    raise TypeError(f"Unsupported type {type(argument)}")


class RawKernel:
    """A kernel of a module, by name expression."""

    def __init__(self, module: RawModule, name: str) -> None:
        self._module = module
        self.name = name
        self.parameters = parameters_of(module.code, name)

    def _c_arguments(self, args: tuple[Any, ...], device_id: int) -> list[Any]:
        if len(args) != len(self.parameters):
            raise TypeError(f"{self.name} takes {len(self.parameters)} arguments, got {len(args)}")
        converted = []
        for position, (parameter, argument) in enumerate(zip(self.parameters, args)):
            how, value = _cupy_value(argument)
            where = f"{self.name} argument {position} ({parameter.cpp_type})"
            if parameter.pointer != (how == "pointer"):
                raise TypeError(f"{where}: CuPy would pass {type(argument).__name__} by {how}")
            if how == "value":
                if value.dtype != parameter.dtype:
                    raise TypeError(
                        f"{where}: CuPy would pass a {value.dtype} ({value.dtype.itemsize} bytes)"
                    )
                converted.append(_CTYPES[parameter.dtype](value.item()))
                continue
            if value is None:
                converted.append(ctypes.c_void_p(0))
                continue
            if value.dtype != parameter.dtype:
                raise TypeError(f"{where}: points to {parameter.dtype}, the array holds {value.dtype}")
            if value._memory.device_id != device_id:
                raise CUDADriverError(
                    "CUDA_ERROR_ILLEGAL_ADDRESS",
                    f"{where}: memory of device {value._memory.device_id} used by a kernel "
                    f"on device {device_id}",
                )
            converted.append(ctypes.c_void_p(value.ptr))
        return converted

    def __call__(
        self,
        grid: tuple[int, ...],
        block: tuple[int, ...],
        args: Any,
        shared_mem: int = 0,
        stream: cuda.Stream | None = None,
        enable_cooperative_groups: bool = False,
    ) -> None:
        if not isinstance(grid, tuple) or not isinstance(block, tuple):
            raise TypeError("grid and block must be tuples")
        grid3 = tuple(max(1, int(value)) for value in (grid + (1, 1))[:3])
        block3 = tuple(max(1, int(value)) for value in (block + (1, 1))[:3])
        if grid3[1:] != (1, 1) or block3[1:] != (1, 1) or shared_mem or enable_cooperative_groups:
            raise NotImplementedError("the CuPy stand-in launches 1-D grids without shared memory")
        if grid3[0] > MAX_GRID or block3[0] > MAX_BLOCK:
            raise CUDADriverError("CUDA_ERROR_INVALID_VALUE", f"grid {grid3} x block {block3} too large")
        device_id = cuda.current_device_id()
        machine = cuda.machine()
        machine.raise_fault(device_id)
        queue = cuda.stream_queue(stream)
        if queue.device_id != device_id:
            raise CUDADriverError(
                "CUDA_ERROR_INVALID_HANDLE",
                f"a stream of device {queue.device_id} used for a launch on device {device_id}",
            )
        c_arguments = self._c_arguments(tuple(args), device_id)
        library = self._module.library()
        name, grid_x, block_x = self.name, grid3[0], block3[0]
        failing = name in machine.failing_kernels
        row_check = _row_check(name, tuple(args))

        def run() -> None:
            if failing:
                raise RuntimeError(f"injected fault in {name}")
            row_check()
            library.launch(name, grid_x, block_x, c_arguments)

        machine.record_launch(Launch(name, device_id, queue.ptr, grid_x, block_x))
        queue.enqueue(Work(run, is_kernel=True))


def _row_check(name: str, args: tuple[Any, ...]) -> Any:
    """For ``qc_apply_op`` and ``qc_apply_blocked_run``: a check, to run on the stream, of
    the rows the kernel will read (and, for a blocked run, that each of their qubits lies
    in the block held in shared memory)."""
    if name.startswith("qc_apply_blocked_run<"):
        return _blocked_rows_check(name, args)
    if not name.startswith("qc_apply_op<"):
        return lambda: None
    states, num_qubits, row, data = args[0]._view, int(args[1]), args[3]._view, args[4]._view

    def check() -> None:
        _cpu.check_program(num_qubits, states.size >> num_qubits, row.reshape(1, -1), data.size)

    return check


class RawModule:
    """``cupy.RawModule(code=..., options=..., name_expressions=...)``, compiled on first use."""

    def __init__(
        self,
        code: str | None = None,
        *,
        path: str | None = None,
        options: tuple[str, ...] = (),
        backend: str = "nvrtc",
        translate_cucomplex: bool = False,
        enable_cooperative_groups: bool = False,
        name_expressions: Any = None,
        jitify: bool = False,
    ) -> None:
        if code is None or path is not None or backend != "nvrtc" or translate_cucomplex or jitify:
            raise NotImplementedError("the CuPy stand-in compiles NVRTC source code only")
        if not all(isinstance(option, str) for option in options):
            raise TypeError("options must be strings")
        self.code = code
        self.options = tuple(options)
        self.name_expressions = tuple(name_expressions or ())
        self._library: host_build.HostKernels | None = None
        self._kernels: dict[str, RawKernel] = {}
        self._lock = threading.Lock()

    def library(self) -> host_build.HostKernels:
        """The host build of this module's source and name expressions."""
        with self._lock:
            if self._library is None:
                self._library = host_build.host_library(self.code, self.name_expressions)
            return self._library

    def get_function(self, name: str) -> RawKernel:
        """The kernel of a name expression given to the module (exactly as given)."""
        if name not in self.name_expressions:
            raise CUDADriverError("CUDA_ERROR_NOT_FOUND", f"named symbol not found: {name}")
        self.library()
        with self._lock:
            if name not in self._kernels:
                self._kernels[name] = RawKernel(self, name)
            return self._kernels[name]


def _blocked_rows_check(name: str, args: tuple[Any, ...]) -> Any:
    """The rows check of a ``qc_apply_blocked_run<T, BlockBits>`` launch: the rows as
    ``qc_apply_op``'s, each qubit (targets, sorted positions) below BlockBits, states wider."""
    block_bits = int(_split_top_level(name.partition("<")[2][:-1])[1])
    states, num_qubits, ops, num_ops, data = (
        args[0]._view,
        int(args[1]),
        args[3]._view,
        int(args[4]),
        args[5]._view,
    )
    layout = OP_LAYOUT

    def check() -> None:
        rows = ops[: num_ops * layout["kOpWidth"]].reshape(num_ops, -1)
        _cpu.check_program(num_qubits, states.size >> num_qubits, rows, data.size)
        for row in rows:
            targets = row[layout["kTargets"] : layout["kTargets"] + row[layout["kNumTargets"]]]
            positions = row[layout["kSorted"] : layout["kSorted"] + row[layout["kNumSorted"]]]
            if max([*targets, *positions], default=-1) >= block_bits or num_qubits <= block_bits:
                raise ValueError(f"a row of a blocked run reaches past its {block_bits}-qubit block")

    return check

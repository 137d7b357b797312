"""Offline NVRTC check: compile the GPU kernels for every supported architecture.

No GPU or driver is needed: NVRTC (through ``cuda-bindings``) compiles the exact source,
options and name expressions that :class:`~qiskit_cupy.devices.gpu.GpuDevice` hands to
``cupy.RawModule``, plus the options CuPy adds itself, for each architecture and
precision. ptxas's verbose log gives each kernel's register count, spills and stack
frame, mapped back to the kernel's name expression through NVRTC's lowered names.

Only CuPy's ``-I`` of its own header directory is left out: the source is self-contained
(``kernel_source.cuda_source`` inlines every header), so the path cannot change what is
compiled.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from qiskit_cupy.devices import kernel_source
from qiskit_cupy.errors import CupySimulatorError

#: The GPU architectures qiskit-cupy supports: Volta to Blackwell.
SUPPORTED_ARCHITECTURES: tuple[str, ...] = (
    "sm_70",
    "sm_75",
    "sm_80",
    "sm_86",
    "sm_89",
    "sm_90",
    "sm_100",
    "sm_120",
)

#: The precisions the GPU device compiles a module for.
PRECISIONS: tuple[str, ...] = tuple(kernel_source.PRECISION_TYPES)

#: Asks ptxas to log each entry function's registers, spills and stack frame.
PTXAS_VERBOSE = "--ptxas-options=-v"

#: The name of the source file in NVRTC's messages.
PROGRAM_NAME = "qiskit_cupy_kernels.cu"

_ENTRY = re.compile(r"Compiling entry function '(?P<name>[^']+)' for '(?P<arch>[^']+)'")
_FRAME = re.compile(
    r"(?P<stack>\d+) bytes stack frame, (?P<stores>\d+) bytes spill stores, "
    r"(?P<loads>\d+) bytes spill loads"
)
_REGISTERS = re.compile(r"Used (?P<registers>\d+) registers")


@dataclass(frozen=True)
class KernelResources:
    """What ptxas reports for one kernel instantiation on one architecture.

    Attributes:
        architecture: The target, such as ``"sm_80"``.
        precision: ``"double"`` or ``"single"``.
        kernel: The name expression, as ``kernel_source.name_expressions`` lists it.
        lowered_name: The mangled name NVRTC gave the instantiation.
        registers: Registers per thread.
        spill_store_bytes: Bytes of register spill stores.
        spill_load_bytes: Bytes of register spill loads.
        stack_frame_bytes: Bytes of per-thread stack frame (local memory).
    """

    architecture: str
    precision: str
    kernel: str
    lowered_name: str
    registers: int
    spill_store_bytes: int
    spill_load_bytes: int
    stack_frame_bytes: int


@dataclass(frozen=True)
class CompileReport:
    """The outcome of compiling one precision's module for one architecture.

    Attributes:
        architecture: The target, such as ``"sm_80"``.
        precision: ``"double"`` or ``"single"``.
        kernels: One entry per name expression, in the order they were requested.
        cubin_bytes: Size of the compiled cubin.
        log: NVRTC's full log (warnings and ptxas output).
    """

    architecture: str
    precision: str
    kernels: tuple[KernelResources, ...]
    cubin_bytes: int
    log: str


@dataclass(frozen=True)
class CheckReport:
    """The outcome of compiling every requested architecture and precision.

    Attributes:
        nvrtc_version: NVRTC's (major, minor) version.
        compiled: One report per (architecture, precision), architectures outermost.
        skipped: Supported architectures that this NVRTC cannot target.
    """

    nvrtc_version: tuple[int, int]
    compiled: tuple[CompileReport, ...]
    skipped: tuple[str, ...]

    @property
    def kernels(self) -> tuple[KernelResources, ...]:
        """Every kernel of every compile, in order."""
        return tuple(kernel for report in self.compiled for kernel in report.kernels)


def _nvrtc() -> ModuleType:
    """Import NVRTC's Python bindings.

    Returns:
        The ``cuda.bindings.nvrtc`` module.

    Raises:
        CupySimulatorError: cuda-bindings is not installed.
    """
    try:
        from cuda.bindings import nvrtc
    except ImportError as error:
        raise CupySimulatorError(
            f"the NVRTC check needs cuda-bindings 12.x; install qiskit-cupy[nvrtc-check] ({error})"
        ) from error
    module: ModuleType = nvrtc
    return module


def _call(nvrtc: ModuleType, function: str, *arguments: Any) -> Any:
    """Call an NVRTC function and return what it returns after its status.

    Args:
        nvrtc: The ``cuda.bindings.nvrtc`` module.
        function: The NVRTC function's name.
        *arguments: Its arguments.

    Returns:
        The single value after the status, or a tuple when there are several.

    Raises:
        CupySimulatorError: NVRTC returned a status other than success.
    """
    status, *results = getattr(nvrtc, function)(*arguments)
    if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        _, message = nvrtc.nvrtcGetErrorString(status)
        raise CupySimulatorError(f"{function} failed: {message.decode()}")
    return results[0] if len(results) == 1 else tuple(results)


def nvrtc_version() -> tuple[int, int]:
    """Return the installed NVRTC's version.

    Returns:
        (major, minor).

    Raises:
        CupySimulatorError: cuda-bindings is not installed.
    """
    version: tuple[int, int] = _call(_nvrtc(), "nvrtcVersion")
    return version


def select_architectures(
    requested: Sequence[str] | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Choose the architectures to compile for, given what this NVRTC can target.

    Args:
        requested: Architectures asked for, each in :data:`SUPPORTED_ARCHITECTURES`;
            None asks for all of them.

    Returns:
        (architectures to compile, supported architectures skipped because this NVRTC
        cannot target them). Only a default request skips; an explicit one fails.

    Raises:
        CupySimulatorError: An architecture is not supported by qiskit-cupy, or was
            requested explicitly and this NVRTC cannot target it.
    """
    nvrtc = _nvrtc()
    targets = {f"sm_{number}" for number in _call(nvrtc, "nvrtcGetSupportedArchs")}
    if requested is None:
        chosen = tuple(arch for arch in SUPPORTED_ARCHITECTURES if arch in targets)
        skipped = tuple(arch for arch in SUPPORTED_ARCHITECTURES if arch not in targets)
        return chosen, skipped
    unknown = [arch for arch in requested if arch not in SUPPORTED_ARCHITECTURES]
    if unknown:
        raise CupySimulatorError(
            f"unsupported architecture(s) {', '.join(unknown)}; "
            f"qiskit-cupy supports {', '.join(SUPPORTED_ARCHITECTURES)}"
        )
    missing = [arch for arch in requested if arch not in targets]
    if missing:
        major, minor = nvrtc_version()
        raise CupySimulatorError(f"NVRTC {major}.{minor} cannot compile for {', '.join(missing)}")
    return tuple(requested), ()


def compile_options(architecture: str) -> tuple[str, ...]:
    """The NVRTC options of one architecture: what CuPy compiles with, plus ptxas -v.

    Args:
        architecture: The target, such as ``"sm_80"``.

    Returns:
        The options, as CuPy passes them to NVRTC for a device of that architecture.
    """
    return (
        *kernel_source.NVRTC_OPTIONS,
        *kernel_source.CUPY_ADDED_OPTIONS,
        f"-arch={architecture}",
        PTXAS_VERBOSE,
    )


def _program_log(nvrtc: ModuleType, program: Any) -> str:
    """Return a program's NVRTC log (compiler messages and ptxas output) as text."""
    size: int = _call(nvrtc, "nvrtcGetProgramLogSize", program)
    log = b" " * size
    _call(nvrtc, "nvrtcGetProgramLog", program, log)
    return log.rstrip(b"\0 ").decode(errors="replace")


def _ptxas_resources(log: str) -> dict[str, tuple[int, int, int, int]]:
    """Parse ptxas's verbose log.

    Args:
        log: NVRTC's program log, compiled with :data:`PTXAS_VERBOSE`.

    Returns:
        Mangled entry function name -> (registers, spill store bytes, spill load bytes,
        stack frame bytes).

    Raises:
        CupySimulatorError: An entry function's report lacks a register or spill line.
    """
    entries = list(_ENTRY.finditer(log))
    resources = {}
    for entry, following in zip(entries, [*entries[1:], None]):
        block = log[entry.end() : following.start() if following else len(log)]
        frame = _FRAME.search(block)
        registers = _REGISTERS.search(block)
        if frame is None or registers is None:
            raise CupySimulatorError(
                f"ptxas reported no register or spill counts for {entry['name']}:\n{block}"
            )
        resources[entry["name"]] = (
            int(registers["registers"]),
            int(frame["stores"]),
            int(frame["loads"]),
            int(frame["stack"]),
        )
    return resources


def compile_kernels(
    architecture: str,
    precision: str,
    source: str | None = None,
    names: Sequence[str] | None = None,
) -> CompileReport:
    """Compile one precision's kernels for one architecture and report their resources.

    Args:
        architecture: The target, such as ``"sm_80"``.
        precision: ``"double"`` or ``"single"``.
        source: The CUDA source; by default ``kernel_source.cuda_source()``, the one the
            GPU device compiles.
        names: The name expressions to instantiate; by default
            ``kernel_source.name_expressions(precision)``.

    Returns:
        Each name expression's lowered name and ptxas resources.

    Raises:
        CupySimulatorError: cuda-bindings is missing, or compilation failed (the message
            holds NVRTC's log), or ptxas reported nothing for a kernel.
    """
    nvrtc = _nvrtc()
    source = kernel_source.cuda_source() if source is None else source
    names = kernel_source.name_expressions(precision) if names is None else names
    options = [option.encode() for option in compile_options(architecture)]
    program = _call(nvrtc, "nvrtcCreateProgram", source.encode(), PROGRAM_NAME.encode(), 0, [], [])
    try:
        for name in names:
            _call(nvrtc, "nvrtcAddNameExpression", program, name.encode())
        (status,) = nvrtc.nvrtcCompileProgram(program, len(options), options)
        log = _program_log(nvrtc, program)
        if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise CupySimulatorError(
                f"NVRTC failed to compile the {precision} kernels for {architecture} "
                f"with options {' '.join(compile_options(architecture))}:\n{log}"
            )
        resources = _ptxas_resources(log)
        kernels = []
        for name in names:
            lowered = _call(nvrtc, "nvrtcGetLoweredName", program, name.encode()).decode()
            if lowered not in resources:
                raise CupySimulatorError(f"ptxas reported nothing for {name} ({lowered}) on {architecture}")
            kernels.append(KernelResources(architecture, precision, name, lowered, *resources[lowered]))
        cubin_bytes = _call(nvrtc, "nvrtcGetCUBINSize", program)
    finally:
        nvrtc.nvrtcDestroyProgram(program)
    return CompileReport(architecture, precision, tuple(kernels), cubin_bytes, log)


def check_kernels(
    architectures: Sequence[str] | None = None,
    precisions: Sequence[str] = PRECISIONS,
) -> CheckReport:
    """Compile the GPU kernels for each architecture and precision.

    Args:
        architectures: Targets from :data:`SUPPORTED_ARCHITECTURES`; None compiles for
            every one this NVRTC can target and reports the others as skipped.
        precisions: Precisions from :data:`PRECISIONS`.

    Returns:
        Every compile's report, and the skipped architectures.

    Raises:
        CupySimulatorError: cuda-bindings is missing, an architecture or precision is not
            supported, no architecture is left to compile for, or a compilation failed.
    """
    unknown = [precision for precision in precisions if precision not in PRECISIONS]
    if unknown:
        raise CupySimulatorError(
            f"unknown precision(s) {', '.join(unknown)}; choose from {', '.join(PRECISIONS)}"
        )
    chosen, skipped = select_architectures(architectures)
    if not chosen:
        major, minor = nvrtc_version()
        raise CupySimulatorError(
            f"NVRTC {major}.{minor} can target none of {', '.join(SUPPORTED_ARCHITECTURES)}"
        )
    targets = [(architecture, precision) for architecture in chosen for precision in precisions]
    # NVRTC releases the GIL while it compiles, so the compiles run side by side on the
    # machine's cores; map keeps the reports in the order of ``targets``.
    with ThreadPoolExecutor(max_workers=min(len(targets), os.cpu_count() or 1)) as pool:
        compiled = tuple(pool.map(lambda target: compile_kernels(*target), targets))
    return CheckReport(nvrtc_version(), compiled, skipped)

"""``qiskit-cupy info``: what this installation can run on, and why not where it cannot.

Every fact is read from the library that owns it (Qiskit, CuPy, the CUDA runtime and
driver, NVRTC, the CPU extension); a fact that cannot be read is reported with the
reason instead of a value. The exit code says whether a GPU is usable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

import qiskit

from qiskit_cupy import _cpu
from qiskit_cupy.devices.gpu import gpu_unavailable_reason, visible_gpus
from qiskit_cupy.tools.arguments import Subcommands
from qiskit_cupy.tools.tables import format_table
from qiskit_cupy.version import __version__

#: Where CuPy keeps the kernels NVRTC compiled, unless ``CUPY_CACHE_DIR`` says otherwise.
CUPY_DEFAULT_CACHE = os.path.join("~", ".cupy", "kernel_cache")


def _cuda_version(encoded: int) -> str:
    """CUDA's integer version (12090) as text (12.9)."""
    return f"{encoded // 1000}.{encoded % 1000 // 10}"


def _probe(read: Callable[[], str]) -> dict[str, str | None]:
    """Read one version: ``{"version": ..., "reason": None}``, or the reason it cannot."""
    try:
        return {"version": read(), "reason": None}
    except ImportError as error:
        return {"version": None, "reason": f"not installed ({error})"}
    except Exception as error:  # noqa: BLE001 - each library fails in its own way; say how
        return {"version": None, "reason": f"{type(error).__name__}: {error}"}


def _cupy() -> Any:
    import cupy

    return cupy


def _driver_version() -> str:
    encoded = _cupy().cuda.runtime.driverGetVersion()
    if encoded == 0:
        raise RuntimeError("no NVIDIA driver is installed")
    return _cuda_version(encoded)


def _nvrtc_version() -> str:
    major, minor = _cupy().cuda.nvrtc.getVersion()
    return f"{major}.{minor}"


def _gpus() -> list[dict[str, Any]]:
    """Each visible GPU's name, compute capability and memory (free and total bytes)."""
    cupy = _cupy()
    gpus = []
    for ordinal in visible_gpus():
        properties = cupy.cuda.runtime.getDeviceProperties(ordinal)
        with cupy.cuda.Device(ordinal):
            free, total = cupy.cuda.runtime.memGetInfo()
        name = properties["name"]
        gpus.append(
            {
                "ordinal": ordinal,
                "name": name.decode() if isinstance(name, bytes) else str(name),
                "compute_capability": f"{properties['major']}.{properties['minor']}",
                "memory_free_bytes": int(free),
                "memory_total_bytes": int(total),
            }
        )
    return gpus


def collect_info() -> dict[str, Any]:
    """Gather what ``info`` reports.

    Returns:
        A JSON-ready dict: versions (each ``{"version", "reason"}``), whether a GPU is
        usable and why not, the GPUs, the CPU fallback and the kernel cache.
    """
    reason = gpu_unavailable_reason()
    simd, simd_bits = _cpu.simd()
    return {
        "qiskit_cupy": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "qiskit": qiskit.__version__,
        "cupy": _probe(lambda: str(_cupy().__version__)),
        "cuda_runtime": _probe(lambda: _cuda_version(_cupy().cuda.runtime.runtimeGetVersion())),
        "cuda_driver": _probe(_driver_version),
        "nvrtc": _probe(_nvrtc_version),
        "gpu_usable": reason is None,
        "gpu_unavailable_reason": reason,
        "gpus": _gpus() if reason is None else [],
        "cpu_fallback": {
            "threads": _cpu.max_threads(),
            "build": _cpu.build,
            "simd": simd,
            "simd_bits": simd_bits,
        },
        "kernel_cache": os.path.expanduser(os.environ.get("CUPY_CACHE_DIR", CUPY_DEFAULT_CACHE)),
    }


def _version_text(entry: dict[str, str | None]) -> str:
    return entry["version"] or f"unavailable: {entry['reason']}"


def info_text(info: dict[str, Any]) -> str:
    """Lay out what :func:`collect_info` gathered for a person to read."""
    gib = 1 << 30
    lines = [
        f"qiskit-cupy   {info['qiskit_cupy']}",
        f"Python        {info['python']} ({info['platform']})",
        f"Qiskit        {info['qiskit']}",
        f"CuPy          {_version_text(info['cupy'])}",
        f"CUDA runtime  {_version_text(info['cuda_runtime'])}",
        f"CUDA driver   {_version_text(info['cuda_driver'])}",
        f"NVRTC         {_version_text(info['nvrtc'])}",
        f"CPU fallback  {info['cpu_fallback']['threads']} threads, "
        f"{info['cpu_fallback']['simd']} ({info['cpu_fallback']['simd_bits']}-bit vectors), "
        f"{info['cpu_fallback']['build']} build",
        f"kernel cache  {info['kernel_cache']} (CuPy's; CUPY_CACHE_DIR moves it)",
    ]
    if not info["gpu_usable"]:
        lines.append(f"GPU           none usable: {info['gpu_unavailable_reason']}")
        return "\n".join(lines)
    rows = [
        [
            gpu["ordinal"],
            gpu["name"],
            gpu["compute_capability"],
            f"{gpu['memory_free_bytes'] / gib:.1f}",
            f"{gpu['memory_total_bytes'] / gib:.1f}",
        ]
        for gpu in info["gpus"]
    ]
    headings = ["GPU", "name", "compute capability", "free GiB", "total GiB"]
    return "\n".join(lines) + "\n\n" + format_table(rows, headings)


def _info(arguments: argparse.Namespace) -> int:
    """Run ``info``; 0 when a GPU is usable, 1 when only the CPU fallback is."""
    info = collect_info()
    print(json.dumps(info, indent=2) if arguments.json else info_text(info))
    if not info["gpu_usable"] and not arguments.json:
        print("qiskit-cupy info: no usable GPU; jobs run on the CPU fallback", file=sys.stderr)
    return 0 if info["gpu_usable"] else 1


def add_info_command(commands: Subcommands) -> None:
    """Add ``info`` to the command line.

    Args:
        commands: The top-level subcommands.
    """
    parser = commands.add_parser(
        "info",
        help="versions, GPUs, the CPU fallback and the kernel cache",
        description=(
            "Report qiskit-cupy's, Qiskit's, CuPy's, the CUDA runtime's and driver's and "
            "NVRTC's versions (or why each is unavailable), every GPU with its name, "
            "compute capability and free/total memory, the CPU fallback's threads and "
            "SIMD width, and where compiled kernels are cached. Exit code 0 when a GPU "
            "is usable, 1 when only the CPU fallback is."
        ),
        epilog="examples:\n  qiskit-cupy info\n  qiskit-cupy info --json | jq .gpus",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(run=_info)

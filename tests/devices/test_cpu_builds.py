"""The CPU extension's loader (``qiskit_cupy._cpu``): which build it imports, and its errors.

The loader runs once, at import, so each case imports it in a fresh interpreter with
``QISKIT_CUPY_CPU_BUILD`` set. The wheel's own builds (baseline and AVX2) are run in
``tests/test_wheel.py``; this installation is a source build, which holds the native
build only.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qiskit_cupy import _cpu
from qiskit_cupy.errors import CupySimulatorError


def _import_with(build: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "QISKIT_CUPY_CPU_BUILD": build}
    code = "from qiskit_cupy import _cpu; print(_cpu.build, _cpu.simd()[0])"
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120
    )


def test_a_source_build_loads_its_native_build() -> None:
    assert _cpu.build == "native"
    assert _cpu.extension.__name__ == "qiskit_cupy._cpu_native"
    assert _cpu.run_program is _cpu.extension.run_program


@pytest.mark.parametrize("spelling", ["native", " Native "])
def test_forcing_the_installed_build_loads_it(spelling: str) -> None:
    done = _import_with(spelling)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "native"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ("fastest", "QISKIT_CUPY_CPU_BUILD='fastest': expected one of native, avx2, baseline"),
        ("avx2", "QISKIT_CUPY_CPU_BUILD='avx2': this installation has no avx2 build"),
        ("baseline", "QISKIT_CUPY_CPU_BUILD='baseline': this installation has no baseline build"),
    ],
)
def test_a_build_that_cannot_be_loaded_is_refused_by_name(build: str, message: str) -> None:
    done = _import_with(build)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"qiskit_cupy.errors.{CupySimulatorError.__name__}: ")
    assert message in last_line


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'qiskit_cupy._cpu' has no attribute 'no_such_kernel'"):
        _cpu.no_such_kernel  # noqa: B018 - the lookup is the test


@pytest.mark.parametrize("level", ["x86-64-v2", "x86-64-v3", "x86-64-v4"])
def test_cpu_supports_reads_the_processor(level: str) -> None:
    """Agrees with the processor's flags as Linux reports them (x86-64 only)."""
    flags = _linux_cpu_flags()
    if flags is None:
        pytest.skip("needs an x86-64 Linux machine (/proc/cpuinfo flags)")
    needed = {
        "x86-64-v2": {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"},
        "x86-64-v3": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
        "x86-64-v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
    }
    levels = ["x86-64-v2", "x86-64-v3", "x86-64-v4"]
    expected = all(needed[lower] <= flags for lower in levels[: levels.index(level) + 1])
    assert _cpu.cpu_supports(level) == expected


def test_cpu_supports_refuses_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown x86-64 level: avx9"):
        _cpu.cpu_supports("avx9")


def test_simd_names_what_the_build_was_compiled_for() -> None:
    name, bits = _cpu.simd()
    assert (name, bits) in {("AVX-512", 512), ("AVX2", 256), ("AVX", 256), ("SSE2", 128), ("NEON", 128)}
    flags = _linux_cpu_flags()
    if flags is not None:  # a native build uses the widest vectors this processor has
        widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
        assert widest is None or name == widest


def _linux_cpu_flags() -> set[str] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return flags if "sse2" in flags else None
    except OSError:
        return None
    return None

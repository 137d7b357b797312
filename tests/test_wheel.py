"""The wheel a distribution build makes: what it holds, and that each CPU build in it works.

The wheel is built once for the module, as a distributor builds it
(``pip wheel . -C cmake.define.QISKIT_CUPY_NATIVE=OFF``, in a build directory of its
own). It must hold the Python package with ``py.typed`` and the CPU extension's loader,
the kernel sources NVRTC compiles at run time, the baseline build of the CPU extension
and, on x86-64, its x86-64-v3 (AVX2) build, and the provider's entry point. Each build
it holds is then imported from the unpacked wheel in a fresh interpreter (with no
site-packages processing, so the editable install cannot shadow it) and runs a random
circuit, compared with ``qiskit.quantum_info.Statevector``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
X86_64 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--wheel-dir",
            str(out / "dist"),
            "-C",
            "cmake.define.QISKIT_CUPY_NATIVE=OFF",
            "-C",
            f"build-dir={out / 'build'}",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (built,) = (out / "dist").glob("qiskit_cupy-*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_holds_the_package_the_kernel_sources_and_py_typed(wheel: Path) -> None:
    names = _names(wheel)
    package = ROOT / "plugin" / "qiskit_cupy"
    modules = {f"qiskit_cupy/{path.relative_to(package).as_posix()}" for path in package.rglob("*.py")}
    assert modules <= names
    assert "qiskit_cupy/py.typed" in names
    kernels = {
        f"qiskit_cupy/kernels/{path.relative_to(ROOT / 'kernels').as_posix()}"
        for folder in ("include", "cuda")
        for path in (ROOT / "kernels" / folder).iterdir()
    }
    assert kernels and kernels <= names


def test_wheel_holds_the_portable_cpu_builds_and_no_native_one(wheel: Path) -> None:
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    names = _names(wheel)
    assert f"qiskit_cupy/_cpu_baseline{suffix}" in names
    assert (f"qiskit_cupy/_cpu_avx2{suffix}" in names) == X86_64
    assert not any(name.startswith("qiskit_cupy/_cpu_native") for name in names)


def test_wheel_declares_the_provider_and_the_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [
            name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")
        ]
        text = archive.read(entry_points).decode()
    assert "[qiskit.providers]\ncupy = qiskit_cupy.provider:CupyProvider" in text
    assert "[console_scripts]\nqiskit-cupy = qiskit_cupy.tools.cli:main" in text


#: Run in a fresh interpreter on the unpacked wheel: a random circuit on the CPU device
#: in both precisions, unfused and fused into blocks of up to 5 qubits (every dense and
#: diagonal kernel size), against Statevector; and which build the loader chose.
CHECK = """
import json
import numpy as np
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector
import qiskit_cupy
from qiskit_cupy import CupySimulator, _cpu

circuit = random_circuit(9, 14, max_operands=3, seed=11)
exact = Statevector(circuit).data
errors = {}
for precision in ("double", "single"):
    for fusion_threshold in (1, 64):
        backend = CupySimulator(device="CPU", precision=precision, fusion_threshold=fusion_threshold)
        state = backend.run(circuit, save_statevector=True).result().data(0)["statevector"]
        errors[f"{precision}, fusion_threshold={fusion_threshold}"] = float(
            np.max(np.abs(np.asarray(state) - exact))
        )
print(json.dumps({
    "package": qiskit_cupy.__file__,
    "build": _cpu.build,
    "simd": _cpu.simd()[0],
    "errors": errors,
}))
"""

#: Largest amplitude error allowed per precision.
TOLERANCE = {"double": 1e-10, "single": 1e-5}


def _assert_exact(report: dict[str, object]) -> None:
    errors = report["errors"]
    assert isinstance(errors, dict) and len(errors) == 4
    for case, error in errors.items():
        assert error < TOLERANCE[case.split(",")[0]], (report["build"], case, error)


def _run_from_wheel(unpacked: Path, build: str | None) -> dict[str, object]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    # Python's -S skips site-packages and its .pth files (the editable install's import
    # hook among them); PYTHONPATH puts the unpacked wheel before the installed dependencies.
    environment["PYTHONPATH"] = os.pathsep.join([str(unpacked), sysconfig.get_paths()["purelib"]])
    if build is not None:
        environment["QISKIT_CUPY_CPU_BUILD"] = build
    done = subprocess.run(
        [sys.executable, "-S", "-c", CHECK], env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _runs_x86_64_v3() -> bool:
    from qiskit_cupy import _cpu

    return bool(_cpu.cpu_supports("x86-64-v3"))


def test_loader_picks_the_best_build_this_processor_runs(unpacked: Path) -> None:
    report = _run_from_wheel(unpacked, None)
    assert Path(str(report["package"])).is_relative_to(unpacked)
    assert report["build"] == ("avx2" if X86_64 and _runs_x86_64_v3() else "baseline")
    _assert_exact(report)


@pytest.mark.parametrize("build", ["baseline", "avx2"])
def test_each_build_in_the_wheel_computes_the_exact_state(unpacked: Path, build: str) -> None:
    if build == "avx2" and not X86_64:
        pytest.skip("the AVX2 build exists only on x86-64")
    if build == "avx2" and not _runs_x86_64_v3():
        pytest.skip("this processor does not implement x86-64-v3 (AVX2, FMA, BMI2)")
    report = _run_from_wheel(unpacked, build)
    assert report["build"] == build
    if X86_64:
        assert report["simd"] == {"avx2": "AVX2", "baseline": "SSE2"}[build]
    _assert_exact(report)

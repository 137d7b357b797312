"""``qiskit-cupy info``: every fact from the library that owns it, the reason where one
cannot be read, and an exit code that says whether a GPU is usable."""

from __future__ import annotations

import json

import pytest
import qiskit

from conftest import use_standin
from gpu_host.cupy_standin.machine import DeviceSpec
from qiskit_cupy import _cpu
from qiskit_cupy.devices.gpu import gpu_unavailable_reason
from qiskit_cupy.tools.cli import main
from qiskit_cupy.version import __version__


def _info(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    code = main(["info", *arguments])
    return code, capsys.readouterr().out


def test_json_reports_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _info(capsys, "--json")
    info = json.loads(out)
    reason = gpu_unavailable_reason()
    assert code == (0 if reason is None else 1)
    assert info["gpu_usable"] is (reason is None)
    assert info["gpu_unavailable_reason"] == reason
    assert info["qiskit_cupy"] == __version__ and info["qiskit"] == qiskit.__version__
    assert info["cpu_fallback"]["threads"] == _cpu.max_threads()
    assert (info["cpu_fallback"]["simd"], info["cpu_fallback"]["simd_bits"]) == tuple(_cpu.simd())
    assert info["cpu_fallback"]["build"] == _cpu.build == "native"
    for name in ("cupy", "cuda_runtime", "cuda_driver", "nvrtc"):
        entry = info[name]
        assert (entry["version"] is None) != (entry["reason"] is None), name


def test_the_text_says_why_there_is_no_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    reason = gpu_unavailable_reason()
    if reason is None:
        pytest.skip("a GPU is usable here; the stand-in test covers the GPU table")
    code, out = _info(capsys)
    assert code == 1
    assert f"none usable: {reason}" in out
    assert f"{_cpu.max_threads()} threads" in out


def test_every_gpu_is_listed_with_its_memory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = [
        DeviceSpec(name="stand-in A", memory_bytes=2 << 30, compute_capability=(8, 0)),
        DeviceSpec(name="stand-in B", memory_bytes=6 << 30, compute_capability=(9, 0)),
    ]
    use_standin(monkeypatch, specs)
    code, out = _info(capsys, "--json")
    gpus = json.loads(out)["gpus"]
    assert code == 0
    assert [
        (gpu["ordinal"], gpu["name"], gpu["compute_capability"], gpu["memory_total_bytes"]) for gpu in gpus
    ] == [(0, "stand-in A", "8.0", 2 << 30), (1, "stand-in B", "9.0", 6 << 30)]
    assert all(0 < gpu["memory_free_bytes"] <= gpu["memory_total_bytes"] for gpu in gpus)
    code, out = _info(capsys)
    assert code == 0
    assert "stand-in B" in out and "6.0" in out and "compute capability" in out

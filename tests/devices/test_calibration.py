"""The CPU's measured op costs (``devices/calibration.py``): kept once per machine, shared
by processes, and what the CPU device's fusion prices with.

The measurements are not timed against anything here (the machine is shared): the tests
check where they are kept, that one measurement serves every process and thread count,
and that fusion follows the kept costs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit

from qiskit_cupy import CupySimulator, _cpu
from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.compiler.ops import OpKind
from qiskit_cupy.devices import calibration, kernel_source
from qiskit_cupy.devices.cpu import CpuDevice


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory of the test's own, small measured states, no memo."""
    monkeypatch.setenv(calibration.CACHE_VARIABLE, str(tmp_path))
    monkeypatch.setattr(calibration, "MEASURED_STATE_BYTES", 1 << 18)
    monkeypatch.setattr(calibration, "_memo", {})
    return tmp_path


def _stored(cache: Path) -> dict[str, dict[str, object]]:
    return json.loads((cache / "cpu-costs.json").read_text(encoding="utf-8"))


def test_cache_dir_follows_the_variable_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(calibration.CACHE_VARIABLE, str(tmp_path / "mine"))
    assert calibration.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(calibration.CACHE_VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert calibration.cache_dir() == tmp_path / "xdg" / "qiskit-cupy"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert calibration.cache_dir() == Path("~/.cache/qiskit-cupy").expanduser()


@pytest.mark.parametrize("precision", ["double", "single"])
def test_a_measurement_is_kept_and_reused(cache: Path, precision: str) -> None:
    first = calibration.calibration(precision)
    assert first.precision == precision and len(first.dense_seconds) == len(calibration.DENSE_SIZES)
    assert len(first.blocked_seconds) == len(calibration.DENSE_SIZES) + 1
    assert first.block_bits == _cpu.cache_block_bits(8 if precision == "single" else 16)
    values = (first.bandwidth, *first.dense_seconds, *first.blocked_seconds)
    assert all(np.isfinite(value) and value > 0 for value in values)
    key = calibration.machine_key(precision)
    assert _stored(cache)[key]["measured_at"] == first.measured_at
    calibration._memo.clear()  # a new process reads the file instead of measuring
    assert calibration.calibration(precision) == first
    again = calibration.calibration(precision, remeasure=True)
    assert again.measured_at > first.measured_at
    assert _stored(cache)[key]["measured_at"] == again.measured_at


def test_the_roofline_prices_dense_ops_with_the_measured_costs(cache: Path) -> None:
    measured = calibration.calibration("double")
    roofline = measured.roofline()
    assert roofline.dense_seconds == measured.dense_seconds
    width = measured.block_bits + 4
    for size, seconds in enumerate(measured.dense_seconds, start=1):
        modeled = roofline.op_seconds(width, OpKind.DENSE, size, 0, 16)
        assert modeled == pytest.approx(roofline.launch_seconds + seconds * 2**width)
        with_controls = roofline.op_seconds(width, OpKind.DENSE, size, 2, 16, top_qubit=width - 1)
        assert with_controls == pytest.approx(roofline.launch_seconds + seconds * 2 ** (width - 2))
        in_cache = roofline.op_seconds(width, OpKind.DENSE, size, 0, 16, top_qubit=measured.block_bits - 1)
        assert in_cache == pytest.approx(measured.blocked_seconds[size] * 2**width)
    diagonal = roofline.op_seconds(width, OpKind.DIAGONAL, 2, 0, 16, top_qubit=1)
    assert diagonal == pytest.approx(measured.blocked_seconds[0] * 2**width)
    small = roofline.op_seconds(measured.block_bits, OpKind.DENSE, 1, 0, 16, top_qubit=0)
    assert small == pytest.approx(
        roofline.launch_seconds + measured.dense_seconds[0] * 2**measured.block_bits
    )
    assert CpuDevice().roofline("double") == roofline


def test_changed_kernels_are_measured_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A calibration belongs to the kernel bodies it measured: other kernels (an upgrade
    or a rebuild within one version) measure their own, and the old entry stays."""
    first = calibration.calibration("double")
    old_key = calibration.machine_key("double")
    assert hashlib.sha256(kernel_source.cuda_source().encode()).hexdigest()[:12] in old_key
    monkeypatch.setattr(calibration, "kernel_digest", lambda: "0123456789ab")
    calibration._memo.clear()
    changed = calibration.calibration("double")
    assert changed.measured_at > first.measured_at
    stored = _stored(cache)
    assert calibration.machine_key("double") in stored and old_key in stored


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2]", '{"KEY": {"precision": "double"}}', '{"KEY": {"bandwidth": -1}}'],
)
def test_a_damaged_file_is_measured_again(cache: Path, content: str) -> None:
    key = calibration.machine_key("double")
    (cache / "cpu-costs.json").write_text(content.replace("KEY", key), encoding="utf-8")
    measured = calibration.calibration("double")
    assert _stored(cache)[key]["measured_at"] == measured.measured_at


def test_an_unwritable_cache_keeps_the_measurement_in_memory(
    cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = cache / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(calibration.CACHE_VARIABLE, str(blocker / "cache"))
    first = calibration.calibration("single")
    assert "cannot keep CPU calibrations" in caplog.text
    assert calibration.calibration("single") is first


def test_concurrent_processes_share_one_measurement(cache: Path) -> None:
    """Processes started together on an empty cache all fuse with the same costs."""
    code = (
        "from qiskit_cupy.devices import calibration as c; c.MEASURED_STATE_BYTES = 1 << 18; "
        "print(c.calibration('double').measured_at)"
    )
    environment = {**os.environ, calibration.CACHE_VARIABLE: str(cache)}
    processes = [
        subprocess.Popen([sys.executable, "-c", code], env=environment, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=300)[0].strip() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert len(set(outputs)) == 1
    assert float(outputs[0]) == _stored(cache)[calibration.machine_key("double")]["measured_at"]


def test_the_thread_count_does_not_change_how_a_circuit_fuses() -> None:
    """Fusion prices with one measurement, made on every core, whatever the job's threads:
    the final states are bit-for-bit equal."""
    circuit = random_circuit(15, 8, max_operands=2, seed=5)
    states = [
        CupySimulator(device="CPU", max_parallel_threads=threads)
        .run(circuit, save_statevector=True, fusion_threshold=1)
        .result()
        .data(0)["statevector"]
        for threads in (1, 2)
    ]
    assert np.array_equal(np.asarray(states[0]), np.asarray(states[1]))


def test_a_roofline_without_measurements_keeps_the_model() -> None:
    roofline = Roofline(bandwidth=1e10, flop_rate=1e10, launch_seconds=0.0)
    assert roofline.op_seconds(10, OpKind.DENSE, 3, 0, 16) == pytest.approx(max(2 * 16, 64) * 2**10 / 1e10)


def test_results_report_the_passes_over_memory() -> None:
    """Metadata "passes": a run of low gates is one pass (cache blocking); gates that
    alternate between a low and the top qubit are one pass each."""
    backend = CupySimulator(device="CPU", fusion_enable=False)
    low = QuantumCircuit(18)
    for layer in range(4):
        for qubit in range(6):
            low.rx(0.1 * (layer + qubit + 1), qubit)
    metadata = backend.run(low, shots=1).result().results[0].metadata
    assert (metadata["num_ops"], metadata["passes"]) == (24, 1)
    alternating = QuantumCircuit(18)
    for layer in range(4):
        alternating.rx(0.3 + layer, 0)
        alternating.rx(0.2 + layer, 17)
    metadata = backend.run(alternating, shots=1).result().results[0].metadata
    assert (metadata["num_ops"], metadata["passes"]) == (8, 8)


def test_the_gpu_reports_one_pass_per_blocked_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the GPU (the CuPy stand-in here), a run of low gates is one shared-memory launch."""
    from conftest import use_standin

    use_standin(monkeypatch)
    backend = CupySimulator(device="GPU", fusion_enable=False)
    circuit = QuantumCircuit(13)
    for layer in range(3):
        for qubit in range(5):
            circuit.rx(0.1 * (layer + qubit + 1), qubit)
        circuit.rx(0.5, 12)
    metadata = backend.run(circuit, shots=1).result().results[0].metadata
    assert (metadata["num_ops"], metadata["passes"]) == (18, 6)

"""pytest-benchmark suites: the benchmark circuits on qiskit-cupy's CPU fallback, Aer and qsim.

Each circuit, width and precision is one benchmark group, in which every setting of every
simulator runs the same transpiled circuit, so pytest-benchmark's table compares them side
by side. The suites are off by default (``--benchmark-skip`` in pyproject's addopts,
which ``-o addopts=`` replaces); run them with::

    python -m pytest tests/benchmarks -o addopts=-ra --benchmark-only --benchmark-group-by=group

``QISKIT_CUPY_BENCH_QUBITS`` sets the widths (``qiskit-cupy bench --qubits`` syntax,
default ``12:20:4``). A peer that is not installed is skipped with the reason;
``qiskit-cupy bench`` is the command that also covers the GPU, measures the memory
bandwidth and writes the report.
"""

from __future__ import annotations

import functools
import os

import pytest
from qiskit import QuantumCircuit

from qiskit_cupy.options import PRECISIONS
from qiskit_cupy.tools import bench

WIDTHS = bench.parse_qubits(os.environ.get("QISKIT_CUPY_BENCH_QUBITS", "12:20:4"))
SHOTS = 1024
#: Every setting of the CPU simulators: (simulator name, setting).
CASES = [
    pytest.param(name, setting, id=f"{name}[{setting.label}]")
    for name in ("cupy-cpu", "aer", "qsim")
    for setting in bench.SIMULATORS[name].settings
]


@functools.cache
def _circuit(name: str, num_qubits: int) -> QuantumCircuit:
    return bench.benchmark_circuit(name, num_qubits)


@pytest.mark.parametrize("simulator, setting", CASES)
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("num_qubits", WIDTHS)
@pytest.mark.parametrize("circuit", tuple(bench.CIRCUITS))
def test_circuit(
    benchmark,
    circuit: str,
    num_qubits: int,
    precision: str,
    simulator: str,
    setting: bench.Setting,
) -> None:
    """Run to counts: one warm-up, then timed rounds, grouped by circuit, width, precision."""
    spec = bench.SIMULATORS[simulator]
    reason = spec.unavailable_reason() or spec.precision_note(precision)
    if reason is None and circuit in bench.DYNAMIC_CIRCUITS and not spec.runs_dynamic:
        reason = f"{simulator} is not given circuits with mid-circuit measurement"
    if (
        reason is None
        and ("dynamic" if circuit in bench.DYNAMIC_CIRCUITS else "static") not in setting.circuits
    ):
        reason = f"{simulator}'s setting {setting.label} is not used for this kind of circuit"
    if reason is not None:
        pytest.skip(reason)
    benchmark.group = f"{circuit} {num_qubits} qubits {precision}"
    run = setting.prepare(_circuit(circuit, num_qubits), precision, SHOTS)
    output = benchmark.pedantic(run, warmup_rounds=1, rounds=3, iterations=1)
    benchmark.extra_info["num_ops"] = output.num_ops
    assert sum(output.counts.values()) == SHOTS

"""Presenting a benchmark's report: the table and its notes, and the files written.

:func:`table` and :func:`notes` are what ``qiskit-cupy bench`` prints; the ``write_*``
functions write the raw results (CSV and JSON), the plot (PNG, with matplotlib) and the
report page (Markdown).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qiskit_cupy.tools.bench.circuits import (
    BASIS_GATES,
    HEA_LAYERS,
    MIDCIRCUIT_LAYERS,
    REPETITION_ROUNDS,
    SEED,
)
from qiskit_cupy.tools.bench.machine import BANDWIDTH_BYTES, Machine
from qiskit_cupy.tools.bench.measurement import (
    H100_BANDWIDTH,
    PRUNE_FACTOR,
    PRUNE_MIN_SECONDS,
    BenchConfig,
    BenchReport,
    derived_rows,
    short_reason,
)
from qiskit_cupy.tools.bench.peers import SIMULATORS


def _ratio_peers(report: BenchReport) -> list[str]:
    """The simulators with at least one measured time: the table's ratio columns."""
    measured = {m.simulator for m in report.measurements if m.seconds is not None}
    return [name for name in report.config.simulators if name in measured]


def table(report: BenchReport) -> tuple[list[str], list[list[str]]]:
    """The results table: headings and rows of text.

    Args:
        report: The report.

    Returns:
        The headings and the rows.
    """
    peers = _ratio_peers(report)
    model = "cupy-gpu" in report.config.simulators
    states = any(m.num_states is not None for m in report.measurements)
    headings = ["circuit", "qubits", "precision", "simulator", "setting", "time [s]"]
    headings += [f"time/{peer}" for peer in peers] + ["passes", "GB moved", "BW fraction", "peak MB"]
    headings += ["H100 model [s]"] if model else []
    headings += ["states"] if states else []
    rows = []
    for row in derived_rows(report):
        seconds = row["seconds"]
        time_text = f"{seconds:.4g}" if seconds is not None else f"not measured ({short_reason(row['note'])})"
        cells = [
            row["circuit"],
            str(row["qubits"]),
            row["precision"],
            row["simulator"],
            row["setting"] or "-",
            time_text,
        ]
        cells += [_number(row.get(f"ratio_{peer}"), "{:.2f}") for peer in peers]
        fraction = row.get("bandwidth_fraction")
        cells.append("-" if row["passes"] is None else str(row["passes"]))
        cells.append(_number(None if row.get("bytes_moved") is None else row["bytes_moved"] / 1e9, "{:.3g}"))
        cells.append("-" if fraction is None else f"{100 * fraction:.2g}%")
        peak = row["peak_memory_bytes"]
        cells.append("-" if peak is None else f"{peak / 2**20:.0f}")
        if model:
            cells.append(_number(row.get("h100_model_seconds"), "{:.3g}"))
        if states:
            cells.append("-" if row["num_states"] is None else str(row["num_states"]))
        rows.append(cells)
    return headings, rows


def _number(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def notes(report: BenchReport) -> list[str]:
    """Lines that explain the table's columns and anything not measured.

    Args:
        report: The report.

    Returns:
        The lines.
    """
    bandwidth = report.machine.bandwidth
    lines = [
        f"time: median of {report.config.repeat} run(s) after one warm-up, circuit in, "
        f"counts out ({report.config.shots} shots); each peer's best setting is shown.",
        "time/peer: this time divided by the peer's time (below 1: faster than the peer).",
        "passes: qiskit-cupy's passes over the state (result metadata: one per cache-blocked "
        "run of ops, one per other op); GB moved: passes x 2 x state bytes.",
        f"BW fraction: GB moved / {bandwidth.best / 1e9:.1f} GB/s (measured here) divided by the "
        "time: 100% would be every pass at full bandwidth.",
        "peak MB: how far the process's resident memory rose during the warm-up run (all "
        "simulators run in this process).",
    ]
    if any(m.num_states is not None for m in report.measurements):
        lines.append(
            "states: the most states qiskit-cupy kept alive for a dynamic circuit's shots "
            "(shot branching: at most min(shots, 2^measurements))."
        )
    if "cupy-gpu" in report.config.simulators:
        lines.append(
            f"H100 model: a MODEL, not a measurement: num_ops x 2 x state bytes / "
            f"{H100_BANDWIDTH / 1e12:.2f} TB/s (H100 SXM HBM3 peak; one pass per op)."
        )
    reasons = {(m.simulator, m.note) for m in report.measurements if m.seconds is None and m.note}
    lines += [f"{simulator}: not measured ({note})" for simulator, note in sorted(reasons)]
    return lines


def write_csv(report: BenchReport, path: Path) -> None:
    """Write one CSV row per measurement with its derived figures.

    Args:
        report: The report.
        path: The file to write.
    """
    rows = [{key: _csv_value(value) for key, value in row.items()} for row in derived_rows(report)]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        writer.writerows(rows)


def _csv_value(value: Any) -> Any:
    """A value for a CSV cell: lists joined by ``;``, mappings as ``key=value; ...``."""
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return "; ".join(f"{key}={item}" for key, item in value.items())
    return value


def write_json(report: BenchReport, path: Path, command: str) -> None:
    """Write everything: command, machine, and each measurement with its samples.

    Args:
        report: The report.
        path: The file to write.
        command: The exact command that produced it.
    """
    document = {
        "command": command,
        "config": asdict(report.config),
        "machine": asdict(report.machine),
        "bandwidth_bytes_per_second": report.machine.bandwidth.best,
        "h100_model_bandwidth_bytes_per_second": H100_BANDWIDTH,
        "seconds": report.seconds,
        "measurements": derived_rows(report),
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def plot_unavailable_reason() -> str | None:
    """Say why no plot can be drawn (matplotlib missing), or return None."""
    if importlib.util.find_spec("matplotlib") is None:
        return "matplotlib is not installed (pip install 'qiskit-cupy[bench]')"
    return None


def write_plot(report: BenchReport, path: Path) -> None:
    """Plot time against width, one panel per circuit, with matplotlib's Agg backend.

    Each measured simulator and precision is a line; the CPU fallback's bandwidth limit
    (its passes at the bandwidth measured in the run) is a grey dash-dotted line; the H100
    model, where there is one, is a dotted line labelled as a model.

    Args:
        report: The report.
        path: The PNG file to write.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = derived_rows(report)
    circuits = report.config.circuits
    columns = min(2, len(circuits))
    figure = Figure(figsize=(6 * columns, 4.2 * math.ceil(len(circuits) / columns)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(math.ceil(len(circuits) / columns), columns, squeeze=False).ravel()
    colors = {name: f"C{index}" for index, name in enumerate(SIMULATORS)}
    for axis, circuit in zip(axes, circuits):
        for simulator in report.config.simulators:
            for precision in report.config.precisions:
                marker = "o" if precision == "double" else "s"
                for key, label, line in (
                    ("seconds", f"{simulator} {precision}", "-" if marker == "o" else "--"),
                    ("bandwidth_limit_seconds", f"{simulator} {precision} bandwidth limit", "-."),
                    ("h100_model_seconds", f"H100 {precision} (model, not measured)", ":"),
                ):
                    points = [
                        (row["qubits"], row[key])
                        for row in rows
                        if (row["circuit"], row["simulator"], row["precision"])
                        == (circuit, simulator, precision)
                        and row.get(key) is not None
                    ]
                    if points:
                        axis.plot(
                            *zip(*points),
                            line,
                            marker=marker,
                            markersize=3,
                            color="grey" if key == "bandwidth_limit_seconds" else colors[simulator],
                            label=label,
                        )
        axis.set_title(circuit)
        axis.set_xlabel("qubits")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel("seconds (run to counts)")
        axis.set_yscale("log")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    for axis in axes[len(circuits) :]:
        axis.set_visible(False)
    machine = report.machine
    figure.suptitle(f"qiskit-cupy bench on {machine.cpu_model} ({machine.cores} cores)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def markdown_table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Lay a table out in Markdown.

    Args:
        headings: The column headings.
        rows: The rows of text.

    Returns:
        The table, without a trailing newline.
    """
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def write_markdown(report: BenchReport, path: Path, command: str, plot: Path | None) -> None:
    """Write the report page: machine, command, method, table, plot.

    Args:
        report: The report.
        path: The Markdown file to write.
        command: The exact command that produced it.
        plot: The PNG to show, or None.
    """
    gpu, gpu_method = _gpu_texts(report.machine.gpu)
    image = (
        ""
        if plot is None
        else (f"\n![time against qubits per circuit]({os.path.relpath(plot, path.parent)})\n")
    )
    headings, rows = table(report)
    text = f"""# Benchmarks

<!-- Generated by `qiskit-cupy bench`; do not edit by hand, run the command below again. -->

qiskit-cupy against its peers on the same circuits, in one run of `qiskit-cupy bench`
started {report.machine.started} ({report.seconds / 60:.1f} minutes).

{_machine_section(report.machine, gpu)}

## Command

```
{command}
```

{_method_section(report.config, gpu_method)}

## Results

{markdown_table(headings, rows)}
{image}"""
    path.write_text(text, encoding="utf-8")


def _gpu_texts(gpu: str | None) -> tuple[str, str]:
    """What the report page says of the GPU.

    Args:
        gpu: Why no GPU was usable, or None when one was.

    Returns:
        Its cell in the Machine table and its item in the Method list.
    """
    if gpu is None:
        return (
            "usable: cupy-gpu times are taken with CUDA events after synchronizing",
            "cupy-gpu is timed with CUDA events around the run, after synchronizing",
        )
    return (
        f"none usable here: {gpu}",
        "no GPU is usable on this machine, so cupy-gpu is not measured (the rows say "
        "why); no GPU time is ever estimated in its place",
    )


def _machine_section(machine: Machine, gpu: str) -> str:
    """The report page's Machine section: CPU, memory, bandwidth, GPU, load, software.

    Args:
        machine: The machine.
        gpu: The GPU's cell (see :func:`_gpu_texts`).

    Returns:
        The section, without a trailing newline.
    """
    bandwidth = machine.bandwidth
    bandwidth_text = (
        f"{bandwidth.best / 1e9:.1f} GB/s: best of an in-place update "
        f"({bandwidth.update / 1e9:.1f} GB/s) and a copy ({bandwidth.copy / 1e9:.1f} GB/s) "
        f"of {BANDWIDTH_BYTES >> 20} MiB with numpy on {bandwidth.threads} threads, "
        "bytes read + written, best of before and after the simulators"
    )
    load = f"{machine.load_before:.2f} at the start, {machine.load_after:.2f} at the end"
    versions = ", ".join(f"{name} {version}" for name, version in machine.versions.items())
    return f"""## Machine

| | |
|---|---|
| CPU | {machine.cpu_model}, {machine.cores} logical cores |
| Memory | {machine.memory_bytes / 2**30:.1f} GiB |
| Memory bandwidth (measured in the run) | {bandwidth_text} |
| GPU | {gpu} |
| 1-minute load average | {load} |
| Software | {versions} |"""


def _method_section(config: BenchConfig, gpu_method: str) -> str:
    """The report page's Method section: circuits, simulators, timing and each column.

    Args:
        config: What was benchmarked.
        gpu_method: How the GPU was timed, or why it was not (see :func:`_gpu_texts`).

    Returns:
        The section, without a trailing newline.
    """
    return f"""## Method

- Circuits, all transpiled once to `{", ".join(BASIS_GATES)}` at optimization level 0
  and given unchanged to every simulator: **qft** (Hadamards, then `QFTGate`),
  **random** (qsim-style: depth = width, random sqrt(X)/sqrt(Y)/sqrt(W) layers and CZ
  on alternating neighbour pairs, seed {SEED}), **hea** (hardware-efficient ansatz:
  {HEA_LAYERS} layers of RY+RZ and a CX ladder, random bound parameters), **ghz**; each
  measured on every qubit. Dynamic circuits: **midcircuit** ({MIDCIRCUIT_LAYERS} layers
  of random one-qubit gates and a CX chain, each followed by a mid-circuit measurement
  of two qubits) and **repcode** ({REPETITION_ROUNDS} rounds of bit-flip repetition-code
  syndrome measurement, the width being 2d - 1 for distance d, ancillas measured and
  reset each round); qsim is not given them, and Aer runs them with fusion and
  `shot_branching_enable` on (its fastest setting for them here: 2x faster than without
  branching on midcircuit at 16 qubits, 2x on repcode at 9).
- Simulators: **cupy-gpu** (qiskit-cupy, `device="GPU"`, only where a GPU is usable),
  **cupy-cpu** (qiskit-cupy's CPU fallback, `device="CPU"`, every core), **aer** (Qiskit
  Aer statevector, best of `fusion_enable` on and off), **qsim** (qsimcirq, best of
  `max_fused_gate_size` 4 and 2, `cpu_threads` = every core; single precision only,
  since qsim simulates in float32; the cirq circuit is built before timing).
- Time: run to result, circuit in, counts out ({config.shots} shots), median of
  {config.repeat} run(s) after one warm-up. A peer setting whose warm-up is over
  {PRUNE_FACTOR:g}x the best median so far (and over {PRUNE_MIN_SECONDS:g} s) is not timed
  further; the JSON output lists every setting's time.
- **time/peer**: the row's time divided by the peer's time (below 1: faster than the peer).
- **passes** (qiskit-cupy): its passes over the state, from the result metadata: one
  per cache-blocked run of ops (consecutive ops on qubits below a block of half a core's
  L2 cache, applied block by block), one per other op. **GB moved**: passes x 2 x state
  bytes (each pass reads and writes every amplitude).
- **BW fraction** (cupy-cpu): the bandwidth limit, GB moved / measured bandwidth, divided
  by the measured time; the plot draws the limit as a grey dash-dotted line.
- **peak MB**: how far this process's resident memory rose during the simulator's
  warm-up run (Linux's VmHWM, reset before it); every simulator runs in the process.
- **GPU (the cupy-gpu rows)**: {gpu_method}.
- **H100 model [s]**: a MODEL, not a measurement: `num_ops x 2 x state bytes /
  {H100_BANDWIDTH / 1e12:.2f} TB/s` (H100 SXM, HBM3 peak), with state bytes = 2^n x 16
  (double) or 8 (single) and `num_ops` from the qiskit-cupy run. It leaves out kernel
  launches, sampling and host transfers, and assumes peak bandwidth: a lower bound.
- Noise: the machine may be shared while the benchmark runs (see the load averages);
  times of one run are comparable with each other, less so with another run's."""

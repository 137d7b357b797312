"""Measuring: each simulator timed on each circuit, width and precision, and what follows.

Each time is the median of several runs from circuit to counts after one warm-up; each
peer is tried with each of its settings and its best is kept. Every CPU-fallback time is
set against the limit the measured memory bandwidth puts on it: one pass over the state
per program op, reading and writing every amplitude. Beside the GPU column stands a
bandwidth *model* of an H100, which is never a measurement.
"""

from __future__ import annotations

import datetime
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from qiskit import QuantumCircuit

from qiskit_cupy.options import PRECISIONS
from qiskit_cupy.tools.bench.circuits import (
    DEFAULT_CIRCUITS,
    DYNAMIC_CIRCUITS,
    benchmark_circuit,
    format_qubits,
)
from qiskit_cupy.tools.bench.machine import Machine, describe_machine, measure_bandwidth, peak_memory_of
from qiskit_cupy.tools.bench.peers import SIMULATORS, RunOutput, Setting, Simulator

#: Peak HBM3 bandwidth of an NVIDIA H100 SXM, bytes per second: the GPU model's only input.
H100_BANDWIDTH = 3.35e12
#: A peer setting whose warm-up is this many times slower than the best median so far ...
PRUNE_FACTOR = 2.0
#: ... and takes at least this many seconds is not timed further: it cannot be the best.
PRUNE_MIN_SECONDS = 1.0
#: Complex amplitude sizes in bytes.
AMPLITUDE_BYTES = {"double": 16, "single": 8}


@dataclass(frozen=True)
class BenchConfig:
    """What to benchmark.

    Attributes:
        circuits: Names from :data:`CIRCUITS`.
        qubits: Widths.
        precisions: ``"double"`` and/or ``"single"``.
        simulators: Names from :data:`SIMULATORS`.
        repeat: Timed runs of each setting after the warm-up; the median counts.
        shots: Shots of each run.
    """

    circuits: tuple[str, ...] = DEFAULT_CIRCUITS
    qubits: tuple[int, ...] = tuple(range(4, 27, 2))
    precisions: tuple[str, ...] = PRECISIONS
    simulators: tuple[str, ...] = tuple(SIMULATORS)
    repeat: int = 3
    shots: int = 1024

    def command(self, outputs: Sequence[str] = ()) -> str:
        """The ``qiskit-cupy bench`` command line that runs this configuration.

        Args:
            outputs: Further arguments (the output options), already quoted.

        Returns:
            The command, every option spelled out.
        """
        return " ".join(
            [
                "qiskit-cupy bench",
                f"--circuits {','.join(self.circuits)}",
                f"--qubits {format_qubits(self.qubits)}",
                f"--precision {','.join(self.precisions)}",
                f"--simulators {','.join(self.simulators)}",
                f"--repeat {self.repeat}",
                f"--shots {self.shots}",
                *outputs,
            ]
        )


@dataclass
class Measurement:
    """One simulator on one circuit, width and precision.

    Attributes:
        circuit: The circuit's name.
        qubits: The width.
        precision: The precision.
        simulator: The simulator's name.
        seconds: The best setting's median time, or None when not measured.
        setting: The best setting's label, or None.
        samples: The best setting's timed runs, seconds.
        num_ops: The program's ops (qiskit-cupy only), else None.
        num_states: The most states kept alive for a dynamic circuit (qiskit-cupy only).
        passes: The passes over the state the program made (qiskit-cupy only).
        peak_memory_bytes: How far the process's resident memory rose during the
            warm-up run (Linux), or None.
        setting_seconds: Median seconds of each setting timed in full.
        pruned: Warm-up seconds of each setting dropped after its warm-up.
        failures: The error of each setting that failed.
        note: Why nothing was measured, when nothing was.
    """

    circuit: str
    qubits: int
    precision: str
    simulator: str
    seconds: float | None = None
    setting: str | None = None
    samples: list[float] = field(default_factory=list)
    num_ops: int | None = None
    num_states: int | None = None
    passes: int | None = None
    peak_memory_bytes: int | None = None
    setting_seconds: dict[str, float] = field(default_factory=dict)
    pruned: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _time_setting(
    simulator: Simulator,
    setting: Setting,
    circuit: QuantumCircuit,
    precision: str,
    config: BenchConfig,
    measurement: Measurement,
) -> None:
    """Time one setting into ``measurement``, keeping it if it is the best so far."""
    run = setting.prepare(circuit, precision, config.shots)
    timed: list[tuple[float, RunOutput]] = []
    peak = peak_memory_of(lambda: timed.append(simulator.timer(run)))
    ((warmup, output),) = timed
    best = measurement.seconds
    if best is not None and warmup > PRUNE_FACTOR * best and warmup >= PRUNE_MIN_SECONDS:
        measurement.pruned[setting.label] = warmup
        return
    samples = [simulator.timer(run)[0] for _ in range(config.repeat)]
    median = statistics.median(samples)
    measurement.setting_seconds[setting.label] = median
    if best is None or median < best:
        measurement.seconds, measurement.setting = median, setting.label
        measurement.samples, measurement.num_ops = samples, output.num_ops
        measurement.num_states, measurement.passes = output.num_states, output.passes
        measurement.peak_memory_bytes = peak


def measure(
    simulator: Simulator,
    circuit: QuantumCircuit,
    name: str,
    precision: str,
    config: BenchConfig,
    unavailable: str | None,
) -> Measurement:
    """Time a simulator on a circuit at a precision with each of its settings.

    Args:
        simulator: The simulator.
        circuit: The transpiled circuit.
        name: The circuit's benchmark name.
        precision: The precision.
        config: Shots and repetitions.
        unavailable: Why the simulator cannot run here, or None.

    Returns:
        The measurement; a setting that raises is recorded as failed, not raised.
    """
    dynamic = name in DYNAMIC_CIRCUITS
    measurement = Measurement(name, circuit.num_qubits, precision, simulator.name)
    if unavailable is not None:
        measurement.note = unavailable
        return measurement
    if dynamic and not simulator.runs_dynamic:
        measurement.note = f"{simulator.name} is not given circuits with mid-circuit measurement"
        return measurement
    precision_note = simulator.precision_note(precision)
    if precision_note is not None:
        measurement.note = precision_note
        return measurement
    for setting in simulator.settings:
        if ("dynamic" if dynamic else "static") not in setting.circuits:
            continue
        try:
            _time_setting(simulator, setting, circuit, precision, config, measurement)
        except Exception as error:  # a failed simulator is reported, not fatal
            measurement.failures[setting.label] = f"{type(error).__name__}: {error}"
    if measurement.seconds is None:
        measurement.note = "failed: " + "; ".join(measurement.failures.values())
    return measurement


@dataclass(frozen=True)
class BenchReport:
    """A benchmark's configuration, machine and measurements.

    Attributes:
        config: What was benchmarked.
        machine: Where.
        measurements: Every measurement, grouped by circuit, width and precision.
        seconds: How long the whole benchmark took.
    """

    config: BenchConfig
    machine: Machine
    measurements: tuple[Measurement, ...]
    seconds: float

    def groups(self) -> Iterator[list[Measurement]]:
        """Yield the measurements of each circuit, width and precision together."""
        group: list[Measurement] = []
        for measurement in self.measurements:
            if group and _group_key(group[0]) != _group_key(measurement):
                yield group
                group = []
            group.append(measurement)
        if group:
            yield group


def _group_key(measurement: Measurement) -> tuple[str, int, str]:
    return measurement.circuit, measurement.qubits, measurement.precision


def run_benchmark(config: BenchConfig, progress: Callable[[str], None] | None = None) -> BenchReport:
    """Measure every simulator on every circuit, width and precision, and the bandwidth.

    The bandwidth is measured before and after the simulators, and the faster of the two
    counts, so that a busy moment on a shared machine does not lower the limit.

    Args:
        config: What to benchmark.
        progress: Called with one line after each measurement.

    Returns:
        The report.
    """
    started = time.perf_counter()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()[0]
    bandwidth = measure_bandwidth()
    unavailable = {name: SIMULATORS[name].unavailable_reason() for name in config.simulators}
    measurements = []
    for name in config.circuits:
        for num_qubits in config.qubits:
            circuit = benchmark_circuit(name, num_qubits)
            for precision in config.precisions:
                for simulator_name in config.simulators:
                    measurement = measure(
                        SIMULATORS[simulator_name],
                        circuit,
                        name,
                        precision,
                        config,
                        unavailable[simulator_name],
                    )
                    measurements.append(measurement)
                    if progress is not None:
                        progress(_progress_line(measurement, time.perf_counter() - started))
    machine = describe_machine(bandwidth.combine(measure_bandwidth()), load_before, started_at)
    return BenchReport(config, machine, tuple(measurements), time.perf_counter() - started)


def _progress_line(measurement: Measurement, elapsed: float) -> str:
    what = (
        f"{measurement.seconds:.4g} s ({measurement.setting})"
        if measurement.seconds is not None
        else f"not measured ({short_reason(measurement.note)})"
    )
    return (
        f"[{elapsed:7.1f} s] {measurement.circuit} {measurement.qubits} {measurement.precision} "
        f"{measurement.simulator}: {what}"
    )


def short_reason(reason: str) -> str:
    """A reason without its parenthesized details."""
    return reason.split(" (", 1)[0]


# ---------------------------------------------------------------- derived figures


def state_bytes(num_qubits: int, precision: str) -> int:
    """Bytes of a statevector of ``num_qubits`` qubits at ``precision``."""
    return AMPLITUDE_BYTES[precision] << num_qubits


def pass_seconds(passes: int, num_qubits: int, precision: str, bandwidth: float) -> float:
    """The bandwidth limit: ``passes`` passes, each reading and writing the whole state.

    Args:
        passes: Passes over the state.
        num_qubits: The width.
        precision: The precision.
        bandwidth: Bytes per second.

    Returns:
        Seconds.
    """
    return passes * 2 * state_bytes(num_qubits, precision) / bandwidth


def derived_rows(report: BenchReport) -> list[dict[str, Any]]:
    """One row per measurement with the figures derived from it.

    Besides the measurement's own fields, each row has ``state_bytes``;
    ``bytes_moved`` (passes x 2 x state bytes), ``bandwidth_limit_seconds`` and
    ``bandwidth_fraction`` (limit / time) for the CPU fallback; ``h100_model_seconds``
    (a model, never a measurement) for the GPU (both for static circuits only: a
    dynamic circuit's ops run on a varying batch); and
    ``ratio_<peer>`` (time / the peer's time) for each other measured simulator.

    Args:
        report: The report.

    Returns:
        The rows, in the report's order.
    """
    bandwidth = report.machine.bandwidth.best
    rows = []
    for group in report.groups():
        num_ops = next((m.num_ops for m in group if m.num_ops is not None), None)
        for measurement in group:
            row = asdict(measurement)
            row["state_bytes"] = state_bytes(measurement.qubits, measurement.precision)
            args = (measurement.qubits, measurement.precision)
            static = measurement.circuit not in DYNAMIC_CIRCUITS  # one pass per op
            if (
                static
                and measurement.simulator == "cupy-cpu"
                and measurement.seconds is not None
                and measurement.passes is not None
            ):
                limit = pass_seconds(measurement.passes, *args, bandwidth)
                row["bytes_moved"] = 2 * measurement.passes * row["state_bytes"]
                row["bandwidth_limit_seconds"] = limit
                row["bandwidth_fraction"] = limit / measurement.seconds
            if static and measurement.simulator == "cupy-gpu" and num_ops is not None:
                row["h100_model_seconds"] = pass_seconds(num_ops, *args, H100_BANDWIDTH)
            for peer in group:
                if peer is not measurement and peer.seconds is not None and measurement.seconds is not None:
                    row[f"ratio_{peer.simulator}"] = measurement.seconds / peer.seconds
            rows.append(row)
    return rows

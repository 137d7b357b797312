"""``qiskit-cupy bench`` on tiny widths: table, raw results, plot, report and their arithmetic.

One run of the command (module fixture) serves the output tests; the library's pieces
(width parsing, setting choice, the cirq conversion, counts) are tested on their own.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qiskit_cupy.devices.gpu import gpu_unavailable_reason
from qiskit_cupy.tools import bench, cli

WIDTHS = (4, 6)
SIMULATORS = tuple(bench.SIMULATORS)


@dataclass(frozen=True)
class BenchRun:
    """What one ``qiskit-cupy bench`` run printed and wrote."""

    code: int
    stdout: str
    stderr: str
    directory: Path
    rows: list[dict[str, str]]
    document: dict

    def row(self, circuit: str, qubits: int, precision: str, simulator: str) -> dict[str, str]:
        """The CSV row of one measurement."""
        key = (circuit, str(qubits), precision, simulator)
        (row,) = [r for r in self.rows if (r["circuit"], r["qubits"], r["precision"], r["simulator"]) == key]
        return row


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> BenchRun:
    """Run the command once on widths 4 and 6, one timed run each, every simulator."""
    directory = tmp_path_factory.mktemp("bench")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(
            [
                "bench",
                "--qubits",
                ",".join(map(str, WIDTHS)),
                "--repeat",
                "1",
                "--shots",
                "32",
                "--output-dir",
                str(directory),
                "--markdown",
                str(directory / "report.md"),
            ]
        )
    with open(directory / "bench.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    document = json.loads((directory / "bench.json").read_text(encoding="utf-8"))
    return BenchRun(code, stdout.getvalue(), stderr.getvalue(), directory, rows, document)


def _printed_table(stdout: str) -> list[dict[str, str]]:
    """Read the printed table back: columns are separated by two or more spaces."""
    lines = stdout.split("\n\n", 1)[0].splitlines()
    headings = re.split(r" {2,}", lines[0])
    return [dict(zip(headings, re.split(r" {2,}", line))) for line in lines[2:]]


def _float(text: str) -> float | None:
    return float(text) if text else None


def test_command_succeeds_and_prints_one_table_row_per_measurement(bench_run: BenchRun) -> None:
    assert bench_run.code == 0, bench_run.stderr
    table = _printed_table(bench_run.stdout)
    assert len(table) == len(bench.DEFAULT_CIRCUITS) * len(WIDTHS) * 2 * len(SIMULATORS)
    assert [row["circuit"] for row in table[:: len(table) // len(bench.DEFAULT_CIRCUITS)]] == list(
        bench.DEFAULT_CIRCUITS
    )
    assert {
        "time [s]",
        "time/cupy-cpu",
        "passes",
        "GB moved",
        "BW fraction",
        "peak MB",
        "H100 model [s]",
    } <= set(table[0])
    assert "H100 model: a MODEL, not a measurement" in bench_run.stdout


def test_raw_results_hold_every_combination(bench_run: BenchRun) -> None:
    keys = {(r["circuit"], r["qubits"], r["precision"], r["simulator"]) for r in bench_run.rows}
    assert keys == {
        (circuit, str(qubits), precision, simulator)
        for circuit in bench.DEFAULT_CIRCUITS
        for qubits in WIDTHS
        for precision in ("double", "single")
        for simulator in SIMULATORS
    }
    assert len(bench_run.document["measurements"]) == len(bench_run.rows)
    assert bench_run.document["command"].startswith("qiskit-cupy bench --circuits qft,random")
    assert bench_run.document["bandwidth_bytes_per_second"] > 1e8


def test_printed_times_and_ratios_agree_with_the_raw_times(bench_run: BenchRun) -> None:
    checked = 0
    for printed in _printed_table(bench_run.stdout):
        row = bench_run.row(
            printed["circuit"], int(printed["qubits"]), printed["precision"], printed["simulator"]
        )
        seconds = _float(row["seconds"])
        if seconds is None:
            assert printed["time [s]"].startswith("not measured (")
            continue
        assert printed["time [s]"] == f"{seconds:.4g}"
        for peer in SIMULATORS:
            peer_seconds = _float(
                bench_run.row(row["circuit"], int(row["qubits"]), row["precision"], peer)["seconds"]
            )
            if peer == row["simulator"] or peer_seconds is None:
                assert not row.get(f"ratio_{peer}")
                continue
            assert float(row[f"ratio_{peer}"]) == pytest.approx(seconds / peer_seconds)
            assert printed[f"time/{peer}"] == f"{seconds / peer_seconds:.2f}"
            checked += 1
    assert checked > 0


def test_bandwidth_fraction_is_the_limit_over_the_time(bench_run: BenchRun) -> None:
    bandwidth = bench_run.document["bandwidth_bytes_per_second"]
    for row in bench_run.rows:
        if row["simulator"] != "cupy-cpu":
            assert not row.get("bandwidth_fraction")
            continue
        amplitude = 16 if row["precision"] == "double" else 8
        assert int(row["num_ops"]) >= int(row["passes"]) >= 1
        moved = int(row["passes"]) * 2 * amplitude * 2 ** int(row["qubits"])
        assert int(row["bytes_moved"]) == moved
        limit = moved / bandwidth
        assert float(row["bandwidth_limit_seconds"]) == pytest.approx(limit)
        assert float(row["bandwidth_fraction"]) == pytest.approx(limit / float(row["seconds"]))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak is read from Linux's /proc")
def test_each_measured_run_reports_its_peak_memory(bench_run: BenchRun) -> None:
    measured = [row for row in bench_run.rows if row["seconds"] not in (None, "")]
    assert measured and all(
        row["peak_memory_bytes"] in ("", None) or int(row["peak_memory_bytes"]) >= 0 for row in measured
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak is read from Linux's /proc")
def test_peak_memory_of_sees_what_a_run_allocates_and_frees() -> None:
    """A run that fills 64 MiB and frees it peaks about 64 MiB above where it started (pages
    the process already held may serve a little of it)."""
    size = 64 << 20

    def run() -> None:
        block = np.ones(size, dtype=np.uint8)
        assert block.sum() == size

    peak = bench.peak_memory_of(run)
    if peak is None:
        pytest.skip("this kernel did not reset the peak (VmHWM) through /proc/self/clear_refs")
    assert 0.9 * size <= peak < 4 * size


def test_gpu_is_measured_only_where_usable_and_the_h100_column_is_a_model(
    bench_run: BenchRun,
) -> None:
    reason = gpu_unavailable_reason()
    for printed in _printed_table(bench_run.stdout):
        if printed["simulator"] != "cupy-gpu":
            assert printed["H100 model [s]"] == "-"
            continue
        row = bench_run.row(printed["circuit"], int(printed["qubits"]), printed["precision"], "cupy-gpu")
        cpu = bench_run.row(row["circuit"], int(row["qubits"]), row["precision"], "cupy-cpu")
        model = int(cpu["num_ops"]) * 2 * int(row["state_bytes"]) / bench.H100_BANDWIDTH
        assert float(row["h100_model_seconds"]) == pytest.approx(model)
        if reason is not None:
            assert printed["time [s]"].startswith("not measured (no GPU: ")
            assert row["seconds"] == "" and row["note"] == f"no GPU: {reason}"
    if reason is not None:
        assert f"cupy-gpu: not measured (no GPU: {reason})" in bench_run.stdout


def test_missing_peers_and_precisions_are_reported_not_measured(bench_run: BenchRun) -> None:
    for name, module in (("aer", "qiskit_aer"), ("qsim", "qsimcirq")):
        row = bench_run.row("ghz", 4, "single", name)
        installed = importlib.util.find_spec(module) is not None
        assert (row["seconds"] != "") == installed
        if installed:
            assert row["setting"] in {s.label for s in bench.SIMULATORS[name].settings}
        else:
            assert "is not installed" in row["note"]
    qsim = bench_run.row("qft", 4, "double", "qsim")
    assert qsim["seconds"] == ""
    if importlib.util.find_spec("qsimcirq") is not None:
        assert qsim["note"] == "qsim simulates in single precision only"


def test_plot_is_a_png(bench_run: BenchRun) -> None:
    pytest.importorskip("matplotlib")
    assert (bench_run.directory / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_report_has_machine_command_table_and_plot(bench_run: BenchRun) -> None:
    text = (bench_run.directory / "report.md").read_text(encoding="utf-8")
    assert bench_run.document["command"] in text
    assert "## Machine" in text and "GB/s" in text
    assert "| circuit | qubits | precision | simulator |" in text
    assert "a MODEL, not a measurement" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert "](bench.png)" in text


@pytest.mark.parametrize(
    ("text", "widths"),
    [("4:26:2", tuple(range(4, 27, 2))), ("4,6", (4, 6)), ("4:6,10", (4, 5, 6, 10)), ("7", (7,))],
)
def test_qubits_are_parsed_and_written_back(text: str, widths: tuple[int, ...]) -> None:
    assert bench.parse_qubits(text) == widths
    assert bench.parse_qubits(bench.format_qubits(widths)) == widths


@pytest.mark.parametrize("text", ["x", "4:8:0", "0", "1:2:3:4", ""])
def test_bad_qubits_are_a_usage_error(text: str) -> None:
    with pytest.raises(ValueError):
        bench.parse_qubits(text)
    with pytest.raises(SystemExit) as exit_info, contextlib.redirect_stderr(io.StringIO()):
        cli.build_parser().parse_args(["bench", "--qubits", text])
    assert exit_info.value.code == 2


def _fake_simulator(seconds: dict[str, list[float]]) -> bench.Simulator:
    """A simulator whose settings 'take' the given seconds, run after run; 'boom' raises."""

    def setting(label: str) -> bench.Setting:
        def prepare(circuit, precision, shots):
            if label == "boom":
                raise RuntimeError("no luck")
            times = iter(seconds[label])
            return lambda: bench.RunOutput({}, num_ops=next(times))

        return bench.Setting(label, prepare)

    def timer(run):
        output = run()
        return output.num_ops, output

    return bench.Simulator("fake", tuple(map(setting, seconds)), lambda: None, timer)


def test_the_best_setting_is_kept_slow_ones_pruned_and_failures_recorded() -> None:
    simulator = _fake_simulator(
        {
            "fast": [5.0, 3.0, 2.0, 4.0],
            "boom": [],
            "slow": [9.0],
            "close": [5.0, 3.5, 3.5, 3.5],
        }
    )
    config = bench.BenchConfig(repeat=3)
    measurement = bench.measure(simulator, bench.ghz_circuit(2), "ghz", "double", config, None)
    assert (measurement.setting, measurement.seconds) == ("fast", 3.0)
    assert measurement.samples == [3.0, 2.0, 4.0]
    assert measurement.setting_seconds == {"fast": 3.0, "close": 3.5}
    assert measurement.pruned == {"slow": 9.0}
    assert measurement.failures == {"boom": "RuntimeError: no luck"}


def test_unavailable_simulators_are_not_run() -> None:
    simulator = _fake_simulator({"fast": []})
    measurement = bench.measure(
        simulator, bench.ghz_circuit(2), "ghz", "double", bench.BenchConfig(), "not here"
    )
    assert measurement.seconds is None and measurement.note == "not here"


@pytest.mark.parametrize("name", bench.DEFAULT_CIRCUITS)
def test_cirq_conversion_gives_the_same_state(name: str) -> None:
    cirq = pytest.importorskip("cirq")
    circuit = bench.benchmark_circuit(name, 5)
    expected = Statevector(circuit.remove_final_measurements(inplace=False)).reverse_qargs()
    state = (
        cirq.Simulator(dtype=np.complex128)
        .simulate(bench.to_cirq(circuit, measure=False), qubit_order=cirq.LineQubit.range(5))
        .final_state_vector
    )
    assert abs(np.vdot(expected.data, state)) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("name", ("cupy-cpu", "aer", "qsim"))
def test_every_setting_counts_in_qiskit_bit_order(name: str) -> None:
    simulator = bench.SIMULATORS[name]
    reason = simulator.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    circuit = QuantumCircuit(3)
    circuit.x(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    for setting in simulator.settings:
        assert setting.prepare(circuit, "single", 50)().counts == {"011": 50}

"""Progress bars: drawn on a terminal for jobs and sub-jobs, never otherwise, and the
results do not depend on whether one was drawn."""

from __future__ import annotations

import concurrent.futures
import io

import pytest
from qiskit import QuantumCircuit

from qiskit_cupy import CupySimulator
from qiskit_cupy.runtime import progress
from random_circuits import random_circuit


class Terminal(io.StringIO):
    """Standard error as a terminal that keeps what is written to it."""

    def isatty(self) -> bool:
        return True


def _circuits() -> list[QuantumCircuit]:
    circuits = []
    for seed in range(12):
        circuit = random_circuit(5, 12, seed)
        circuit.measure_all()
        circuits.append(circuit)
    return circuits


def _counts(result) -> list[dict[str, int]]:
    return [result.get_counts(index) for index in range(len(result.results))]


def on_terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """Make standard error a terminal for the rest of the test (pytest's capture sets
    ``sys.stderr`` again between a fixture and the test, so tests call this themselves)."""
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    monkeypatch.delenv(progress.ENVIRONMENT, raising=False)
    return stream


def test_a_job_draws_bars_on_a_terminal_and_gives_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_terminal(monkeypatch)
    backend = CupySimulator(device="CPU", shots=200, seed_simulator=4)
    quiet = _counts(backend.run(_circuits(), progress=False).result())
    assert terminal.getvalue() == ""
    job = backend.run(_circuits())
    shown = _counts(job.result())
    assert shown == quiet
    text = terminal.getvalue()
    assert "lowering:" in text and "0/12 [" in text and "circuit/s" in text
    assert f"job {job.job_id()[:8]}:" in text and "experiment/s" in text


def test_sub_jobs_draw_one_bar_on_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_terminal(monkeypatch)
    backend = CupySimulator(device="CPU", shots=100, seed_simulator=4)
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        result = backend.run(_circuits(), executor=executor, max_job_size=3).result()
    assert "0/4 [" in terminal.getvalue() and "sub-job/s" in terminal.getvalue()
    assert _counts(result) == _counts(backend.run(_circuits(), progress=False).result())


@pytest.mark.parametrize("setting", ["0", "off", "false"])
def test_the_environment_turns_bars_off(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    terminal = on_terminal(monkeypatch)
    monkeypatch.setenv(progress.ENVIRONMENT, setting)
    CupySimulator(device="CPU").run(_circuits()).result()
    assert terminal.getvalue() == ""


def test_no_bar_when_standard_error_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    CupySimulator(device="CPU").run(_circuits()).result()
    assert stream.getvalue() == ""


def test_bench_draws_a_bar_over_its_measurements(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from qiskit_cupy.tools.cli import main

    terminal = on_terminal(monkeypatch)
    arguments = [
        "bench",
        "--qubits",
        "4",
        "--circuits",
        "qft",
        "--precision",
        "double",
        "--simulators",
        "cupy-cpu",
        "--repeat",
        "1",
        "--output-dir",
        str(tmp_path),
    ]
    assert main(arguments) == 0
    text = terminal.getvalue()
    assert "bench:" in text and "0/1 [" in text and "measurement/s" in text
    assert "qft 4 double cupy-cpu" in text  # each measurement's line is still written

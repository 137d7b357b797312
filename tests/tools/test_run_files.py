"""``qiskit-cupy run``: OpenQASM 2, OpenQASM 3 and QPY files give the counts of the same
circuits run through the API; a bad file gives one line naming it, and exit code 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm2, qasm3, qpy
from qiskit.quantum_info import Statevector

from qiskit_cupy import CupySimulator
from qiskit_cupy.tools.cli import main
from random_circuits import random_circuit

OPTIONS = ["--shots", "500", "--seed", "9", "--device", "CPU"]


def _circuit(seed: int) -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.rx(0.3 + seed, 1)
    circuit.cx(0, 2)
    circuit.measure(range(3), range(3))
    return circuit


def _expected(circuits: list[QuantumCircuit]) -> list[dict[str, int]]:
    result = CupySimulator(device="CPU").run(circuits, shots=500, seed_simulator=9).result()
    return [result.get_counts(index) for index in range(len(circuits))]


def _run_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> list[dict]:
    assert main(["run", *arguments, *OPTIONS, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_qasm2_qasm3_and_qpy_files_give_the_apis_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    circuits = [_circuit(seed) for seed in range(4)]
    (tmp_path / "a.qasm").write_text(qasm2.dumps(circuits[0]))
    (tmp_path / "b.qasm").write_text(qasm3.dumps(circuits[1]))
    with (tmp_path / "c.qpy").open("wb") as handle:
        qpy.dump(circuits[2:], handle)
    entries = _run_json(capsys, str(tmp_path / "a.qasm"), str(tmp_path / "b.qasm"), str(tmp_path / "c.qpy"))
    assert [entry["counts"] for entry in entries] == _expected(circuits)
    assert [Path(entry["file"]).name for entry in entries] == ["a.qasm", "b.qasm", "c.qpy", "c.qpy"]


def test_the_table_memory_and_statevector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    circuit = random_circuit(3, 10, 2)
    reference = Statevector(circuit)
    circuit.measure_all()
    path = tmp_path / "random.qasm"
    path.write_text(qasm3.dumps(circuit))
    [entry] = _run_json(capsys, str(path), "--memory", "--save-statevector")
    assert len(entry["memory"]) == 500 and sum(entry["counts"].values()) == 500
    state = np.array([complex(re_, im) for re_, im in entry["statevector"]])
    assert Statevector(state).equiv(reference)
    assert main(["run", str(path), *OPTIONS, "--save-statevector"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^outcome +count +probability$", out, re.MULTILINE) and "basis state" in out
    for bits, count in entry["counts"].items():
        assert re.search(rf"^{bits} +{count}  {count / 500:.4f}$", out, re.MULTILINE)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[5];\n', 4, "out-of-range"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nfoo q[0];\n', 4, "'foo' is not defined"),
        ("OPENQASM 3.0;\nqubit[2] q\nh q[0];\n", 3, "syntax error"),
        ("OPENQASM 3.0;\nqubit[2] q;\nh q[0] $;\n", 3, "token recognition error"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "bad.qasm"
    path.write_text(text)
    good = tmp_path / "good.qasm"
    good.write_text(qasm2.dumps(_circuit(0)))
    completed = subprocess.run(
        [sys.executable, "-m", "qiskit_cupy", "run", str(good), str(path), *OPTIONS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    [message] = completed.stderr.strip().splitlines()
    assert message.startswith(f"qiskit-cupy run: {path}:{line}: ") and problem in message


def test_missing_files_and_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing.qasm"), *OPTIONS]) == 2
    assert "missing.qasm" in capsys.readouterr().err
    path = tmp_path / "a.qasm"
    path.write_text(qasm2.dumps(_circuit(0)))
    assert main(["run", str(path), "--seed", "-1", "--device", "CPU"]) == 2
    assert "seed_simulator" in capsys.readouterr().err

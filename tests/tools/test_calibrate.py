"""``qiskit-cupy calibrate``: measures again, or shows what is kept, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qiskit_cupy.devices import calibration
from qiskit_cupy.tools.cli import main


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(calibration.CACHE_VARIABLE, str(tmp_path))
    monkeypatch.setattr(calibration, "MEASURED_STATE_BYTES", 1 << 18)
    monkeypatch.setattr(calibration, "_memo", {})
    return tmp_path


def _shown(capsys: pytest.CaptureFixture[str], *arguments: str) -> dict:
    assert main(["calibrate", "--show", "--json", *arguments]) == 0
    return json.loads(capsys.readouterr().out)


def test_show_measures_only_what_is_missing(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _shown(capsys, "--precision", "single")
    assert first["file"] == str(cache / "cpu-costs.json")
    kept = json.loads((cache / "cpu-costs.json").read_text(encoding="utf-8"))
    entry = first["calibrations"]["single"]
    assert kept[entry.pop("key")] == {**entry, "dense_seconds": list(entry["dense_seconds"])}
    calibration._memo.clear()
    again = _shown(capsys, "--precision", "single")
    assert again["calibrations"]["single"]["measured_at"] == first["calibrations"]["single"]["measured_at"]


def test_calibrate_measures_again_and_keeps_it(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _shown(capsys)["calibrations"]
    assert main(["calibrate", "--precision", "double"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["precision", "state", "bandwidth"]
    assert f"kept in {cache / 'cpu-costs.json'}" in table
    after = _shown(capsys)["calibrations"]
    assert after["double"]["measured_at"] > before["double"]["measured_at"]
    assert after["single"]["measured_at"] == before["single"]["measured_at"]


def test_an_unknown_precision_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", "--precision", "half"])
    assert exit_info.value.code == 2
    assert "'half': choose from double,single" in capsys.readouterr().err

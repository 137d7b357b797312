"""The offline NVRTC check and the ``qiskit-cupy kernels check`` command.

NVRTC compiles without a GPU or driver, so these tests compile the real kernel source
for real architectures; nothing here fakes a device.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from itertools import product

import pytest

from qiskit_cupy.devices import kernel_source
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.tools import nvrtc_check
from qiskit_cupy.tools.cli import main
from qiskit_cupy.tools.tables import format_table
from qiskit_cupy.version import __version__

#: A kernel that NVRTC must reject, and the text of NVRTC's error about it.
BROKEN_KERNEL = "\n__global__ void qc_broken() { qc_undeclared_value = 1; }\n"
BROKEN_KERNEL_ERROR = 'error: identifier "qc_undeclared_value" is undefined'


@pytest.fixture(scope="module")
def nvrtc() -> object:
    """NVRTC's bindings; the tests that compile are skipped where they are missing."""
    return pytest.importorskip(
        "cuda.bindings.nvrtc", reason="cuda-bindings (extra 'test' or 'nvrtc-check') missing"
    )


@pytest.fixture(scope="module")
def architectures(nvrtc: object) -> tuple[str, str]:
    """The oldest and newest supported architectures this NVRTC can target."""
    chosen, _skipped = nvrtc_check.select_architectures()
    assert len(chosen) >= 2
    return chosen[0], chosen[-1]


@pytest.fixture(scope="module")
def report(architectures: tuple[str, str]) -> nvrtc_check.CheckReport:
    """Both precisions compiled for two architectures."""
    return nvrtc_check.check_kernels(architectures, nvrtc_check.PRECISIONS)


def broken_source() -> str:
    """The kernel source with one kernel that does not compile."""
    return kernel_source.cuda_source() + BROKEN_KERNEL


def test_every_name_expression_gets_a_lowered_name_and_resources(
    report: nvrtc_check.CheckReport, architectures: tuple[str, str]
) -> None:
    compiled = [(compile.architecture, compile.precision) for compile in report.compiled]
    assert compiled == list(product(architectures, nvrtc_check.PRECISIONS))
    for compile in report.compiled:
        names = kernel_source.name_expressions(compile.precision)
        assert [kernel.kernel for kernel in compile.kernels] == list(names)
        assert compile.cubin_bytes > 0
        lowered = [kernel.lowered_name for kernel in compile.kernels]
        assert len(set(lowered)) == len(names)
        for kernel in compile.kernels:
            assert (kernel.architecture, kernel.precision) == (
                compile.architecture,
                compile.precision,
            )
            assert kernel.lowered_name.startswith("_Z")
            assert kernel.kernel.split("<", 1)[0] in kernel.lowered_name
            entry = f"Compiling entry function '{kernel.lowered_name}' for '{compile.architecture}'"
            block = compile.log.split(entry, 1)[1].split("Compiling entry function", 1)[0]
            assert f"Used {kernel.registers} registers" in block
            assert (
                f"{kernel.stack_frame_bytes} bytes stack frame, {kernel.spill_store_bytes} bytes "
                f"spill stores, {kernel.spill_load_bytes} bytes spill loads" in block
            )
            assert type(kernel.registers) is int and kernel.registers > 0
            for count in (kernel.spill_store_bytes, kernel.spill_load_bytes):
                assert type(count) is int and count >= 0
            assert type(kernel.stack_frame_bytes) is int


def test_precisions_compile_different_instantiations(report: nvrtc_check.CheckReport) -> None:
    by_precision = {
        precision: {kernel.lowered_name for kernel in report.kernels if kernel.precision == precision}
        for precision in nvrtc_check.PRECISIONS
    }
    shared = set.intersection(*by_precision.values())
    plain = {kernel.lowered_name for kernel in report.kernels if kernel.kernel in kernel_source.PLAIN_KERNELS}
    assert shared == plain


def test_options_are_the_gpu_devices_plus_architecture_and_ptxas() -> None:
    assert nvrtc_check.compile_options("sm_86") == (
        *kernel_source.NVRTC_OPTIONS,
        *kernel_source.CUPY_ADDED_OPTIONS,
        "-arch=sm_86",
        "--ptxas-options=-v",
    )


def test_cupy_adds_the_options_the_check_adds() -> None:
    compiler = pytest.importorskip("cupy.cuda.compiler", reason="CuPy is not installed")
    text = inspect.getsource(compiler)
    for option in kernel_source.CUPY_ADDED_OPTIONS:
        assert f"options += ('{option}',)" in text
    assert "return f'-arch=sm_{arch}', 'cubin'" in text


def test_broken_source_raises_with_nvrtcs_log(
    architectures: tuple[str, str],
) -> None:
    with pytest.raises(CupySimulatorError) as raised:
        nvrtc_check.compile_kernels(architectures[0], "double", source=broken_source())
    assert BROKEN_KERNEL_ERROR in raised.value.message
    assert f"-arch={architectures[0]}" in raised.value.message


def test_missing_cuda_bindings_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)
    monkeypatch.setitem(sys.modules, "cuda.bindings.nvrtc", None)
    with pytest.raises(CupySimulatorError, match=r"qiskit-cupy\[nvrtc-check\]"):
        nvrtc_check.compile_kernels("sm_80", "double")


def test_architectures_nvrtc_cannot_target_are_skipped_or_refused(
    nvrtc: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = [70, 75, 80, 86, 89, 90]
    monkeypatch.setattr(nvrtc, "nvrtcGetSupportedArchs", lambda: (nvrtc.nvrtcResult.NVRTC_SUCCESS, older))
    chosen, skipped = nvrtc_check.select_architectures()
    assert chosen == ("sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90")
    assert skipped == ("sm_100", "sm_120")
    with pytest.raises(CupySimulatorError, match="cannot compile for sm_120"):
        nvrtc_check.select_architectures(["sm_80", "sm_120"])
    monkeypatch.setattr(nvrtc, "nvrtcGetSupportedArchs", lambda: (nvrtc.nvrtcResult.NVRTC_SUCCESS, [50, 52]))
    with pytest.raises(CupySimulatorError, match="can target none of"):
        nvrtc_check.check_kernels()


def test_unsupported_architecture_and_precision_are_refused(nvrtc: object) -> None:
    with pytest.raises(CupySimulatorError, match="unsupported architecture.*sm_35"):
        nvrtc_check.select_architectures(["sm_35"])
    with pytest.raises(CupySimulatorError, match="unknown precision.*half"):
        nvrtc_check.check_kernels(["sm_80"], ["half"])


def test_cli_prints_a_row_per_kernel_and_a_summary(
    report: nvrtc_check.CheckReport,
    architectures: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    architecture = architectures[-1]
    assert main(["kernels", "check", "--arch", architecture, "--precision", "single"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "arch",
        "precision",
        "kernel",
        "registers",
        "spill",
        "stores",
        "spill",
        "loads",
        "stack",
    ]
    expected = [
        kernel
        for kernel in report.kernels
        if (kernel.architecture, kernel.precision) == (architecture, "single")
    ]
    rows = lines[2:-1]
    assert len(rows) == len(expected)
    for row, kernel in zip(rows, expected):
        assert row.split()[:2] == [architecture, "single"]
        assert kernel.kernel in row
        numbers = row.split()[-4:]
        assert numbers == [
            str(kernel.registers),
            str(kernel.spill_store_bytes),
            str(kernel.spill_load_bytes),
            str(kernel.stack_frame_bytes),
        ]
    assert lines[-1].startswith(f"OK: 1 compile(s), {len(expected)} kernels with NVRTC ")
    assert f"for {architecture} x single;" in lines[-1]


def test_cli_exits_1_on_a_compile_failure(
    architectures: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = broken_source()
    monkeypatch.setattr(kernel_source, "cuda_source", lambda: source)
    assert main(["kernels", "check", "--arch", architectures[0], "--precision", "double"]) == 1
    output = capsys.readouterr()
    assert output.out == ""
    assert "FAILED" in output.err and BROKEN_KERNEL_ERROR in output.err


def test_cli_exits_2_on_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["kernels", "check", "--arch", "sm_35"])
    assert exited.value.code == 2
    assert "sm_35" in capsys.readouterr().err


def test_python_m_runs_the_command_line() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "qiskit_cupy", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"qiskit-cupy {__version__}"


def test_format_table_aligns_text_left_and_numbers_right() -> None:
    table = format_table([["a", 5], ["bbb", 12]], ["name", "n"])
    assert table.splitlines() == ["name      n", "------  ---", "a         5", "bbb      12"]


def test_format_table_prints_outcomes_as_given() -> None:
    """A bit string is text, never a number: leading zeros stay."""
    table = format_table([["0010", 3], ["1e3", 1]], ["outcome", "count"])
    assert [line.split()[0] for line in table.splitlines()[2:]] == ["0010", "1e3"]

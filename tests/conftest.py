"""Shared fixtures: the devices every correctness test runs on, and the gpu marker.

Device-parametrized tests run on three devices: the CPU fallback; a real GPU
(``gpu`` marker: skipped, with the reason, where none is usable); and the GPU device
on the CuPy stand-in (``gpu_host/cupy_standin``), which runs the exact GPU code path,
kernels included, on the host on every machine. The session ends with which GPU
kernel instantiations the stand-in launched.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

from gpu_host import cupy_standin
from gpu_host.cupy_standin.machine import LAUNCHED, DeviceSpec, Machine
from qiskit_cupy import CupySimulator
from qiskit_cupy.devices.calibration import CACHE_VARIABLE
from qiskit_cupy.devices.gpu import gpu_unavailable_reason
from qiskit_cupy.devices.kernel_source import PRECISION_TYPES, blocked_run_kernel, name_expressions

# The CPU's op costs are measured once per test run, into a directory of the run's own
# (processes the tests start inherit it), never into the user's cache.
_TEST_CACHE = tempfile.mkdtemp(prefix="qiskit-cupy-test-cache-")
os.environ[CACHE_VARIABLE] = _TEST_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's cache directory."""
    shutil.rmtree(_TEST_CACHE, ignore_errors=True)


#: The parameter that runs device="GPU" on the CuPy stand-in.
STANDIN = "GPU-standin"

#: Devices the device-parametrized tests run on; the real GPU only where one is usable.
DEVICES = ["CPU", pytest.param("GPU", marks=pytest.mark.gpu), STANDIN]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``gpu`` with the reason no GPU can be used here."""
    reason = gpu_unavailable_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"needs a usable NVIDIA GPU: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def use_standin(monkeypatch: pytest.MonkeyPatch, specs: list[DeviceSpec] | None = None) -> Machine:
    """Put the CuPy stand-in in place of CuPy for one test, on a fresh machine."""
    machine = cupy_standin.install(specs)
    for name, module in cupy_standin.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    return machine


@pytest.fixture(params=DEVICES)
def device_name(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of each device to test on (the stand-in runs as "GPU")."""
    if request.param == STANDIN:
        use_standin(monkeypatch)
        return "GPU"
    return request.param


def device_param(request: pytest.FixtureRequest) -> str:
    """Which DEVICES entry a device-parametrized test runs on ("GPU-standin" included)."""
    return request.node.callspec.params["device_name"]


@pytest.fixture
def backend(device_name: str) -> CupySimulator:
    """A backend on each device to test on."""
    return CupySimulator(device=device_name)


@pytest.fixture
def cpu_backend() -> CupySimulator:
    """A backend on the CPU fallback, for device-independent behaviour."""
    return CupySimulator(device="CPU")


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Machine:
    """The CuPy stand-in in place of CuPy, on a fresh one-device machine."""
    return use_standin(monkeypatch)


def blocked_run_launches(precision: str) -> int:
    """How many ``qc_apply_blocked_run`` launches of ``precision`` the stand-in has queued
    in this session (the LAUNCHED record the session summary prints)."""
    return LAUNCHED[blocked_run_kernel(precision)]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report the GPU kernel instantiations the stand-in launched, and any it never did."""
    if not LAUNCHED:
        return
    expected = {name for precision in PRECISION_TYPES for name in name_expressions(precision)}
    never = sorted(expected - set(LAUNCHED))
    terminalreporter.section("GPU kernels launched on the CuPy stand-in")
    terminalreporter.write_line(
        f"{len(expected) - len(never)} of {len(expected)} name expressions launched, "
        f"{sum(LAUNCHED.values())} launches"
    )
    for name in sorted(LAUNCHED):
        terminalreporter.write_line(f"  {LAUNCHED[name]:>8}  {name}")
    for name in never:
        terminalreporter.write_line(f"  never     {name}")

"""Shared fixtures: the devices every correctness test runs on, and the gpu marker."""

from __future__ import annotations

import pytest

from qiskit_cupy import CupySimulator
from qiskit_cupy.devices.gpu import gpu_unavailable_reason

#: Devices the device-parametrized tests run on; the GPU only where one is usable.
DEVICES = ["CPU", pytest.param("GPU", marks=pytest.mark.gpu)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``gpu`` with the reason no GPU can be used here."""
    reason = gpu_unavailable_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"needs a usable NVIDIA GPU: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device_name(request: pytest.FixtureRequest) -> str:
    """The name of each device to test on."""
    return request.param


@pytest.fixture
def backend(device_name: str) -> CupySimulator:
    """A backend on each device to test on."""
    return CupySimulator(device=device_name)


@pytest.fixture
def cpu_backend() -> CupySimulator:
    """A backend on the CPU fallback, for device-independent behaviour."""
    return CupySimulator(device="CPU")

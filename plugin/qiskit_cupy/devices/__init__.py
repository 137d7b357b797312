"""Devices: the GPU (CuPy) and the CPU fallback (the C++ extension), and their choice."""

from __future__ import annotations

import warnings

from qiskit_cupy.devices.base import Device
from qiskit_cupy.devices.cpu import CpuDevice
from qiskit_cupy.devices.gpu import GpuDevice, gpu_unavailable_reason


class CpuFallbackWarning(UserWarning):
    """device='auto' found no usable GPU and runs on the CPU."""


def select_device(requested: str, num_threads: int = 0, gpu_id: int = 0) -> Device:
    """Return the device for the ``device`` option.

    Args:
        requested: ``"GPU"``, ``"CPU"`` or ``"auto"`` (GPU if usable, else CPU with one
            warning that says why).
        num_threads: OpenMP threads for the CPU device; 0 uses every core.
        gpu_id: The CUDA device ordinal of the GPU device.

    Returns:
        The device.

    Raises:
        DeviceUnavailableError: ``"GPU"`` was requested and GPU ``gpu_id`` cannot be used.
    """
    if requested == "CPU":
        return CpuDevice(num_threads)
    if requested == "GPU":
        return GpuDevice(gpu_id)
    reason = gpu_unavailable_reason()
    if reason is None:
        return GpuDevice(gpu_id)
    warnings.warn(
        f"qiskit-cupy runs on the CPU fallback: {reason}", CpuFallbackWarning, stacklevel=4
    )
    return CpuDevice(num_threads)

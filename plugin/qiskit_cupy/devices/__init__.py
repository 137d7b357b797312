"""Devices: the GPU (CuPy) and the CPU fallback (the C++ extension), and their choice."""

from __future__ import annotations

import warnings

from qiskit_cupy.devices.base import Device
from qiskit_cupy.devices.cpu import CpuDevice
from qiskit_cupy.devices.gpu import GpuDevice, gpu_unavailable_reason, visible_gpus
from qiskit_cupy.errors import DeviceUnavailableError

#: A pool member: ``("CPU", 0)`` or ``("GPU", ordinal)``.
DeviceKey = tuple[str, int]


class CpuFallbackWarning(UserWarning):
    """device='auto' found no usable GPU and runs on the CPU."""


def pool_keys(requested: str, gpu_ids: tuple[int, ...] | None) -> list[DeviceKey]:
    """Return the devices a job of the ``device`` and ``target_gpus`` options runs on.

    Args:
        requested: ``"GPU"``, ``"CPU"``, ``"GPU+CPU"`` or ``"auto"`` (the GPUs if one
            is usable, else the CPU with one warning that says why).
        gpu_ids: The CUDA ordinals to use; None is every visible GPU.

    Returns:
        The pool, GPUs first in ``gpu_ids`` order, the CPU last when it joins.

    Raises:
        DeviceUnavailableError: GPUs were requested and none can be used.
    """
    if requested == "CPU":
        return [("CPU", 0)]
    reason = gpu_unavailable_reason()
    if reason is not None:
        if requested == "auto":
            warnings.warn(f"qiskit-cupy runs on the CPU fallback: {reason}", CpuFallbackWarning, stacklevel=5)
            return [("CPU", 0)]
        raise DeviceUnavailableError(f"device={requested!r} cannot be used: {reason}")
    gpus = [("GPU", ordinal) for ordinal in (gpu_ids if gpu_ids is not None else visible_gpus())]
    return gpus + [("CPU", 0)] if requested == "GPU+CPU" else gpus


def make_device(key: DeviceKey, num_threads: int = 0) -> Device:
    """Return a new device for a pool key.

    Args:
        key: ``("CPU", 0)`` or ``("GPU", ordinal)``.
        num_threads: OpenMP threads for the CPU device; 0 uses every core.

    Raises:
        DeviceUnavailableError: The GPU cannot be used or does not exist.
    """
    kind, ordinal = key
    return CpuDevice(num_threads) if kind == "CPU" else GpuDevice(ordinal)

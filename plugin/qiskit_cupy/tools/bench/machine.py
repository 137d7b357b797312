"""The machine a benchmark runs on: its memory bandwidth, its CPU, memory, GPU and software.

The memory bandwidth is measured with numpy in the same process as the simulators, before
and after them; it sets the limit that every CPU-fallback time is reported against.
:func:`describe_machine` adds the rest of what the report says of the machine.
"""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qiskit_cupy.devices.calibration import processor_name
from qiskit_cupy.devices.gpu import gpu_unavailable_reason

#: Bytes of each array of the bandwidth measurement (well beyond any cache).
BANDWIDTH_BYTES = 1 << 28
#: Timed repetitions of each bandwidth kernel; the fastest counts.
BANDWIDTH_REPEATS = 5


@dataclass(frozen=True)
class Bandwidth:
    """Memory bandwidth measured with numpy, in bytes per second (bytes read + written).

    Attributes:
        copy: ``numpy.copyto`` from one large array to another.
        update: An in-place update of one large array, the access pattern of a gate pass.
        threads: Threads that shared each kernel, each on its own slice.
    """

    copy: float
    update: float
    threads: int

    @property
    def best(self) -> float:
        """The higher of the two: the limit that results are measured against."""
        return max(self.copy, self.update)

    def combine(self, other: Bandwidth) -> Bandwidth:
        """The faster of two measurements of each kernel (another load, another time)."""
        return Bandwidth(max(self.copy, other.copy), max(self.update, other.update), self.threads)


def measure_bandwidth(
    nbytes: int = BANDWIDTH_BYTES, repeats: int = BANDWIDTH_REPEATS, threads: int | None = None
) -> Bandwidth:
    """Measure the memory bandwidth: the best of several copies and in-place updates.

    Args:
        nbytes: Bytes of each array.
        repeats: Timed repetitions of each kernel (after one untimed one).
        threads: Threads sharing each kernel; every core by default.

    Returns:
        The bandwidths.
    """
    threads = threads or os.cpu_count() or 1
    source = np.ones(nbytes // 8)
    target = np.empty_like(source)
    pairs = list(zip(np.array_split(target, threads), np.array_split(source, threads)))

    def best_rate(kernel: Callable[[tuple[np.ndarray, np.ndarray]], object]) -> float:
        seconds = []
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            for _ in range(repeats + 1):
                start = time.perf_counter()
                list(pool.map(kernel, pairs))
                seconds.append(time.perf_counter() - start)
        return 2 * source.nbytes / min(seconds[1:])

    return Bandwidth(
        copy=best_rate(lambda pair: np.copyto(*pair)),
        update=best_rate(lambda pair: np.multiply(pair[1], 1.0, out=pair[1])),
        threads=threads,
    )


def _status_bytes(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status in bytes (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_memory_of(run: Callable[[], object]) -> int | None:
    """Bytes by which this process's resident memory peaked above where it was when
    ``run`` started (Linux: the peak is reset through /proc/self/clear_refs, then read
    as VmHWM); None where the system does not say.

    Every simulator runs in this process, so each is measured the same way.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")  # reset VmHWM to the current resident size
    except OSError:
        return None
    before = _status_bytes("VmRSS")
    reset = _status_bytes("VmHWM")
    if before is None or reset is None or reset > before + (1 << 20):
        run()  # the peak was not reset (a kernel without clear_refs): nothing to report
        return None
    run()
    peak = _status_bytes("VmHWM")
    return None if before is None or peak is None else max(peak - before, 0)


def _versions() -> dict[str, str]:
    """Versions of Python and of the installed packages that take part."""
    versions = {"python": platform.python_version()}
    for distribution in ("qiskit-cupy", "qiskit", "qiskit-aer", "qsimcirq", "cirq-core", "numpy"):
        try:
            versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class Machine:
    """The machine a benchmark ran on.

    Attributes:
        cpu_model: The CPU's model name.
        cores: Logical CPUs.
        memory_bytes: Physical memory.
        bandwidth: The measured memory bandwidth.
        gpu: The reason no GPU was usable, or None when one was.
        load_before: The 1-minute load average when the benchmark started.
        load_after: The 1-minute load average when it ended.
        versions: Python and package versions.
        started: When the benchmark started (ISO 8601, UTC).
    """

    cpu_model: str
    cores: int
    memory_bytes: int
    bandwidth: Bandwidth
    gpu: str | None
    load_before: float
    load_after: float
    versions: dict[str, str]
    started: str


def describe_machine(bandwidth: Bandwidth, load_before: float, started: str) -> Machine:
    """Describe this machine as a benchmark ends, with what was measured of it.

    Args:
        bandwidth: The memory bandwidth measured around the benchmark.
        load_before: The 1-minute load average when the benchmark started.
        started: When the benchmark started (ISO 8601, UTC).

    Returns:
        The machine; its ``load_after`` is the 1-minute load average now.
    """
    return Machine(
        cpu_model=processor_name(),
        cores=os.cpu_count() or 1,
        memory_bytes=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        bandwidth=bandwidth,
        gpu=gpu_unavailable_reason(),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        versions=_versions(),
        started=started,
    )

"""The CPU's op costs, measured once per machine: what the fusion cost model prices with.

How large a block fusion should build depends on the machine: a dense op of k targets
does 8 x 2^k flops per amplitude, so on a machine with wide vectors and little memory
bandwidth five-qubit blocks pay, and on one with narrow vectors they cost more than the
passes they save. So the CPU device does not price with constants: the first job of a
precision measures, with the extension's own kernels on a state too large for the
caches, the bandwidth of a one-qubit diagonal pass, the cost per amplitude of a dense op
of each size 1 to 5 (targets low and high, averaged), the same ops inside the cache
blocks that runs of low ops are applied in (``run_program``'s block_bits) and the fixed
cost of an op, and keeps them in a file under the cache directory, keyed by the package version, the CPU
build, its instruction set and the processor. Later jobs, and other processes on the
machine, read the file, so a circuit fuses (and, for a seed, samples) the same way
every time. ``qiskit-cupy calibrate`` measures again.

Every thread count prices with the measurement made on every core, so that
``max_parallel_threads`` does not change how a circuit fuses. A process that finds no
file measures under an exclusive lock on it, so that concurrent processes (Dask
workers, a process pool) share one measurement.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qiskit.quantum_info import random_unitary

from qiskit_cupy import _cpu
from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.compiler.ops import GateOp, OpKind, ops_from_matrix
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices.base import COMPLEX_DTYPES
from qiskit_cupy.devices.kernel_source import cuda_source
from qiskit_cupy.version import __version__

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: processes measure on their own
    fcntl = None  # type: ignore[assignment]  # the lock is POSIX-only, and optional

LOGGER = logging.getLogger(__name__)

#: The environment variable that moves the cache directory.
CACHE_VARIABLE = "QISKIT_CUPY_CACHE_DIR"

#: Bytes of the state the costs are measured on: larger than any processor's caches.
MEASURED_STATE_BYTES = 1 << 26

#: Dense op sizes measured: every size fusion builds.
DENSE_SIZES = (1, 2, 3, 4, 5)

#: Ops per timed program, and rounds of timings (each op's fastest counts).
_OPS_PER_PROGRAM = 2
_REPEATS = 3

#: Ops per timed blocked run: enough that the run's one pass over memory is a small part.
_BLOCKED_OPS = 16

_NO_ROWS = np.zeros(1, dtype=np.int64)
_EVERY_STATE = -1


@dataclass(frozen=True)
class Calibration:
    """What was measured for one precision.

    Attributes:
        precision: ``"double"`` or ``"single"``.
        num_qubits: Width of the state the costs were measured on.
        threads: Threads the kernels ran on.
        bandwidth: Bytes per second moved by a one-qubit diagonal pass.
        dense_seconds: Seconds per amplitude of a dense op of 1, 2, ... 5 targets.
        block_bits: Width of the blocks run_program applies runs of low ops in.
        blocked_seconds: Seconds per amplitude of an op inside such blocks (in the
            cache): a diagonal op, then dense ops of 1, 2, ... 5 targets.
        launch_seconds: Seconds of one op on a tiny state: the fixed cost of an op.
        measured_at: When, as seconds since the epoch.
    """

    precision: str
    num_qubits: int
    threads: int
    bandwidth: float
    dense_seconds: tuple[float, ...]
    block_bits: int
    blocked_seconds: tuple[float, ...]
    launch_seconds: float
    measured_at: float

    def roofline(self) -> Roofline:
        """The fusion cost model's view: the flop rate is the five-qubit dense op's."""
        largest = len(self.dense_seconds)
        flop_rate = 8.0 * (1 << largest) / self.dense_seconds[-1]
        return Roofline(
            bandwidth=self.bandwidth,
            flop_rate=flop_rate,
            launch_seconds=self.launch_seconds,
            dense_seconds=self.dense_seconds,
            block_bits=self.block_bits,
            blocked_seconds=self.blocked_seconds,
        )


def cache_dir() -> Path:
    """Where qiskit-cupy keeps what it measured: ``$QISKIT_CUPY_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/qiskit-cupy``, else ``~/.cache/qiskit-cupy``."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "qiskit-cupy"


def cache_file() -> Path:
    """The file that holds the CPU calibrations."""
    return cache_dir() / "cpu-costs.json"


def machine_key(precision: str) -> str:
    """What a calibration is valid for: package version, kernel source, CPU build and
    processor (a changed kernel body has other costs, even within one version)."""
    simd, _bits = _cpu.simd()
    processor = processor_name()
    return f"{__version__}|{kernel_digest()}|{_cpu.build}|{simd}|{processor}|{precision}"


@functools.cache
def kernel_digest() -> str:
    """A short digest of the kernel bodies the extension was built from."""
    return hashlib.sha256(cuda_source().encode()).hexdigest()[:12]


@functools.cache
def processor_name() -> str:
    """The CPU's model name (as ``lscpu`` shows it), or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_memo: dict[str, Calibration] = {}
_memo_lock = threading.Lock()


def cpu_roofline(precision: str) -> Roofline:
    """The CPU's measured roofline for ``precision``: from memory, the cache file, or a
    measurement (about a second, once per machine)."""
    return calibration(precision).roofline()


def calibration(precision: str, *, remeasure: bool = False) -> Calibration:
    """The calibration of ``precision`` for this machine.

    Args:
        precision: ``"double"`` or ``"single"``.
        remeasure: Measure again even where a calibration is kept, and keep the new one.

    Returns:
        The calibration in force.
    """
    key = machine_key(precision)
    with _memo_lock:
        if not remeasure and key in _memo:
            return _memo[key]
        with _locked_cache() as stored:
            found = None if remeasure else _parse(stored.get(key))
            if found is None:
                LOGGER.info("measuring the CPU's %s-precision op costs (once per machine)", precision)
                found = measure(precision)
                stored[key] = asdict(found)
        _memo[key] = found
        return found


def _parse(entry: Any) -> Calibration | None:
    """A stored calibration, or None where it is missing or not one."""
    if not isinstance(entry, dict):
        return None
    try:
        entry = {
            **entry,
            "dense_seconds": tuple(float(value) for value in entry["dense_seconds"]),
            "blocked_seconds": tuple(float(value) for value in entry["blocked_seconds"]),
        }
        found = Calibration(**entry)
    except (KeyError, TypeError, ValueError):
        return None
    values = (found.bandwidth, found.launch_seconds, *found.dense_seconds, *found.blocked_seconds)
    sizes = (len(found.dense_seconds), len(found.blocked_seconds) - 1)
    if sizes != (len(DENSE_SIZES), len(DENSE_SIZES)) or not all(np.isfinite(v) and v > 0 for v in values):
        return None
    return found


@contextmanager
def _locked_cache() -> Iterator[dict[str, Any]]:
    """The cache file's calibrations, under an exclusive lock; written back on exit.

    Where the directory cannot be written, the calibrations live for this process only.
    """
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "a+")  # noqa: SIM115 - held across the yield
    except OSError as error:
        LOGGER.warning("cannot keep CPU calibrations in %s: %s", path.parent, error)
        yield {}
        return
    with lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        stored = _read(path)
        before = dict(stored)
        yield stored
        if stored != before:
            _write(path, stored)


def _read(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _write(path: Path, stored: dict[str, Any]) -> None:
    """Replace the file atomically, so that a reader never sees half of it."""
    try:
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as handle:
            json.dump(stored, handle, indent=1, sort_keys=True)
        os.replace(handle.name, path)
    except OSError as error:
        LOGGER.warning("cannot write CPU calibrations to %s: %s", path, error)


def measure(precision: str) -> Calibration:
    """Measure the CPU kernels' costs for ``precision`` on every core.

    Every op is timed once per round, round after round, and its fastest time counts:
    a burst of other work on the machine slows one round of every op rather than every
    round of one op, so it skews the ratios between sizes (which choose the fusion)
    less than it would if each op were timed in a row.

    Args:
        precision: ``"double"`` or ``"single"``.

    Returns:
        The measured calibration.
    """
    dtype = COMPLEX_DTYPES[precision]
    itemsize = np.dtype(dtype).itemsize
    num_qubits = int(np.log2(MEASURED_STATE_BYTES // itemsize))
    state = np.full(1 << num_qubits, 1.0 / np.sqrt(2.0**num_qubits), dtype=dtype)  # every page touched
    tiny_qubits = 6
    tiny = np.zeros(1 << tiny_qubits, dtype=dtype)
    rng = np.random.default_rng(2027)
    diagonal = ops_from_matrix(np.diag(np.exp(2j * np.pi * rng.random(2))), (num_qubits // 2,))
    dense = {
        (size, placement): _dense(random_unitary(1 << size, seed=size).data, targets)
        for size in DENSE_SIZES
        for placement, targets in enumerate((tuple(range(size)), tuple(range(num_qubits - size, num_qubits))))
    }
    block_bits = int(_cpu.cache_block_bits(itemsize))
    blocked = {"blocked diagonal": ops_from_matrix(np.diag(np.exp(2j * np.pi * rng.random(2))), (1,))}
    blocked.update({f"blocked {size}": dense[(size, 0)] for size in DENSE_SIZES})
    best: dict[object, float] = {}
    for _ in range(_REPEATS):
        timings: dict[object, float] = {
            "diagonal": _seconds_per_op(state, num_qubits, diagonal, dtype),
            "launch": _seconds_per_op(tiny, tiny_qubits, dense[(1, 0)], dtype, repeat_op=64),
        }
        timings.update({key: _seconds_per_op(state, num_qubits, op, dtype) for key, op in dense.items()})
        timings.update(
            {
                key: _seconds_per_op(state, num_qubits, op, dtype, _BLOCKED_OPS, block_bits)
                for key, op in blocked.items()
            }
        )
        best = {key: min(seconds, best.get(key, seconds)) for key, seconds in timings.items()}
    amplitudes = float(state.size)
    return Calibration(
        precision=precision,
        num_qubits=num_qubits,
        threads=int(_cpu.max_threads()),
        bandwidth=2.0 * itemsize * amplitudes / best["diagonal"],
        dense_seconds=tuple(
            float(np.mean([best[(size, 0)], best[(size, 1)]])) / amplitudes for size in DENSE_SIZES
        ),
        block_bits=block_bits,
        blocked_seconds=tuple(best[key] / amplitudes for key in blocked),
        launch_seconds=best["launch"],
        measured_at=time.time(),
    )


def _dense(matrix: np.ndarray, targets: tuple[int, ...]) -> list[GateOp]:
    ops = ops_from_matrix(matrix, targets)
    assert len(ops) == 1 and ops[0].kind is OpKind.DENSE, "a random unitary is one dense op"
    return ops


def _seconds_per_op(
    state: np.ndarray,
    num_qubits: int,
    op: list[GateOp],
    dtype: type[np.complexfloating],
    repeat_op: int = _OPS_PER_PROGRAM,
    block_bits: int = 0,
) -> float:
    """The time of one call of a program of ``repeat_op`` copies of an op, per op; op by
    op, or (block_bits > 0) as one cache-blocked run."""
    program = encode_program(op * repeat_op)
    data: np.ndarray = program.data.astype(dtype)
    started = time.perf_counter()
    _cpu.run_program(state, num_qubits, 1, program.rows, data, _NO_ROWS, 1, _EVERY_STATE, 0, block_bits)
    return (time.perf_counter() - started) / repeat_op

"""The ``qiskit-cupy bench`` benchmark: qiskit-cupy against its peers, side by side.

The same transpiled circuits (QFT, a qsim-style random circuit, a hardware-efficient
ansatz, GHZ) run on every simulator asked for: qiskit-cupy on the GPU (only where one is
usable) and on the CPU fallback, Qiskit Aer and qsim (through qsimcirq) where they are
installed. Each time is the median of several runs from circuit to counts after one
warm-up; each peer is tried with each of its settings and its best is kept. The memory
bandwidth is measured in the same process, and every CPU-fallback time is reported as a
fraction of the limit it sets: one pass over the state per program op, reading and
writing every amplitude. Beside the GPU column stands a bandwidth *model* of an H100,
which is never a measurement.

Everything here is a library: :func:`run_benchmark` measures and returns a
:class:`BenchReport`; the ``write_*`` functions and :func:`table` present it.
"""

from __future__ import annotations

import concurrent.futures
import csv
import datetime
import functools
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate, efficient_su2

from qiskit_cupy.backend import CupySimulator
from qiskit_cupy.devices.gpu import gpu_unavailable_reason
from qiskit_cupy.options import PRECISIONS

#: Seed of the random circuits, the ansatz parameters and every simulator's sampler.
SEED = 1234
#: Layers (rotations, then a CX ladder) of the hardware-efficient ansatz.
HEA_LAYERS = 4
#: Peak HBM3 bandwidth of an NVIDIA H100 SXM, bytes per second: the GPU model's only input.
H100_BANDWIDTH = 3.35e12
#: The gates every benchmark circuit is transpiled to before any simulator sees it.
BASIS_GATES = ("h", "x", "sx", "rx", "ry", "rz", "p", "r", "cx", "cz", "cp", "swap")
#: A peer setting whose warm-up is this many times slower than the best median so far ...
PRUNE_FACTOR = 2.0
#: ... and takes at least this many seconds is not timed further: it cannot be the best.
PRUNE_MIN_SECONDS = 1.0
#: Bytes of each array of the bandwidth measurement (well beyond any cache).
BANDWIDTH_BYTES = 1 << 28
#: Timed repetitions of each bandwidth kernel; the fastest counts.
BANDWIDTH_REPEATS = 5
#: Complex amplitude sizes in bytes.
AMPLITUDE_BYTES = {"double": 16, "single": 8}


# ---------------------------------------------------------------- circuits


def qft_circuit(num_qubits: int) -> QuantumCircuit:
    """Hadamards on every qubit, then the quantum Fourier transform, measured.

    Args:
        num_qubits: The width.

    Returns:
        The circuit (QFTGate not yet decomposed).
    """
    circuit = QuantumCircuit(num_qubits, name=f"qft_{num_qubits}")
    circuit.h(range(num_qubits))
    circuit.append(QFTGate(num_qubits), range(num_qubits))
    circuit.measure_all()
    return circuit


def random_circuit(num_qubits: int, seed: int = SEED) -> QuantumCircuit:
    """A qsim-style random circuit of depth equal to its width, measured.

    After a layer of Hadamards, each layer applies to every qubit a random choice of
    sqrt(X), sqrt(Y) and sqrt(W) (W = (X + Y) / sqrt(2)), never the same gate twice in a
    row on one qubit, then CZ on neighbouring pairs, alternating between even and odd
    pairs from layer to layer.

    Args:
        num_qubits: The width and the number of layers.
        seed: Seed of the gate choices.

    Returns:
        The circuit, in ``r``, ``h`` and ``cz`` gates.
    """
    rng = np.random.default_rng(seed)
    # R(pi/2, phi) is a square root of cos(phi) X + sin(phi) Y: sqrt(X), sqrt(Y), sqrt(W).
    axes = (0.0, math.pi / 2, math.pi / 4)
    circuit = QuantumCircuit(num_qubits, name=f"random_{num_qubits}")
    circuit.h(range(num_qubits))
    previous = [-1] * num_qubits
    for layer in range(num_qubits):
        for qubit in range(num_qubits):
            choice = int(rng.choice([axis for axis in range(len(axes)) if axis != previous[qubit]]))
            previous[qubit] = choice
            circuit.r(math.pi / 2, axes[choice], qubit)
        for qubit in range(layer % 2, num_qubits - 1, 2):
            circuit.cz(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def hea_circuit(num_qubits: int, seed: int = SEED) -> QuantumCircuit:
    """A hardware-efficient ansatz with random bound parameters, measured.

    :data:`HEA_LAYERS` layers of RY and RZ on every qubit followed by a CX ladder, then a
    last rotation layer (Qiskit's ``efficient_su2`` with linear entanglement).

    Args:
        num_qubits: The width.
        seed: Seed of the parameter values, drawn uniformly from [0, 2 pi).

    Returns:
        The circuit with every parameter bound.
    """
    ansatz = efficient_su2(num_qubits, ["ry", "rz"], entanglement="linear", reps=HEA_LAYERS)
    values = np.random.default_rng(seed).uniform(0.0, 2 * math.pi, ansatz.num_parameters)
    circuit = ansatz.assign_parameters(values)
    circuit.name = f"hea_{num_qubits}"
    circuit.measure_all()
    return circuit


def ghz_circuit(num_qubits: int) -> QuantumCircuit:
    """A GHZ state (Hadamard, then a CX chain), measured.

    Args:
        num_qubits: The width.

    Returns:
        The circuit.
    """
    circuit = QuantumCircuit(num_qubits, name=f"ghz_{num_qubits}")
    circuit.h(0)
    for qubit in range(num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


#: The benchmark circuits by name: each takes the width and returns a measured circuit.
CIRCUITS: dict[str, Callable[[int], QuantumCircuit]] = {
    "qft": qft_circuit,
    "random": random_circuit,
    "hea": hea_circuit,
    "ghz": ghz_circuit,
}


def benchmark_circuit(name: str, num_qubits: int) -> QuantumCircuit:
    """Build a benchmark circuit and transpile it to :data:`BASIS_GATES`, unoptimized.

    Every simulator is given this same circuit.

    Args:
        name: A key of :data:`CIRCUITS`.
        num_qubits: The width.

    Returns:
        The transpiled circuit.
    """
    return transpile(
        CIRCUITS[name](num_qubits), basis_gates=list(BASIS_GATES), optimization_level=0
    )


def parse_qubits(text: str) -> tuple[int, ...]:
    """Read widths: a comma-separated list of numbers and inclusive ``start:stop[:step]`` ranges.

    Args:
        text: For example ``"4:26:2"``, ``"4,6,10"`` or ``"4:8,12"``.

    Returns:
        The distinct widths, ascending.

    Raises:
        ValueError: The text is not of that form, or a width is below 1.
    """
    widths: set[int] = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            bounds = [int(bound) for bound in item.split(":")]
        except ValueError:
            raise ValueError(f"{item!r} is neither a width nor start:stop[:step]") from None
        if len(bounds) > 3 or (len(bounds) == 3 and bounds[2] < 1):
            raise ValueError(f"{item!r}: write start:stop or start:stop:step with step >= 1")
        start, stop = bounds[0], bounds[min(1, len(bounds) - 1)]
        step = bounds[2] if len(bounds) == 3 else 1
        widths.update(range(start, stop + 1, step))
    if not widths or min(widths) < 1:
        raise ValueError(f"{text!r}: give widths of at least 1 qubit")
    return tuple(sorted(widths))


def format_qubits(widths: Sequence[int]) -> str:
    """Write widths back as :func:`parse_qubits` reads them, as a range where they are one.

    Args:
        widths: Ascending widths.

    Returns:
        ``start:stop:step`` for three or more evenly spaced widths, else a comma list.
    """
    steps = {later - earlier for earlier, later in zip(widths, widths[1:])}
    if len(widths) >= 3 and len(steps) == 1:
        return f"{widths[0]}:{widths[-1]}:{steps.pop()}"
    return ",".join(map(str, widths))


# ---------------------------------------------------------------- cirq conversion


@functools.cache
def _cirq_gates() -> dict[str, Callable[..., Any]]:
    """Map each of :data:`BASIS_GATES` to a function of its parameters giving the cirq gate.

    Each cirq gate equals the Qiskit gate up to a global phase.
    """
    import cirq

    def fixed(gate: Any) -> Callable[[], Any]:
        return lambda: gate

    return {
        "h": fixed(cirq.H),
        "x": fixed(cirq.X),
        "sx": fixed(cirq.X**0.5),
        "rx": cirq.rx,
        "ry": cirq.ry,
        "rz": cirq.rz,
        "p": lambda angle: cirq.ZPowGate(exponent=angle / math.pi),
        "r": lambda theta, phi: cirq.PhasedXPowGate(
            phase_exponent=phi / math.pi, exponent=theta / math.pi
        ),
        "cx": fixed(cirq.CNOT),
        "cz": fixed(cirq.CZ),
        "cp": lambda angle: cirq.CZPowGate(exponent=angle / math.pi),
        "swap": fixed(cirq.SWAP),
    }


def measured_clbit_qubits(circuit: QuantumCircuit) -> list[int]:
    """Return, for each classical bit in order, the index of the qubit measured into it.

    Raises:
        ValueError: A classical bit is never measured into.
    """
    sources: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            clbit = circuit.find_bit(instruction.clbits[0]).index
            sources[clbit] = circuit.find_bit(instruction.qubits[0]).index
    if sorted(sources) != list(range(circuit.num_clbits)):
        raise ValueError(f"circuit '{circuit.name}': every classical bit must be measured into")
    return [sources[clbit] for clbit in range(circuit.num_clbits)]


def to_cirq(circuit: QuantumCircuit, measure: bool = True) -> Any:
    """Convert a circuit in :data:`BASIS_GATES` to cirq, on ``LineQubit(i)`` for qubit ``i``.

    Args:
        circuit: The circuit (measurements and barriers are dropped).
        measure: End with one measurement, key ``"m"``, of the qubits measured into
            classical bits 0, 1, ... in that order.

    Returns:
        The ``cirq.Circuit``.

    Raises:
        ValueError: The circuit holds a gate outside :data:`BASIS_GATES`.
    """
    import cirq

    gates = _cirq_gates()
    qubits = cirq.LineQubit.range(circuit.num_qubits)
    operations = []
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in ("measure", "barrier"):
            continue
        if name not in gates:
            raise ValueError(f"gate '{name}' is not one of the benchmark basis gates")
        targets = [qubits[circuit.find_bit(qubit).index] for qubit in instruction.qubits]
        parameters = [float(value) for value in instruction.operation.params]
        operations.append(gates[name](*parameters).on(*targets))
    if measure:
        measured = [qubits[index] for index in measured_clbit_qubits(circuit)]
        operations.append(cirq.measure(*measured, key="m"))
    return cirq.Circuit(operations)


# ---------------------------------------------------------------- simulators


@dataclass(frozen=True)
class RunOutput:
    """What one run from circuit to counts returns.

    Attributes:
        counts: Counts keyed by Qiskit bit strings (classical bit 0 rightmost).
        num_ops: The ops of qiskit-cupy's program (result metadata ``num_ops``), or
            None for the peers.
    """

    counts: Mapping[str, int]
    num_ops: int | None = None


#: One run: circuit in, counts out.
Run = Callable[[], RunOutput]
#: Prepares a run of a circuit at a precision with a number of shots.
Prepare = Callable[[QuantumCircuit, str, int], Run]
#: Times one run, returning its seconds and its output.
Timer = Callable[[Run], tuple[float, RunOutput]]


@dataclass(frozen=True)
class Setting:
    """One way to configure a simulator.

    Attributes:
        label: Its name in tables, e.g. ``"fusion on"``.
        prepare: Builds the run of a circuit (conversion happens here, not in the run).
    """

    label: str
    prepare: Prepare


@dataclass(frozen=True)
class Simulator:
    """A simulator the benchmark can run.

    Attributes:
        name: Its name in tables and on the command line.
        settings: Its settings, the likely fastest first; the best one is kept.
        unavailable_reason: Says why it cannot run here, or returns None.
        timer: Times one run.
        precisions: The precisions it simulates in.
    """

    name: str
    settings: tuple[Setting, ...]
    unavailable_reason: Callable[[], str | None]
    timer: Timer
    precisions: tuple[str, ...] = PRECISIONS

    def precision_note(self, precision: str) -> str | None:
        """Say why this simulator cannot simulate at ``precision``, or return None."""
        if precision in self.precisions:
            return None
        return f"{self.name} simulates in {' and '.join(self.precisions)} precision only"


def wall_time(run: Run) -> tuple[float, RunOutput]:
    """Time a run with the host clock.

    Args:
        run: The run.

    Returns:
        Its seconds and its output.
    """
    start = time.perf_counter()
    output = run()
    return time.perf_counter() - start, output


def cuda_event_time(run: Run) -> tuple[float, RunOutput]:
    """Time a GPU run with CUDA events, the device synchronized first.

    The end event is recorded after ``result()`` has synchronized on the job's event,
    and read after synchronizing on it.

    Args:
        run: The run.

    Returns:
        Its seconds and its output.
    """
    import cupy

    cupy.cuda.Device().synchronize()
    start, end = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    output = run()
    end.record()
    end.synchronize()
    return cupy.cuda.get_elapsed_time(start, end) / 1000.0, output


@functools.cache
def _cupy_backend(device: str, precision: str) -> CupySimulator:
    return CupySimulator(device=device, precision=precision, seed_simulator=SEED)


@functools.cache
def _aer_backend(precision: str, fusion: bool) -> Any:
    from qiskit_aer import AerSimulator

    return AerSimulator(
        method="statevector", precision=precision, fusion_enable=fusion, seed_simulator=SEED
    )


def _qiskit_run(backend: Any, circuit: QuantumCircuit, shots: int) -> Run:
    """The run of a circuit on a Qiskit backend: ``run``, ``result``, ``get_counts``."""

    def run() -> RunOutput:
        result = backend.run(circuit, shots=shots).result()
        counts = result.get_counts()
        return RunOutput(counts, result.results[0].metadata.get("num_ops"))

    return run


def _cupy_setting(device: str) -> Setting:
    def prepare(circuit: QuantumCircuit, precision: str, shots: int) -> Run:
        return _qiskit_run(_cupy_backend(device, precision), circuit, shots)

    return Setting("default", prepare)


def _aer_setting(fusion: bool) -> Setting:
    def prepare(circuit: QuantumCircuit, precision: str, shots: int) -> Run:
        return _qiskit_run(_aer_backend(precision, fusion), circuit, shots)

    return Setting("fusion on" if fusion else "fusion off", prepare)


def _qsim_setting(max_fused_gate_size: int) -> Setting:
    def prepare(circuit: QuantumCircuit, precision: str, shots: int) -> Run:
        import qsimcirq

        options = qsimcirq.QSimOptions(
            cpu_threads=os.cpu_count() or 1, max_fused_gate_size=max_fused_gate_size
        )
        simulator = qsimcirq.QSimSimulator(options, seed=SEED)
        program = to_cirq(circuit)
        width = circuit.num_clbits

        def run() -> RunOutput:
            histogram = simulator.run(program, repetitions=shots).histogram(key="m")
            # cirq puts the first measured qubit in the highest bit; Qiskit rightmost.
            return RunOutput(
                {format(value, f"0{width}b")[::-1]: count for value, count in histogram.items()}
            )

        return run

    return Setting(f"fused<={max_fused_gate_size}", prepare)


def _missing(module: str, distribution: str) -> Callable[[], str | None]:
    """Make an ``unavailable_reason`` that says when a module cannot be imported."""

    def reason() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"{distribution} is not installed (pip install 'qiskit-cupy[bench]')"
        return None

    return reason


def _no_gpu_reason() -> str | None:
    reason = gpu_unavailable_reason()
    return None if reason is None else f"no GPU: {reason}"


#: The simulators by name, in table order.
SIMULATORS: dict[str, Simulator] = {
    simulator.name: simulator
    for simulator in (
        Simulator("cupy-gpu", (_cupy_setting("GPU"),), _no_gpu_reason, cuda_event_time),
        Simulator("cupy-cpu", (_cupy_setting("CPU"),), lambda: None, wall_time),
        Simulator(
            "aer", (_aer_setting(True), _aer_setting(False)), _missing("qiskit_aer", "qiskit-aer"),
            wall_time,
        ),
        Simulator(
            "qsim", (_qsim_setting(4), _qsim_setting(2)), _missing("qsimcirq", "qsimcirq"),
            wall_time, precisions=("single",),
        ),
    )
}


# ---------------------------------------------------------------- machine


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
        return Bandwidth(
            max(self.copy, other.copy), max(self.update, other.update), self.threads
        )


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


def _cpu_model() -> str:
    """The CPU's model name (as ``lscpu`` shows it), or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class BenchConfig:
    """What to benchmark.

    Attributes:
        circuits: Names from :data:`CIRCUITS`.
        qubits: Widths.
        precisions: ``"double"`` and/or ``"single"``.
        simulators: Names from :data:`SIMULATORS`.
        repeat: Timed runs of each setting after the warm-up; the median counts.
        shots: Shots of each run.
    """

    circuits: tuple[str, ...] = tuple(CIRCUITS)
    qubits: tuple[int, ...] = tuple(range(4, 27, 2))
    precisions: tuple[str, ...] = PRECISIONS
    simulators: tuple[str, ...] = tuple(SIMULATORS)
    repeat: int = 3
    shots: int = 1024

    def command(self, outputs: Sequence[str] = ()) -> str:
        """The ``qiskit-cupy bench`` command line that runs this configuration.

        Args:
            outputs: Further arguments (the output options), already quoted.

        Returns:
            The command, every option spelled out.
        """
        return " ".join([
            "qiskit-cupy bench",
            f"--circuits {','.join(self.circuits)}",
            f"--qubits {format_qubits(self.qubits)}",
            f"--precision {','.join(self.precisions)}",
            f"--simulators {','.join(self.simulators)}",
            f"--repeat {self.repeat}",
            f"--shots {self.shots}",
            *outputs,
        ])


@dataclass
class Measurement:
    """One simulator on one circuit, width and precision.

    Attributes:
        circuit: The circuit's name.
        qubits: The width.
        precision: The precision.
        simulator: The simulator's name.
        seconds: The best setting's median time, or None when not measured.
        setting: The best setting's label, or None.
        samples: The best setting's timed runs, seconds.
        num_ops: The program's ops (qiskit-cupy only), else None.
        setting_seconds: Median seconds of each setting timed in full.
        pruned: Warm-up seconds of each setting dropped after its warm-up.
        failures: The error of each setting that failed.
        note: Why nothing was measured, when nothing was.
    """

    circuit: str
    qubits: int
    precision: str
    simulator: str
    seconds: float | None = None
    setting: str | None = None
    samples: list[float] = field(default_factory=list)
    num_ops: int | None = None
    setting_seconds: dict[str, float] = field(default_factory=dict)
    pruned: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _time_setting(
    simulator: Simulator, setting: Setting, circuit: QuantumCircuit, precision: str,
    config: BenchConfig, measurement: Measurement,
) -> None:
    """Time one setting into ``measurement``, keeping it if it is the best so far."""
    run = setting.prepare(circuit, precision, config.shots)
    warmup, output = simulator.timer(run)
    best = measurement.seconds
    if best is not None and warmup > PRUNE_FACTOR * best and warmup >= PRUNE_MIN_SECONDS:
        measurement.pruned[setting.label] = warmup
        return
    samples = [simulator.timer(run)[0] for _ in range(config.repeat)]
    median = statistics.median(samples)
    measurement.setting_seconds[setting.label] = median
    if best is None or median < best:
        measurement.seconds, measurement.setting = median, setting.label
        measurement.samples, measurement.num_ops = samples, output.num_ops


def measure(
    simulator: Simulator, circuit: QuantumCircuit, name: str, precision: str,
    config: BenchConfig, unavailable: str | None,
) -> Measurement:
    """Time a simulator on a circuit at a precision with each of its settings.

    Args:
        simulator: The simulator.
        circuit: The transpiled circuit.
        name: The circuit's benchmark name.
        precision: The precision.
        config: Shots and repetitions.
        unavailable: Why the simulator cannot run here, or None.

    Returns:
        The measurement; a setting that raises is recorded as failed, not raised.
    """
    measurement = Measurement(name, circuit.num_qubits, precision, simulator.name)
    if unavailable is not None:
        measurement.note = unavailable
        return measurement
    precision_note = simulator.precision_note(precision)
    if precision_note is not None:
        measurement.note = precision_note
        return measurement
    for setting in simulator.settings:
        try:
            _time_setting(simulator, setting, circuit, precision, config, measurement)
        except Exception as error:  # a failed simulator is reported, not fatal
            measurement.failures[setting.label] = f"{type(error).__name__}: {error}"
    if measurement.seconds is None:
        measurement.note = "failed: " + "; ".join(measurement.failures.values())
    return measurement


@dataclass(frozen=True)
class BenchReport:
    """A benchmark's configuration, machine and measurements.

    Attributes:
        config: What was benchmarked.
        machine: Where.
        measurements: Every measurement, grouped by circuit, width and precision.
        seconds: How long the whole benchmark took.
    """

    config: BenchConfig
    machine: Machine
    measurements: tuple[Measurement, ...]
    seconds: float

    def groups(self) -> Iterator[list[Measurement]]:
        """Yield the measurements of each circuit, width and precision together."""
        group: list[Measurement] = []
        for measurement in self.measurements:
            if group and _group_key(group[0]) != _group_key(measurement):
                yield group
                group = []
            group.append(measurement)
        if group:
            yield group


def _group_key(measurement: Measurement) -> tuple[str, int, str]:
    return measurement.circuit, measurement.qubits, measurement.precision


def run_benchmark(
    config: BenchConfig, progress: Callable[[str], None] | None = None
) -> BenchReport:
    """Measure every simulator on every circuit, width and precision, and the bandwidth.

    The bandwidth is measured before and after the simulators, and the faster of the two
    counts, so that a busy moment on a shared machine does not lower the limit.

    Args:
        config: What to benchmark.
        progress: Called with one line after each measurement.

    Returns:
        The report.
    """
    started = time.perf_counter()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()[0]
    bandwidth = measure_bandwidth()
    unavailable = {name: SIMULATORS[name].unavailable_reason() for name in config.simulators}
    measurements = []
    for name in config.circuits:
        for num_qubits in config.qubits:
            circuit = benchmark_circuit(name, num_qubits)
            for precision in config.precisions:
                for simulator_name in config.simulators:
                    measurement = measure(
                        SIMULATORS[simulator_name], circuit, name, precision, config,
                        unavailable[simulator_name],
                    )
                    measurements.append(measurement)
                    if progress is not None:
                        progress(_progress_line(measurement, time.perf_counter() - started))
    machine = Machine(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 1,
        memory_bytes=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        bandwidth=bandwidth.combine(measure_bandwidth()),
        gpu=gpu_unavailable_reason(),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        versions=_versions(),
        started=started_at,
    )
    return BenchReport(config, machine, tuple(measurements), time.perf_counter() - started)


def _progress_line(measurement: Measurement, elapsed: float) -> str:
    what = (
        f"{measurement.seconds:.4g} s ({measurement.setting})"
        if measurement.seconds is not None
        else f"not measured ({_short(measurement.note)})"
    )
    return (
        f"[{elapsed:7.1f} s] {measurement.circuit} {measurement.qubits} {measurement.precision} "
        f"{measurement.simulator}: {what}"
    )


# ---------------------------------------------------------------- derived figures


def state_bytes(num_qubits: int, precision: str) -> int:
    """Bytes of a statevector of ``num_qubits`` qubits at ``precision``."""
    return AMPLITUDE_BYTES[precision] << num_qubits


def pass_seconds(num_ops: int, num_qubits: int, precision: str, bandwidth: float) -> float:
    """The bandwidth limit: ``num_ops`` passes, each reading and writing the whole state.

    Args:
        num_ops: Passes over the state.
        num_qubits: The width.
        precision: The precision.
        bandwidth: Bytes per second.

    Returns:
        Seconds.
    """
    return num_ops * 2 * state_bytes(num_qubits, precision) / bandwidth


def derived_rows(report: BenchReport) -> list[dict[str, Any]]:
    """One row per measurement with the figures derived from it.

    Besides the measurement's own fields, each row has ``state_bytes``;
    ``bandwidth_limit_seconds`` and ``bandwidth_fraction`` (limit / time) for the CPU
    fallback; ``h100_model_seconds`` (a model, never a measurement) for the GPU; and
    ``ratio_<peer>`` (time / the peer's time) for each other measured simulator.

    Args:
        report: The report.

    Returns:
        The rows, in the report's order.
    """
    bandwidth = report.machine.bandwidth.best
    rows = []
    for group in report.groups():
        num_ops = next((m.num_ops for m in group if m.num_ops is not None), None)
        for measurement in group:
            row = asdict(measurement)
            row["state_bytes"] = state_bytes(measurement.qubits, measurement.precision)
            args = (measurement.qubits, measurement.precision)
            if measurement.simulator == "cupy-cpu" and None not in (
                measurement.seconds, measurement.num_ops
            ):
                limit = pass_seconds(measurement.num_ops, *args, bandwidth)
                row["bandwidth_limit_seconds"] = limit
                row["bandwidth_fraction"] = limit / measurement.seconds
            if measurement.simulator == "cupy-gpu" and num_ops is not None:
                row["h100_model_seconds"] = pass_seconds(num_ops, *args, H100_BANDWIDTH)
            for peer in group:
                if peer is not measurement and None not in (peer.seconds, measurement.seconds):
                    row[f"ratio_{peer.simulator}"] = measurement.seconds / peer.seconds
            rows.append(row)
    return rows


# ---------------------------------------------------------------- presentation


def _ratio_peers(report: BenchReport) -> list[str]:
    """The simulators with at least one measured time: the table's ratio columns."""
    measured = {m.simulator for m in report.measurements if m.seconds is not None}
    return [name for name in report.config.simulators if name in measured]


def _short(reason: str) -> str:
    """A reason without its parenthesized details."""
    return reason.split(" (", 1)[0]


def table(report: BenchReport) -> tuple[list[str], list[list[str]]]:
    """The results table: headings and rows of text.

    Args:
        report: The report.

    Returns:
        The headings and the rows.
    """
    peers = _ratio_peers(report)
    model = "cupy-gpu" in report.config.simulators
    headings = ["circuit", "qubits", "precision", "simulator", "setting", "time [s]"]
    headings += [f"time/{peer}" for peer in peers] + ["BW fraction"]
    headings += ["H100 model [s]"] if model else []
    rows = []
    for row in derived_rows(report):
        seconds = row["seconds"]
        time_text = (
            f"{seconds:.4g}" if seconds is not None else f"not measured ({_short(row['note'])})"
        )
        cells = [row["circuit"], str(row["qubits"]), row["precision"], row["simulator"],
                 row["setting"] or "-", time_text]
        cells += [_number(row.get(f"ratio_{peer}"), "{:.2f}") for peer in peers]
        fraction = row.get("bandwidth_fraction")
        cells.append("-" if fraction is None else f"{100 * fraction:.2g}%")
        if model:
            cells.append(_number(row.get("h100_model_seconds"), "{:.3g}"))
        rows.append(cells)
    return headings, rows


def _number(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def notes(report: BenchReport) -> list[str]:
    """Lines that explain the table's columns and anything not measured.

    Args:
        report: The report.

    Returns:
        The lines.
    """
    bandwidth = report.machine.bandwidth
    lines = [
        f"time: median of {report.config.repeat} run(s) after one warm-up, circuit in, "
        f"counts out ({report.config.shots} shots); each peer's best setting is shown.",
        "time/peer: this time divided by the peer's time (below 1: faster than the peer).",
        f"BW fraction: num_ops x 2 x state bytes / {bandwidth.best / 1e9:.1f} GB/s "
        "(measured here) divided by the time: 100% would be one full-bandwidth pass per op.",
    ]
    if "cupy-gpu" in report.config.simulators:
        lines.append(
            f"H100 model: a MODEL, not a measurement: num_ops x 2 x state bytes / "
            f"{H100_BANDWIDTH / 1e12:.2f} TB/s (H100 SXM HBM3 peak)."
        )
    reasons = {
        (m.simulator, m.note) for m in report.measurements if m.seconds is None and m.note
    }
    lines += [f"{simulator}: not measured ({note})" for simulator, note in sorted(reasons)]
    return lines


def write_csv(report: BenchReport, path: Path) -> None:
    """Write one CSV row per measurement with its derived figures.

    Args:
        report: The report.
        path: The file to write.
    """
    rows = [
        {key: _csv_value(value) for key, value in row.items()} for row in derived_rows(report)
    ]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        writer.writerows(rows)


def _csv_value(value: Any) -> Any:
    """A value for a CSV cell: lists joined by ``;``, mappings as ``key=value; ...``."""
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return "; ".join(f"{key}={item}" for key, item in value.items())
    return value


def write_json(report: BenchReport, path: Path, command: str) -> None:
    """Write everything: command, machine, and each measurement with its samples.

    Args:
        report: The report.
        path: The file to write.
        command: The exact command that produced it.
    """
    document = {
        "command": command,
        "config": asdict(report.config),
        "machine": asdict(report.machine),
        "bandwidth_bytes_per_second": report.machine.bandwidth.best,
        "h100_model_bandwidth_bytes_per_second": H100_BANDWIDTH,
        "seconds": report.seconds,
        "measurements": derived_rows(report),
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def plot_unavailable_reason() -> str | None:
    """Say why no plot can be drawn (matplotlib missing), or return None."""
    if importlib.util.find_spec("matplotlib") is None:
        return "matplotlib is not installed (pip install 'qiskit-cupy[bench]')"
    return None


def write_plot(report: BenchReport, path: Path) -> None:
    """Plot time against width, one panel per circuit, with matplotlib's Agg backend.

    Each measured simulator and precision is a line; the H100 model, where there is
    one, is a dotted line labelled as a model.

    Args:
        report: The report.
        path: The PNG file to write.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = derived_rows(report)
    circuits = report.config.circuits
    columns = min(2, len(circuits))
    figure = Figure(figsize=(6 * columns, 4.2 * math.ceil(len(circuits) / columns)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(math.ceil(len(circuits) / columns), columns, squeeze=False).ravel()
    colors = {name: f"C{index}" for index, name in enumerate(SIMULATORS)}
    for axis, circuit in zip(axes, circuits):
        for simulator in report.config.simulators:
            for precision in report.config.precisions:
                marker = "o" if precision == "double" else "s"
                for key, label, line in (
                    ("seconds", f"{simulator} {precision}", "-" if marker == "o" else "--"),
                    ("h100_model_seconds", f"H100 {precision} (model, not measured)", ":"),
                ):
                    points = [(row["qubits"], row[key]) for row in rows
                              if (row["circuit"], row["simulator"], row["precision"])
                              == (circuit, simulator, precision) and row.get(key) is not None]
                    if points:
                        axis.plot(*zip(*points), line, marker=marker, markersize=3,
                                  color=colors[simulator], label=label)
        axis.set_title(circuit)
        axis.set_xlabel("qubits")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel("seconds (run to counts)")
        axis.set_yscale("log")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    for axis in axes[len(circuits):]:
        axis.set_visible(False)
    machine = report.machine
    figure.suptitle(f"qiskit-cupy bench on {machine.cpu_model} ({machine.cores} cores)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def markdown_table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Lay a table out in Markdown.

    Args:
        headings: The column headings.
        rows: The rows of text.

    Returns:
        The table, without a trailing newline.
    """
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def write_markdown(report: BenchReport, path: Path, command: str, plot: Path | None) -> None:
    """Write the report page: machine, command, method, table, plot.

    Args:
        report: The report.
        path: The Markdown file to write.
        command: The exact command that produced it.
        plot: The PNG to show, or None.
    """
    machine = report.machine
    bandwidth = machine.bandwidth
    bandwidth_text = (
        f"{bandwidth.best / 1e9:.1f} GB/s: best of an in-place update "
        f"({bandwidth.update / 1e9:.1f} GB/s) and a copy ({bandwidth.copy / 1e9:.1f} GB/s) "
        f"of {BANDWIDTH_BYTES >> 20} MiB with numpy on {bandwidth.threads} threads, "
        "bytes read + written, best of before and after the simulators"
    )
    load = f"{machine.load_before:.2f} at the start, {machine.load_after:.2f} at the end"
    versions = ", ".join(f"{name} {version}" for name, version in machine.versions.items())
    if machine.gpu is None:
        gpu = "usable: cupy-gpu times are taken with CUDA events after synchronizing"
        gpu_method = "cupy-gpu is timed with CUDA events around the run, after synchronizing"
    else:
        gpu = f"none usable here: {machine.gpu}"
        gpu_method = (
            "no GPU is usable on this machine, so cupy-gpu is not measured (the rows say "
            "why); no GPU time is ever estimated in its place"
        )
    image = "" if plot is None else (
        f"\n![time against qubits per circuit]({os.path.relpath(plot, path.parent)})\n"
    )
    headings, rows = table(report)
    text = f"""# Benchmarks

<!-- Generated by `qiskit-cupy bench`; do not edit by hand, run the command below again. -->

qiskit-cupy against its peers on the same circuits, in one run of `qiskit-cupy bench`
started {machine.started} ({report.seconds / 60:.1f} minutes).

## Machine

| | |
|---|---|
| CPU | {machine.cpu_model}, {machine.cores} logical cores |
| Memory | {machine.memory_bytes / 2**30:.1f} GiB |
| Memory bandwidth (measured in the run) | {bandwidth_text} |
| GPU | {gpu} |
| 1-minute load average | {load} |
| Software | {versions} |

## Command

```
{command}
```

## Method

- Circuits, all transpiled once to `{", ".join(BASIS_GATES)}` at optimization level 0
  and given unchanged to every simulator: **qft** (Hadamards, then `QFTGate`),
  **random** (qsim-style: depth = width, random sqrt(X)/sqrt(Y)/sqrt(W) layers and CZ
  on alternating neighbour pairs, seed {SEED}), **hea** (hardware-efficient ansatz:
  {HEA_LAYERS} layers of RY+RZ and a CX ladder, random bound parameters), **ghz**; each
  measured on every qubit.
- Simulators: **cupy-gpu** (qiskit-cupy, `device="GPU"`, only where a GPU is usable),
  **cupy-cpu** (qiskit-cupy's CPU fallback, `device="CPU"`, every core), **aer** (Qiskit
  Aer statevector, best of `fusion_enable` on and off), **qsim** (qsimcirq, best of
  `max_fused_gate_size` 4 and 2, `cpu_threads` = every core; single precision only,
  since qsim simulates in float32; the cirq circuit is built before timing).
- Time: run to result, circuit in, counts out ({report.config.shots} shots), median of
  {report.config.repeat} run(s) after one warm-up. A peer setting whose warm-up is over
  {PRUNE_FACTOR:g}x the best median so far (and over {PRUNE_MIN_SECONDS:g} s) is not timed
  further; the JSON output lists every setting's time.
- **time/peer**: the row's time divided by the peer's time (below 1: faster than the peer).
- **BW fraction** (cupy-cpu): the bandwidth limit, `num_ops x 2 x state bytes /
  measured bandwidth` (`num_ops` from the result metadata: one pass reading and writing
  every amplitude per op), divided by the measured time.
- **GPU (the cupy-gpu rows)**: {gpu_method}.
- **H100 model [s]**: a MODEL, not a measurement: `num_ops x 2 x state bytes /
  {H100_BANDWIDTH / 1e12:.2f} TB/s` (H100 SXM, HBM3 peak), with state bytes = 2^n x 16
  (double) or 8 (single) and `num_ops` from the qiskit-cupy run. It leaves out kernel
  launches, sampling and host transfers, and assumes peak bandwidth: a lower bound.
- Noise: the machine may be shared while the benchmark runs (see the load averages);
  times of one run are comparable with each other, less so with another run's.

## Results

{markdown_table(headings, rows)}
{image}"""
    path.write_text(text, encoding="utf-8")

"""The simulators the benchmark compares: their settings, timers and unavailable reasons.

qiskit-cupy runs on the GPU (only where one is usable) and on the CPU fallback; Qiskit Aer
and qsim (through qsimcirq) run where they are installed. Each simulator lists its
settings, the likely fastest first; the benchmark tries each and keeps the best. One that
cannot run here says why instead of running.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qiskit import QuantumCircuit

from qiskit_cupy.backend import CupySimulator
from qiskit_cupy.devices.gpu import gpu_unavailable_reason
from qiskit_cupy.options import PRECISIONS
from qiskit_cupy.tools.bench.circuits import SEED, to_cirq


@dataclass(frozen=True)
class RunOutput:
    """What one run from circuit to counts returns.

    Attributes:
        counts: Counts keyed by Qiskit bit strings (classical bit 0 rightmost).
        num_ops: The ops of qiskit-cupy's program (result metadata ``num_ops``), or
            None for the peers.
        num_states: The most states qiskit-cupy kept alive for a dynamic circuit's
            shots (result metadata ``num_states``), or None.
        passes: qiskit-cupy's passes over the state (result metadata ``passes``: one
            per cache-blocked run of ops, one per other op), or None.
    """

    counts: Mapping[str, int]
    num_ops: int | None = None
    num_states: int | None = None
    passes: int | None = None


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
        circuits: The kinds of circuit it is tried on: ``"static"`` and/or ``"dynamic"``.
    """

    label: str
    prepare: Prepare
    circuits: frozenset[str] = frozenset({"static", "dynamic"})


@dataclass(frozen=True)
class Simulator:
    """A simulator the benchmark can run.

    Attributes:
        name: Its name in tables and on the command line.
        settings: Its settings, the likely fastest first; the best one is kept.
        unavailable_reason: Says why it cannot run here, or returns None.
        timer: Times one run.
        precisions: The precisions it simulates in.
        runs_dynamic: Whether it is given circuits with mid-circuit measurement or reset.
    """

    name: str
    settings: tuple[Setting, ...]
    unavailable_reason: Callable[[], str | None]
    timer: Timer
    precisions: tuple[str, ...] = PRECISIONS
    runs_dynamic: bool = True

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
def _aer_backend(precision: str, fusion: bool, branching: bool) -> Any:
    from qiskit_aer import AerSimulator

    return AerSimulator(
        method="statevector",
        precision=precision,
        fusion_enable=fusion,
        seed_simulator=SEED,
        shot_branching_enable=branching,
    )


def _qiskit_run(backend: Any, circuit: QuantumCircuit, shots: int) -> Run:
    """The run of a circuit on a Qiskit backend: ``run``, ``result``, ``get_counts``."""

    def run() -> RunOutput:
        result = backend.run(circuit, shots=shots).result()
        counts = result.get_counts()
        metadata = result.results[0].metadata
        return RunOutput(counts, metadata.get("num_ops"), metadata.get("num_states"), metadata.get("passes"))

    return run


def _cupy_setting(device: str) -> Setting:
    def prepare(circuit: QuantumCircuit, precision: str, shots: int) -> Run:
        return _qiskit_run(_cupy_backend(device, precision), circuit, shots)

    return Setting("default", prepare)


def _aer_setting(fusion: bool, branching: bool = False) -> Setting:
    def prepare(circuit: QuantumCircuit, precision: str, shots: int) -> Run:
        return _qiskit_run(_aer_backend(precision, fusion, branching), circuit, shots)

    label = ("fusion on" if fusion else "fusion off") + (", shot branching" if branching else "")
    return Setting(label, prepare, frozenset({"dynamic" if branching else "static"}))


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
            return RunOutput({format(value, f"0{width}b")[::-1]: count for value, count in histogram.items()})

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
            "aer",
            (_aer_setting(True, branching=True), _aer_setting(True), _aer_setting(False)),
            _missing("qiskit_aer", "qiskit-aer"),
            wall_time,
        ),
        Simulator(
            "qsim",
            (_qsim_setting(4), _qsim_setting(2)),
            _missing("qsimcirq", "qsimcirq"),
            wall_time,
            precisions=("single",),
            runs_dynamic=False,
        ),
    )
}

"""Nothing leaks: dropped backends end their threads, and memory is flat over many jobs."""

from __future__ import annotations

import gc
import os
import threading
import time

import psutil
from qiskit import QuantumCircuit

from qiskit_cupy import CupySimulator


def _os_threads() -> int:
    """Threads of this process as the OS counts them (OpenMP's included)."""
    return psutil.Process(os.getpid()).num_threads()


def _wide_job_circuits() -> list[QuantumCircuit]:
    """Eight circuits of more than the inline limit in all: they use the host worker and
    four streams."""
    circuits = []
    for index in range(8):
        circuit = QuantumCircuit(4, name=f"c{index}")
        for _ in range(40):
            circuit.h(range(4))
        circuit.measure_all()
        circuits.append(circuit)
    return circuits


def _run_and_drop_backend() -> None:
    backend = CupySimulator(device="CPU", max_parallel_experiments=4)
    job = backend.run(_wide_job_circuits(), shots=10, seed_simulator=1)
    assert len(job.result().results) == 8


def test_dropped_backends_end_their_threads() -> None:
    _run_and_drop_backend()  # starts OpenMP's pool, which lives as long as the process
    gc.collect()
    start_python, start_os = threading.active_count(), _os_threads()
    for _ in range(30):
        _run_and_drop_backend()
    gc.collect()
    deadline = time.monotonic() + 30
    while (threading.active_count(), _os_threads()) > (start_python, start_os):
        assert time.monotonic() < deadline, (
            f"{threading.active_count() - start_python} Python and "
            f"{_os_threads() - start_os} OS threads outlived 30 dropped backends: "
            f"{[thread.name for thread in threading.enumerate()]}"
        )
        time.sleep(0.05)
        gc.collect()


def test_memory_is_flat_over_500_jobs() -> None:
    backend = CupySimulator(device="CPU", precision="single")
    process = psutil.Process(os.getpid())
    samples = []
    for index in range(500):
        width = 16 + index % 7
        circuit = QuantumCircuit(width, 3)
        circuit.h([0, width // 2, width - 1])
        circuit.cx(0, width - 1)
        circuit.measure([0, width // 2, width - 1], [0, 1, 2])
        counts = backend.run(circuit, shots=64, seed_simulator=index).result().get_counts()
        assert sum(counts.values()) == 64
        samples.append(process.memory_info().rss)
    growth = max(samples[250:]) - samples[250]
    assert growth < 32 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB from job 250 to job 500"

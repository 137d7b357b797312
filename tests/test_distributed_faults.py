"""A worker lost mid-job on a Dask LocalCluster: nothing lost, nothing counted twice.

Each test starts its own ``LocalCluster`` of 2 worker processes (their nannies start a
new worker after one is killed), submits a job of many one-circuit sub-jobs, and kills
with SIGKILL the worker process that is running one of them. With Dask's retries the
job's results equal a local run's; with retries exhausted the job is in ERROR and its
``JobError`` names the sub-job and the worker.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobError, JobStatus

from qiskit_cupy import CupySimulator

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

#: Options of the job: one circuit per sub-job, so a worker holds one at a time.
OPTIONS = {"shots": 200, "seed_simulator": 11, "memory": True, "device": "CPU", "max_job_size": 1}


def _layered(num_qubits: int, depth: int, seed: int) -> QuantumCircuit:
    """A circuit that takes a worker a noticeable time (22 qubits: about a second)."""
    circuit = QuantumCircuit(num_qubits)
    for layer in range(depth):
        for qubit in range(num_qubits):
            circuit.rx(0.1 * (qubit + layer + seed), qubit)
        for qubit in range(layer % 2, num_qubits - 1, 2):
            circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


CIRCUITS = [_layered(21, 12, seed) for seed in range(10)]


def _kill_a_busy_worker(client, job) -> str:
    """SIGKILL the process of a worker that is running one of the job's sub-jobs.

    Returns:
        The address of the killed worker.
    """
    pids = client.run(os.getpid)
    keys = {future.key for future in job.futures}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = any(future.done() for future in job.futures)
        for address, processing in client.processing().items():
            if started and keys & set(processing) and address in pids:
                os.kill(pids[address], signal.SIGKILL)
                return address
        time.sleep(0.05)
    raise AssertionError("no worker was running a sub-job of the job")


def _cluster(**kwargs):
    return distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, **kwargs
    )


def test_a_lost_worker_loses_nothing_and_counts_nothing_twice() -> None:
    backend = CupySimulator()
    local = backend.run(CIRCUITS, **OPTIONS).result()
    with _cluster() as cluster, distributed.Client(cluster) as client:
        job = backend.run(CIRCUITS, executor=client, **OPTIONS)
        killed = _kill_a_busy_worker(client, job)
        result = job.result(timeout=600)
        retried = client.run_on_scheduler(
            lambda dask_scheduler, keys: {
                key: dask_scheduler.tasks[key].suspicious for key in keys if key in dask_scheduler.tasks
            },
            keys=[future.key for future in job.futures],
        )
    assert job.status() is JobStatus.DONE
    assert [result.get_counts(i) for i in range(len(CIRCUITS))] == [
        local.get_counts(i) for i in range(len(CIRCUITS))
    ]
    assert [result.get_memory(i) for i in range(len(CIRCUITS))] == [
        local.get_memory(i) for i in range(len(CIRCUITS))
    ]
    assert all(sum(result.get_counts(i).values()) == OPTIONS["shots"] for i in range(len(CIRCUITS)))
    assert [entry["sub_job"] for entry in result.metadata["sub_jobs"]] == list(range(len(CIRCUITS)))
    assert any(retried.values()), f"no sub-job was running on {killed} when it was killed"


def test_exhausted_retries_put_the_job_in_error_naming_sub_job_and_worker() -> None:
    backend = CupySimulator()
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with _cluster() as cluster, distributed.Client(cluster) as client:
            job = backend.run(CIRCUITS, executor=client, **OPTIONS)
            killed = _kill_a_busy_worker(client, job)
            with pytest.raises(JobError) as raised:
                job.result(timeout=600)
            assert job.status() is JobStatus.ERROR
            job.cancel()
    message = str(raised.value)
    assert f"job {job.job_id()}: sub-job " in message
    assert killed in message
    again = backend.run(CIRCUITS[:1], **OPTIONS).result()
    assert sum(again.get_counts(0).values()) == OPTIONS["shots"]

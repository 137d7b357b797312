"""Sub-jobs on an executor and on a Dask LocalCluster give the results of a local run.

Each sub-job is shipped as plain data (QPY circuits, options, seeds) and merged back in
order; with ``seed_simulator``, counts, memory, saved statevectors and the order of
``parameter_binds`` must equal those of the same job run in one process.
"""

from __future__ import annotations

import concurrent.futures
import gc
import multiprocessing
import os
import threading

import numpy as np
import psutil
import pytest
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.providers import JobError, JobStatus

from qiskit_cupy import CupySimulator
from random_circuits import random_circuit


def _job() -> tuple[list[QuantumCircuit], dict]:
    circuits = []
    for seed in range(4):
        circuit = random_circuit(6, 20, seed)
        circuit.measure_all()
        circuits.append(circuit)
    theta = Parameter("theta")
    bound = QuantumCircuit(3)
    bound.h(0)
    bound.ry(theta, 1)
    bound.cx(0, 2)
    bound.measure_all()
    dynamic = QuantumCircuit(2, 2)
    dynamic.h(0)
    dynamic.measure(0, 0)
    with dynamic.if_test((dynamic.clbits[0], 1)):
        dynamic.x(1)
    dynamic.measure(1, 1)
    binds = [{}] * 4 + [{theta: np.linspace(0, 3, 5).tolist()}, {}]
    return circuits + [bound, dynamic], {
        "shots": 300,
        "seed_simulator": 5,
        "memory": True,
        "parameter_binds": binds,
        "device": "CPU",
    }


def _outputs(result) -> list:
    return [
        (
            result.get_counts(index),
            result.get_memory(index),
            result.results[index].metadata.get("parameter_binds"),
        )
        for index in range(len(result.results))
    ]


@pytest.mark.parametrize("sizes", [{}, {"max_job_size": 2}, {"max_job_size": 1, "max_shot_size": 70}])
def test_sub_jobs_on_a_thread_pool_match_a_local_run(sizes: dict) -> None:
    circuits, options = _job()
    backend = CupySimulator()
    local = backend.run(circuits, **options).result()
    with concurrent.futures.ThreadPoolExecutor(3) as executor:
        job = backend.run(circuits, executor=executor, **options, **sizes)
        result = job.result(timeout=120)
    assert _outputs(result) == _outputs(local)
    assert len(job.subjobs) == len(result.metadata["sub_jobs"])


def test_saved_statevectors_survive_the_trip() -> None:
    circuit = random_circuit(5, 20, 3)
    backend = CupySimulator(device="CPU")
    local = backend.run(circuit, save_statevector=True).result()
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        shipped = backend.run(circuit, save_statevector=True, executor=executor).result()
    np.testing.assert_array_equal(
        np.asarray(shipped.data(0)["statevector"]), np.asarray(local.data(0)["statevector"])
    )


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    threads_before = set(threading.enumerate())
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as local_cluster,
        distributed.Client(local_cluster) as client,
    ):
        yield client
    gc.collect()  # the tests' backends end their own threads once they are dropped
    leftover = [t for t in threading.enumerate() if t not in threads_before and not t.daemon]
    for thread in leftover:
        thread.join(timeout=10)
    leftover = [t for t in leftover if t.is_alive()]
    children = [  # multiprocessing's resource tracker lives for the whole session
        child
        for child in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(child.cmdline())
    ]
    assert not children, f"worker processes left behind: {children}"
    assert not leftover, f"threads left behind: {leftover}"


def test_a_local_cluster_gives_a_local_runs_results(cluster) -> None:
    circuits, options = _job()
    backend = CupySimulator()
    local = backend.run(circuits, **options).result()
    job = backend.run(circuits, executor=cluster, max_job_size=2, max_shot_size=100, **options)
    result = job.result(timeout=300)
    assert _outputs(result) == _outputs(local)
    workers = {entry["pid"] for entry in result.metadata["sub_jobs"]}
    assert os.getpid() not in workers
    assert workers <= set(cluster.run(os.getpid).values())


@pytest.mark.parametrize("primitive", ["EstimatorV2", "SamplerV2"])
def test_primitives_refuse_an_executor_instead_of_ignoring_it(primitive: str) -> None:
    from qiskit_cupy import primitives
    from qiskit_cupy.errors import InvalidOptionError

    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        for options in (
            {"backend_options": {"device": "CPU", "executor": executor}},
            {"backend_options": {"device": "CPU"}, "run_options": {"executor": executor}},
        ):
            with pytest.raises(InvalidOptionError, match="executor= is for backend.run"):
                getattr(primitives, primitive)(options=options)
        backend = CupySimulator(device="CPU", executor=executor)
        with pytest.raises(InvalidOptionError, match="executor= is for backend.run"):
            getattr(primitives, primitive)(backend=backend)


def test_sub_jobs_on_other_processes_match_a_local_run() -> None:
    circuits, options = _job()
    local = CupySimulator().run(circuits, **options).result()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        result = (
            CupySimulator().run(circuits, executor=executor, max_job_size=3, **options).result(timeout=300)
        )
    assert _outputs(result) == _outputs(local)
    assert os.getpid() not in {entry["pid"] for entry in result.metadata["sub_jobs"]}


def test_status_and_cancel_act_on_queued_sub_jobs() -> None:
    circuits, options = _job()
    release = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        blocker = executor.submit(release.wait, 60)
        job = CupySimulator().run(circuits, executor=executor, max_job_size=2, **options)
        assert job.status() is JobStatus.QUEUED
        assert job.cancel()
        assert job.status() is JobStatus.CANCELLED
        job.wait_for_final_state(timeout=5)
        release.set()
        blocker.result()
    with pytest.raises(
        JobError, match=rf"job {job.job_id()}: sub-job 0 \(experiments 0 to 1\) was cancelled"
    ):
        job.result()


def test_a_cluster_job_can_be_waited_on_and_cancelled(cluster) -> None:
    circuits, options = _job()
    backend = CupySimulator()
    job = backend.run(circuits, executor=cluster, max_job_size=1, **options)
    seen = []
    job.wait_for_final_state(timeout=300, wait=0.01, callback=lambda *args: seen.append(args[1]))
    assert job.status() is JobStatus.DONE
    assert set(seen) <= {JobStatus.QUEUED, JobStatus.RUNNING}
    cancelled = backend.run(
        circuits * 4,
        executor=cluster,
        max_job_size=1,
        **{**options, "parameter_binds": options["parameter_binds"] * 4},
    )
    assert cancelled.cancel()
    assert cancelled.status() is JobStatus.CANCELLED
    with pytest.raises(JobError, match="was cancelled"):
        cancelled.result(timeout=60)
    assert _outputs(job.result()) == _outputs(backend.run(circuits, **options).result())


def test_cluster_jobs_from_several_threads_match_each_job_run_alone(cluster) -> None:
    circuits, options = _job()
    backend = CupySimulator()
    seeds = range(6)
    alone = {
        seed: _outputs(backend.run(circuits, **{**options, "seed_simulator": seed}).result())
        for seed in seeds
    }

    def run(seed: int) -> list:
        job = backend.run(circuits, executor=cluster, max_job_size=2, **{**options, "seed_simulator": seed})
        return _outputs(job.result(timeout=300))

    with concurrent.futures.ThreadPoolExecutor(3) as threads:
        together = dict(zip(seeds, threads.map(run, seeds)))
    assert together == alone


def test_every_sub_job_fuses_with_its_clients_pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers on other machines measure other op costs; a sub-job ships its client's
    roofline and fuses with it, so its results are the client's. Here the worker is a
    process whose own measurement would fuse nothing, and the client's fuses."""
    from qiskit_cupy.compiler.fusion import Roofline
    from qiskit_cupy.devices import cpu as cpu_device

    fusing = Roofline(bandwidth=1e9, flop_rate=1e15, launch_seconds=1e-3)  # passes dear, flops free
    monkeypatch.setattr(cpu_device, "cpu_roofline", lambda precision: fusing)
    circuit = random_circuit(15, 12, 3)
    circuit.measure_all()
    options = {"shots": 200, "seed_simulator": 9, "device": "CPU", "memory": True}
    local = CupySimulator().run(circuit, **options).result()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context, initializer=_never_fuse) as pool:
        shipped = CupySimulator().run(circuit, executor=pool, **options).result()
        alone = pool.submit(_own_fusion_ops, circuit, options).result()
    assert shipped.results[0].metadata["num_ops"] == local.results[0].metadata["num_ops"]
    assert alone > local.results[0].metadata["num_ops"]  # the worker's own costs fuse less
    assert shipped.get_memory(0) == local.get_memory(0)


def _never_fuse_roofline(precision: str) -> object:
    from qiskit_cupy.compiler.fusion import Roofline

    return Roofline(bandwidth=1e15, flop_rate=1e6, launch_seconds=0.0)  # flops dear: never fuse


def _never_fuse() -> None:
    """A worker process whose own CPU costs would fuse nothing."""
    from qiskit_cupy.devices import cpu

    cpu.cpu_roofline = _never_fuse_roofline


def _own_fusion_ops(circuit: QuantumCircuit, options: dict) -> int:
    """A worker's op count for a job it runs as its own client."""
    return int(CupySimulator().run(circuit, **options).result().results[0].metadata["num_ops"])

"""pytest-benchmark suite of a 1,000-circuit job, locally and as sub-jobs on a cluster.

The same job (1,000 random 10-qubit circuits of depth 6, 100 shots each, ``seed_simulator`` set)
runs in one process, then on a ``LocalCluster`` of 2 worker processes cut into 2, 20 and
1,000 sub-jobs (``max_job_size`` 500, 50, 1). The group's table shows the throughput
ratio; the per-sub-job overhead is the time added per extra sub-job between the
2-sub-job and the 1,000-sub-job runs. On a 2-core machine the cluster cannot win: the
figures show what a user pays for shipping work. Off by default; run with::

    python -m pytest tests/benchmarks/test_bench_distributed.py -o addopts=-ra \
        --benchmark-only --benchmark-group-by=group

Before timing, each cluster run's counts are checked against the local run's.
"""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit

from qiskit_cupy import CupySimulator

distributed = pytest.importorskip("distributed")

#: Options of every run of the job.
OPTIONS = {"shots": 100, "seed_simulator": 3, "device": "CPU"}


def _circuits() -> list[QuantumCircuit]:
    return [random_circuit(10, 6, max_operands=2, measure=True, seed=seed) for seed in range(1000)]


CIRCUITS = _circuits()


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as cluster_client,
    ):
        yield cluster_client


@pytest.fixture(scope="module")
def local_counts() -> list[dict[str, int]]:
    result = CupySimulator().run(CIRCUITS, **OPTIONS).result()
    return [result.get_counts(index) for index in range(len(CIRCUITS))]


def test_local(benchmark, local_counts) -> None:
    backend = CupySimulator()
    benchmark.group = "1000-circuit job: local vs 2-worker LocalCluster"
    result = benchmark.pedantic(
        lambda: backend.run(CIRCUITS, **OPTIONS).result(), warmup_rounds=1, rounds=3, iterations=1
    )
    assert [result.get_counts(index) for index in range(len(CIRCUITS))] == local_counts


@pytest.mark.parametrize("max_job_size", [500, 50, 1])
def test_local_cluster(benchmark, client, local_counts, max_job_size: int) -> None:
    backend = CupySimulator()
    benchmark.group = "1000-circuit job: local vs 2-worker LocalCluster"
    benchmark.extra_info["sub_jobs"] = -(-len(CIRCUITS) // max_job_size)

    def run():
        return backend.run(CIRCUITS, executor=client, max_job_size=max_job_size, **OPTIONS).result()

    result = benchmark.pedantic(run, warmup_rounds=1, rounds=3, iterations=1)
    assert [result.get_counts(index) for index in range(len(CIRCUITS))] == local_counts

"""A job over a pool of devices (stand-in GPUs, and the CPU) gives one device's results.

The pool cuts experiments, parameter sets and trajectory shots into parts and places
them by cost (``runtime/pool.py``); with the same seed, counts, memory and saved
states must equal those of the same job on one device.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import Parameter, QuantumCircuit

from conftest import use_standin
from gpu_host.cupy_standin.machine import DeviceSpec
from qiskit_cupy import CupySimulator
from random_circuits import random_circuit


def _job() -> tuple[list[QuantumCircuit], dict]:
    """Static, bound and dynamic circuits, with options that exercise every part kind."""
    circuits = []
    for seed in range(5):
        circuit = random_circuit(7, 30, seed)
        circuit.measure_all()
        circuits.append(circuit)
    theta = Parameter("theta")
    bound = QuantumCircuit(5)
    bound.h(range(5))
    bound.rz(theta, 2)
    bound.cx(2, 3)
    bound.ry(theta, 4)
    bound.measure_all()
    dynamic = QuantumCircuit(3, 3)
    dynamic.h(0)
    dynamic.measure(0, 0)
    with dynamic.if_test((dynamic.clbits[0], 1)):
        dynamic.x(1)
    dynamic.h(2)
    dynamic.measure([1, 2], [1, 2])
    binds = [{}] * 5 + [{theta: np.linspace(0, 3, 16).tolist()}, {}]
    return circuits + [bound, dynamic], {
        "shots": 400,
        "seed_simulator": 17,
        "memory": True,
        "parameter_binds": binds,
    }


def _outputs(result) -> list:
    return [(result.get_counts(index), result.get_memory(index)) for index in range(len(result.results))]


@pytest.mark.parametrize("num_gpus", [1, 2, 4])
def test_a_pool_of_stand_in_gpus_gives_one_devices_results(
    monkeypatch: pytest.MonkeyPatch, num_gpus: int
) -> None:
    circuits, options = _job()
    use_standin(monkeypatch, [DeviceSpec()])
    alone = CupySimulator(device="GPU").run(circuits, **options).result()
    machine = use_standin(monkeypatch, [DeviceSpec(name=f"stand-in {i}") for i in range(num_gpus)])
    pooled = CupySimulator(device="GPU").run(circuits, **options).result()
    assert _outputs(pooled) == _outputs(alone)
    assert {launch.device_id for launch in machine.launches} == set(range(num_gpus))
    assert pooled.metadata["num_devices"] == num_gpus


def test_the_cpu_joins_a_pool_of_stand_in_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    circuits, options = _job()
    alone = CupySimulator(device="CPU").run(circuits, **options).result()
    use_standin(monkeypatch, [DeviceSpec(), DeviceSpec()])
    pooled = CupySimulator(device="GPU+CPU").run(circuits, **options).result()
    assert _outputs(pooled) == _outputs(alone)
    devices = {result.metadata["device"] for result in pooled.results}
    assert "CPU" in "+".join(devices) and "GPU" in "+".join(devices)
    assert pooled.metadata["num_devices"] == 3


def test_saved_statevectors_of_a_pooled_batch_match_statevector(monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit.quantum_info import Statevector

    theta = Parameter("theta")
    circuit = QuantumCircuit(4)
    circuit.h(0)
    circuit.ry(theta, 1)
    circuit.cx(0, 3)
    values = np.linspace(-2, 2, 9)
    use_standin(monkeypatch, [DeviceSpec(), DeviceSpec(), DeviceSpec()])
    result = (
        CupySimulator(device="GPU+CPU")
        .run(circuit, parameter_binds=[{theta: values.tolist()}], save_statevector=True)
        .result()
    )
    for index, value in enumerate(values):
        expected = Statevector(circuit.assign_parameters({theta: value}))
        np.testing.assert_allclose(np.asarray(result.data(index)["statevector"]), expected.data, atol=1e-12)


def test_concurrent_pooled_jobs_match_each_job_run_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    circuits, options = _job()
    use_standin(monkeypatch, [DeviceSpec(), DeviceSpec()])
    backend = CupySimulator(device="GPU+CPU")
    seeds = range(16)
    alone = {
        seed: _outputs(backend.run(circuits, **{**options, "seed_simulator": seed}).result())
        for seed in seeds
    }
    with concurrent.futures.ThreadPoolExecutor(8) as threads:
        jobs = list(
            threads.map(
                lambda seed: (seed, backend.run(circuits, **{**options, "seed_simulator": seed})), seeds
            )
        )
    for seed, job in jobs:
        assert _outputs(job.result(timeout=300)) == alone[seed]

"""Dynamic circuits: mid-circuit measurement, reset, control flow and Store, on every device.

References: exact distributions computed by hand or by ``dynamic_reference.py`` (every
branch with its exact probability, through ``qiskit.quantum_info.Statevector``), and
Qiskit Aer's counts for the same circuits.

Statistical bound: counts are compared with an exact distribution by Pearson's
chi-square goodness-of-fit test, and with Aer's counts by the chi-square test of
homogeneity; each test fails below a p-value of 1e-6. Seeds are fixed, so a run is
deterministic; a correct simulator fails one such test with probability 1e-6 per
comparison (about 1e-4 over the whole file), a wrong distribution of the sizes tested
here fails with near certainty.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ClassicalRegister, QuantumRegister
from qiskit.circuit.classical import expr, types

from count_statistics import P_VALUE, SHOTS, chi_square_fit, chi_square_same
from dynamic_reference import exact_distribution
from qiskit_cupy import CupySimulator
from qiskit_cupy.errors import UnsupportedInstructionError
from qiskit_cupy.runtime import trajectories
from random_circuits import random_dynamic_circuit


def counts_of(backend: CupySimulator, circuit: QuantumCircuit, **options) -> dict[str, int]:
    options.setdefault("shots", SHOTS)
    options.setdefault("seed_simulator", 11)
    return backend.run(circuit, **options).result().get_counts()


# -- hand-computed circuits ------------------------------------------------------------


def teleportation(theta: float, phi: float) -> QuantumCircuit:
    """Teleport ry(theta) rz(phi)|0> from qubit 0 to qubit 2; measure it into c2."""
    circuit = QuantumCircuit(3, 3)
    circuit.ry(theta, 0)
    circuit.rz(phi, 0)
    circuit.h(1)
    circuit.cx(1, 2)
    circuit.cx(0, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.measure(1, 1)
    with circuit.if_test((circuit.clbits[1], 1)):
        circuit.x(2)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.z(2)
    circuit.measure(2, 2)
    return circuit


def test_teleportation_moves_the_state(backend: CupySimulator) -> None:
    theta = 1.1
    counts = counts_of(backend, teleportation(theta, 0.4))
    ones = sum(count for key, count in counts.items() if key[0] == "1")
    expected = {"1": np.sin(theta / 2) ** 2, "0": np.cos(theta / 2) ** 2}
    assert chi_square_fit({"1": ones, "0": SHOTS - ones}, expected) > P_VALUE
    # c0 and c1 are uniform and independent of the teleported qubit.
    low = {}
    for key, count in counts.items():
        low[key[1:]] = low.get(key[1:], 0) + count
    assert chi_square_fit(low, {"00": 0.25, "01": 0.25, "10": 0.25, "11": 0.25}) > P_VALUE


def test_reset_returns_a_used_qubit_to_zero(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.reset(0)
    circuit.measure([0, 1], [0, 1])
    counts = counts_of(backend, circuit)
    assert chi_square_fit(counts, {"00": 0.5, "10": 0.5}) > P_VALUE


def test_measure_then_conditional_flip_always_ends_in_zero(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(0)
    circuit.measure(0, 1)
    counts = counts_of(backend, circuit)
    assert chi_square_fit(counts, {"00": 0.5, "01": 0.5}) > P_VALUE


def test_else_branch_and_register_condition(backend: CupySimulator) -> None:
    qreg, creg, out = QuantumRegister(3), ClassicalRegister(2, "c"), ClassicalRegister(1, "o")
    circuit = QuantumCircuit(qreg, creg, out)
    circuit.h([0, 1])
    circuit.measure([0, 1], creg)
    with circuit.if_test((creg, 2)) as otherwise:
        circuit.x(2)
    with otherwise:
        circuit.h(2)
    circuit.measure(2, out)
    counts = counts_of(backend, circuit)
    # creg = 2 (prob 1/4): o = 1; otherwise o is uniform.
    expected = {"1 10": 0.25}
    for value in ("00", "01", "11"):
        expected[f"0 {value}"] = 0.125
        expected[f"1 {value}"] = 0.125
    assert chi_square_fit(counts, expected) > P_VALUE


def test_repeat_until_success_while_loop(backend: CupySimulator) -> None:
    """Flip a coin until it shows 1, counting the tries in a real-time variable."""
    circuit = QuantumCircuit(1, 1)
    flip = circuit.clbits[0]
    tries = circuit.add_var("tries", expr.lift(0, types.Uint(8)))
    report = ClassicalRegister(8, "tries")
    circuit.add_register(report)
    with circuit.while_loop(expr.logic_not(flip)):
        circuit.reset(0)
        circuit.h(0)
        circuit.measure(0, flip)
        circuit.store(tries, expr.add(tries, 1))
    circuit.store(report, tries)
    counts = counts_of(backend, circuit)
    # k tries with probability 2^-k (k past 255, which would wrap, has mass 2^-255).
    expected = {f"{k:08b} 1": 0.5**k for k in range(1, 256)}
    assert chi_square_fit(counts, expected) > P_VALUE


def test_for_loop_binds_its_parameter(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    with circuit.for_loop(range(3)) as step:
        circuit.rx(0.3 * step, 0)
    circuit.measure(0, 0)
    total = 0.3 * (0 + 1 + 2)
    counts = counts_of(backend, circuit)
    assert chi_square_fit(counts, {"1": np.sin(total / 2) ** 2, "0": np.cos(total / 2) ** 2}) > P_VALUE


def test_break_ends_the_loop_for_the_shots_that_take_it(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    count = circuit.add_var("count", expr.lift(0, types.Uint(3)))
    report = ClassicalRegister(3, "n")
    circuit.add_register(report)
    with circuit.for_loop(range(5)):
        circuit.reset(0)
        circuit.h(0)
        circuit.measure(0, 0)
        circuit.store(count, expr.add(count, 1))
        with circuit.if_test((circuit.clbits[0], 1)):
            circuit.break_loop()
    circuit.store(report, count)
    counts = counts_of(backend, circuit)
    expected = {f"{k:03b} 1": 0.5**k for k in range(1, 6)}
    expected["101 0"] = 0.5**5
    assert chi_square_fit(counts, expected) > P_VALUE


def test_continue_skips_the_rest_of_the_iteration(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    zeros = circuit.add_var("zeros", expr.lift(0, types.Uint(3)))
    report = ClassicalRegister(3, "z")
    circuit.add_register(report)
    with circuit.for_loop(range(4)):
        circuit.reset(0)
        circuit.h(0)
        circuit.measure(0, 0)
        with circuit.if_test((circuit.clbits[0], 1)):
            circuit.continue_loop()
        circuit.store(zeros, expr.add(zeros, 1))
    circuit.store(report, zeros)
    counts = counts_of(backend, circuit)
    merged: dict[str, int] = {}
    for key, value in counts.items():
        merged[key.split()[0]] = merged.get(key.split()[0], 0) + value
    from math import comb

    expected = {f"{k:03b}": comb(4, k) / 16 for k in range(5)}
    assert chi_square_fit(merged, expected) > P_VALUE
    # The last flip decides c0: a shot whose last flip was 1 continued past the store.
    for key in counts:
        zeros_seen, last = int(key.split()[0], 2), key.split()[1]
        assert zeros_seen <= 4 and (last == "0" or zeros_seen <= 3)


def test_switch_on_a_register(backend: CupySimulator) -> None:
    creg, out = ClassicalRegister(2, "c"), ClassicalRegister(2, "o")
    circuit = QuantumCircuit(QuantumRegister(4), creg, out)
    circuit.h([0, 1])
    circuit.measure([0, 1], creg)
    with circuit.switch(creg) as case:
        with case(0):
            circuit.x(2)
        with case(1, 2):
            circuit.x(3)
        with case(case.DEFAULT):
            circuit.x([2, 3])
    circuit.measure([2, 3], out)
    counts = counts_of(backend, circuit)
    expected = {"01 00": 0.25, "10 01": 0.25, "10 10": 0.25, "11 11": 0.25}
    assert chi_square_fit(counts, expected) > P_VALUE


def test_box_runs_its_body(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(2, 2)
    with circuit.box():
        circuit.h(0)
        circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    counts = counts_of(backend, circuit)
    assert chi_square_fit(counts, {"00": 0.5, "11": 0.5}) > P_VALUE


def test_expression_conditions(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.h([0, 1])
    circuit.measure([0, 1], [0, 1])
    a, b = circuit.clbits[0], circuit.clbits[1]
    with circuit.if_test(expr.logic_and(a, expr.logic_not(b))):
        circuit.x(2)
    circuit.measure(2, 2)
    counts = counts_of(backend, circuit)
    expected = {"000": 0.25, "101": 0.25, "010": 0.25, "011": 0.25}
    assert chi_square_fit(counts, expected) > P_VALUE


# -- random circuits against the exact reference and Aer -------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_random_dynamic_circuits_match_the_exact_distribution(backend: CupySimulator, seed: int) -> None:
    circuit = random_dynamic_circuit(seed)
    counts = counts_of(backend, circuit, seed_simulator=seed)
    assert chi_square_fit(counts, exact_distribution(circuit)) > P_VALUE


@pytest.mark.parametrize("seed", range(4))
def test_random_dynamic_circuits_agree_with_aer(cpu_backend: CupySimulator, seed: int) -> None:
    aer = pytest.importorskip("qiskit_aer").AerSimulator(method="statevector")
    circuit = random_dynamic_circuit(100 + seed, num_qubits=4, depth=12)
    ours = counts_of(cpu_backend, circuit, seed_simulator=seed)
    theirs = aer.run(transpile(circuit, aer), shots=SHOTS, seed_simulator=seed).result().get_counts()
    assert chi_square_same(ours, theirs) > P_VALUE


@pytest.mark.parametrize("precision", ["double", "single"])
def test_both_precisions_run_dynamic_circuits(backend: CupySimulator, precision: str) -> None:
    circuit = random_dynamic_circuit(3)
    counts = counts_of(backend, circuit, precision=precision)
    assert chi_square_fit(counts, exact_distribution(circuit)) > P_VALUE


# -- determinism and shot branching ----------------------------------------------------


def test_same_seed_same_memory_whatever_the_branching_chunking_and_streams(
    backend: CupySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    circuits = [random_dynamic_circuit(seed) for seed in range(3)]
    reference = backend.run(circuits, shots=500, seed_simulator=3, memory=True).result()
    runs = [
        backend.run(circuits, shots=500, seed_simulator=3, memory=True, shot_branching_enable=False),
        backend.run(circuits, shots=500, seed_simulator=3, memory=True, max_parallel_experiments=3),
    ]
    results = [job.result() for job in runs]
    monkeypatch.setattr(trajectories, "MAX_CHUNK_BYTES", 7 * (16 << 3))  # 7 states of 3 qubits
    results.append(backend.run(circuits, shots=500, seed_simulator=3, memory=True).result())
    assert results[-1].results[0].metadata["num_chunks"] == -(-500 // 7)
    for result in results:
        for index in range(len(circuits)):
            assert result.get_memory(index) == reference.get_memory(index)


def test_devices_give_the_same_memory(cpu_backend: CupySimulator, backend: CupySimulator) -> None:
    circuit = random_dynamic_circuit(5)
    first = cpu_backend.run(circuit, shots=300, seed_simulator=9, memory=True).result()
    second = backend.run(circuit, shots=300, seed_simulator=9, memory=True).result()
    assert first.get_memory() == second.get_memory()


def test_branching_keeps_at_most_min_shots_two_to_the_m_states(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(2, 3)
    for clbit in range(3):
        circuit.h(0)
        circuit.measure(0, clbit)
    circuit.cx(0, 1)
    circuit.measure(1, 0)  # keeps the circuit's last measurement a terminal one
    for shots, bound in ((1000, 2**3), (5, 5)):
        metadata = backend.run(circuit, shots=shots, seed_simulator=1).result().results[0].metadata
        assert metadata["num_states"] <= bound
    metadata = backend.run(circuit, shots=1000, shot_branching_enable=False).result().results[0].metadata
    assert metadata["num_states"] == 1000


def test_branching_and_trajectories_agree_statistically(backend: CupySimulator) -> None:
    circuit = random_dynamic_circuit(6)
    branched = counts_of(backend, circuit, seed_simulator=1)
    alone = counts_of(backend, circuit, seed_simulator=2, shot_branching_enable=False)
    assert chi_square_same(branched, alone) > P_VALUE


def test_parameter_binds_of_a_dynamic_circuit(backend: CupySimulator) -> None:
    from qiskit.circuit import Parameter

    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 2)
    circuit.ry(theta, 0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(0)
    circuit.measure(0, 1)
    values = [0.0, np.pi]
    result = backend.run(circuit, shots=200, parameter_binds=[{theta: values}]).result()
    assert result.get_counts(0) == {"00": 200}
    assert result.get_counts(1) == {"01": 200}


# -- what is refused, at run() -----------------------------------------------------------


def test_float_conditions_are_refused_naming_the_type(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(1, 1)
    angle = circuit.add_var("angle", expr.lift(0.5))
    with circuit.if_test(expr.less(angle, 1.0)):
        circuit.x(0)
    circuit.measure(0, 0)
    with pytest.raises(UnsupportedInstructionError, match="Float"):
        cpu_backend.run(circuit)
    assert cpu_backend.run(teleportation(0.3, 0.1), shots=10).result().success


def test_the_target_lists_the_dynamic_instructions(cpu_backend: CupySimulator) -> None:
    names = set(cpu_backend.target.operation_names)
    assert {
        "if_else",
        "while_loop",
        "for_loop",
        "switch_case",
        "break_loop",
        "continue_loop",
        "box",
        "store",
        "reset",
        "measure",
    } <= names
    transpiled = transpile(teleportation(0.3, 0.1), cpu_backend)
    assert cpu_backend.run(transpiled, shots=10).result().success

"""Aer's save instructions, matched by name: values, labels, subtypes and result shapes.

References: ``qiskit.quantum_info`` on the exact state for circuits without
measurement; for circuits with mid-circuit measurements, exact per-branch values
weighted by the shots' own outcomes (memory), and Qiskit Aer's results for the same
circuits (shapes and deterministic values).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction
from qiskit.quantum_info import DensityMatrix, SparsePauliOp, Statevector, partial_trace, random_unitary

from qiskit_cupy import CupySimulator
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError

library = pytest.importorskip("qiskit_aer.library")

TOLERANCE = {"double": 1e-10, "single": 1e-5}


def prepared(num_qubits: int = 3, seed: int = 4) -> QuantumCircuit:
    circuit = QuantumCircuit(num_qubits, num_qubits)
    circuit.append(random_unitary(2**num_qubits, seed=seed), range(num_qubits))
    return circuit


def every_save(circuit: QuantumCircuit, **flags) -> QuantumCircuit:
    """Append each kind of save, on permuted qubit orders where the kind allows it."""
    n = circuit.num_qubits
    everything = list(range(n))
    operator = SparsePauliOp(["XZ", "YY", "IZ"], [0.5, -1.25, 2.0])
    circuit.append(library.SaveStatevector(n, label="sv", **flags), everything)
    circuit.append(library.SaveStatevectorDict(n, label="svd", **flags), everything)
    circuit.append(library.SaveProbabilities(2, label="p", **flags), [2, 0])
    circuit.append(library.SaveProbabilitiesDict(2, label="pd", **flags), [1, 2])
    circuit.append(library.SaveAmplitudes(n, [0, 5, 7], label="a", **flags), everything)
    circuit.append(library.SaveAmplitudesSquared(n, [1, 6], label="a2", **flags), everything)
    circuit.append(library.SaveExpectationValue(operator, label="e", **flags), [2, 1])
    circuit.append(library.SaveExpectationValueVariance(operator, label="ev", **flags), [0, 2])
    circuit.append(library.SaveDensityMatrix(2, label="dm", **flags), [2, 0])
    return circuit


def expected_values(state: Statevector) -> dict:
    """Each save's exact value for a pure state (Aer's shapes)."""
    operator = SparsePauliOp(["XZ", "YY", "IZ"], [0.5, -1.25, 2.0])
    mean = state.expectation_value(operator, [0, 2]).real
    square = state.expectation_value(operator @ operator, [0, 2]).real
    return {
        "sv": state.data,
        "svd": {hex(i): a for i, a in enumerate(state.data) if abs(a) > 1e-10},
        "p": state.probabilities([2, 0]),
        "pd": {i: p for i, p in enumerate(state.probabilities([1, 2])) if p > 1e-10},
        "a": state.data[[0, 5, 7]],
        "a2": np.abs(state.data[[1, 6]]) ** 2,
        "e": state.expectation_value(operator, [2, 1]).real,
        "ev": np.array([mean, square - mean**2]),
        "dm": _reduced(state, [2, 0]),
    }


def _reduced(state: Statevector, qubits: list[int]) -> np.ndarray:
    """Density matrix of ``qubits`` (qubit t of the result = qubits[t])."""
    others = [q for q in range(state.num_qubits) if q not in qubits]
    rho = partial_trace(state, others)  # remaining qubits in ascending order
    order = sorted(qubits)
    # Permute so that subsystem t is qubits[t].
    return rho.data if order == qubits else _permute(rho, [order.index(q) for q in qubits])


def _permute(rho: DensityMatrix, axes: list[int]) -> np.ndarray:
    k = len(axes)
    tensor = rho.data.reshape([2] * (2 * k))
    # Axis j (of the first k) is qubit k-1-j of the row index.
    rows = [k - 1 - axes[k - 1 - j] for j in range(k)]
    return np.transpose(tensor, rows + [k + r for r in rows]).reshape(2**k, 2**k)


def assert_close(value, expected, tolerance: float) -> None:
    if isinstance(expected, dict):
        got = dict(value)
        assert set(got) == set(expected)
        for key in expected:
            assert abs(got[key] - expected[key]) < tolerance
        return
    data = getattr(value, "data", value)
    np.testing.assert_allclose(np.asarray(data), np.asarray(expected), atol=tolerance, rtol=0)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_every_save_of_a_pure_state_is_exact(backend: CupySimulator, precision: str) -> None:
    circuit = every_save(prepared())
    result = backend.run(circuit, shots=10, precision=precision).result()
    state = Statevector(prepared())
    data = result.data()
    for label, expected in expected_values(state).items():
        assert_close(data[label], expected, TOLERANCE[precision])


def test_shapes_match_aer(cpu_backend: CupySimulator) -> None:
    aer = pytest.importorskip("qiskit_aer").AerSimulator(method="statevector")
    circuit = every_save(prepared())
    ours = cpu_backend.run(circuit, shots=10).result().data()
    theirs = aer.run(circuit, shots=10).result().data()
    assert set(ours) - {"counts"} == set(theirs) - {"counts"}
    for label, value in theirs.items():
        # Aer returns subclasses of the quantum_info types (its compatibility module).
        assert isinstance(value, type(ours[label])), label
        assert_close(
            ours[label], value if not hasattr(value, "data") or isinstance(value, dict) else value.data, 1e-10
        )


def measured_bell() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.ry(0.7, 2)
    circuit.measure(0, 0)
    return circuit


def test_averages_weigh_each_branch_by_its_shots(backend: CupySimulator) -> None:
    circuit = every_save(measured_bell())
    shots = 300
    result = backend.run(circuit, shots=shots, seed_simulator=3, memory=True).result()
    ones = sum(1 for word in result.get_memory() if int(word, 2) & 1) / shots
    branches = []
    for outcome in (0, 1):
        branch = QuantumCircuit(3)
        if outcome:
            branch.x([0, 1])
        branch.ry(0.7, 2)
        branches.append(expected_values(Statevector(branch)))
    data = result.data()
    for label in ("p", "a2", "e", "ev", "dm"):
        expected = (1 - ones) * np.asarray(branches[0][label]) + ones * np.asarray(branches[1][label])
        assert_close(data[label], expected, 1e-10)
    pd = {
        key: (1 - ones) * branches[0]["pd"].get(key, 0) + ones * branches[1]["pd"].get(key, 0)
        for key in set(branches[0]["pd"]) | set(branches[1]["pd"])
    }
    assert_close(data["pd"], {k: v for k, v in pd.items() if v > 1e-10}, 1e-10)


def test_per_shot_and_conditional_saves_follow_each_shot(backend: CupySimulator) -> None:
    circuit = measured_bell()
    circuit.append(library.SaveStatevector(3, label="each", pershot=True), range(3))
    circuit.append(library.SaveProbabilities(1, label="q1", conditional=True), [1])
    circuit.append(
        library.SaveExpectationValue(SparsePauliOp("Z"), label="z", pershot=True, conditional=True), [1]
    )
    result = backend.run(circuit, shots=64, seed_simulator=8, memory=True).result()
    memory = result.get_memory()
    each = result.data()["each"]
    assert len(each) == 64
    for word, state in zip(memory, each):
        bit = int(word, 2) & 1
        assert abs(Statevector(state).probabilities([1])[bit] - 1) < 1e-10
    conditional = result.data()["q1"]
    for key, probabilities in conditional.items():
        bit = int(key, 16) & 1
        assert_close(probabilities, np.eye(2)[bit], 1e-10)
    z = result.data()["z"]
    for key, values in z.items():
        expected = 1.0 if int(key, 16) & 1 == 0 else -1.0
        assert values == pytest.approx([expected] * sum(1 for w in memory if hex(int(w, 2)) == key))


def test_branching_and_trajectories_save_the_same(backend: CupySimulator) -> None:
    circuit = every_save(measured_bell(), pershot=True)
    first = backend.run(circuit, shots=50, seed_simulator=2).result().data()
    second = backend.run(circuit, shots=50, seed_simulator=2, shot_branching_enable=False).result().data()
    for label, values in first.items():
        if label == "counts":
            assert values == second[label]
            continue
        for mine, theirs in zip(values, second[label]):
            assert_close(mine, theirs if isinstance(theirs, dict) else getattr(theirs, "data", theirs), 1e-12)


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        # Aer's own constructor refuses 9 too; an instruction matched by name is checked here.
        (lambda c: c.append(Instruction("save_amplitudes", 3, 0, [9]), range(3)), InvalidCircuitError, "9"),
        (
            lambda c: [
                c.append(library.SaveProbabilities(1, label="x"), [0]),
                c.append(library.SaveDensityMatrix(1, label="x"), [1]),
            ],
            InvalidCircuitError,
            "'x'",
        ),
        (lambda c: c.append(library.SaveStatevector(2), [0, 1]), InvalidCircuitError, "every qubit"),
    ],
)
def test_bad_saves_are_refused_at_run(cpu_backend: CupySimulator, build, error, match: str) -> None:
    circuit = QuantumCircuit(3)
    circuit.h(0)
    build(circuit)
    with pytest.raises(error, match=match):
        cpu_backend.run(circuit)
    assert cpu_backend.run(prepared(), shots=5).result().success


def test_a_circuit_with_saves_transpiles_to_the_target_and_runs(cpu_backend: CupySimulator) -> None:
    from qiskit import transpile

    circuit = every_save(prepared())
    transpiled = transpile(circuit, cpu_backend, optimization_level=1, seed_transpiler=3)
    data = cpu_backend.run(transpiled, shots=10).result().data()
    for label, expected in expected_values(Statevector(prepared())).items():
        assert_close(data[label], expected, 1e-10)


def test_a_save_inside_control_flow_is_refused(cpu_backend: CupySimulator) -> None:
    circuit = measured_bell()
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.append(library.SaveProbabilities(1), [1])
    with pytest.raises(UnsupportedInstructionError, match="save_probabilities"):
        cpu_backend.run(circuit)

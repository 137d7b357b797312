"""Qiskit Aer's own reference circuits for measure, reset and conditionals, on every device.

The circuits and targets are Aer's (``aer_reference/``: copies of Aer's
``test/terra/reference/ref_measure.py``, ``ref_reset.py`` and ``ref_conditionals.py``,
``c_if`` rewritten as ``if_test``). Each test mirrors the Aer test that uses them
(``test/terra/backends/aer_simulator/test_measure.py``, ``test_reset.py``,
``test_conditional.py`` and ``test_wrapper_statevector_simulator.py``): Aer's shots and
Aer's comparison rule, that of ``compare_counts`` in Aer's ``test/terra/common.py``:
every outcome's count within ``delta * shots`` of the target (outcomes missing from one
side count 0), on the raw hex counts of ``result.data(i)["counts"]``, or on
``get_counts()`` where Aer compares register-formatted keys (the 64- and 132-bit
registers). Statevector targets (Aer's ``StatevectorSimulator`` tests, one shot each) are
compared up to global phase within 1e-10 (double precision), taking the final state
both from the ``save_statevector`` run option and from Aer's ``SaveStatevector``
instruction appended to the circuit, as Aer's wrapper does.

``test_conditional_diagonal`` ports Aer's ``TestConditionalDiagonal`` from
``test_conditional.py`` itself (its circuits live in the test, not in a reference module).

Aer-only result metadata (``measure_sampling``) is not checked: this simulator does not
report it. Seeds are fixed, so every run is deterministic.

Conditions on the 132-bit register (``conditional_cases_132bit``) are wider than the
device's 64-bit classical values; they are compared 64 bits at a time.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import DiagonalGate
from qiskit.quantum_info import Statevector
from qiskit.quantum_info.operators.predicates import matrix_equal

from aer_reference import ref_conditionals, ref_measure, ref_reset
from qiskit_cupy import CupySimulator

#: Aer's TestMeasure.OPTIONS seed; used for every run here.
SEED = 41411

#: Statevector tolerance (double precision), up to global phase.
ATOL = 1e-10

#: Aer's conditional types this simulator has ('kraus' and 'superop' are not ported).
CONDITIONAL_TYPES = ["gate", "unitary"]

#: How the final state is taken: the run option, or Aer's save instruction appended.
SAVE_MODES = ["option", "instruction"]

# -- Aer's comparison helpers (test/terra/common.py) -----------------------------------


def run(backend: CupySimulator, circuits: list[QuantumCircuit], **options):
    options.setdefault("seed_simulator", SEED)
    result = backend.run(circuits, **options).result()
    assert result.success
    assert len(result.results) == len(circuits)
    return result


def compare_counts(result, circuits, targets, delta, hex_counts=True) -> None:
    """Aer's ``compare_counts``: each outcome within ``delta`` of the target count."""
    assert len(circuits) == len(targets)
    failures = []
    for pos, target in enumerate(targets):
        output = result.data(pos)["counts"] if hex_counts else result.get_counts(pos)
        keys = set(output) | set(target)
        if any(abs(output.get(key, 0) - target.get(key, 0)) > delta for key in keys):
            failures.append(f"Circuit ({pos + 1}/{len(circuits)}): {output} != {target}")
    assert not failures, f"delta={delta}\n" + "\n".join(failures)


def compare_memory(result, circuits, targets) -> None:
    """Aer's ``compare_memory`` on the hex memory (one entry per shot)."""
    failures = []
    for pos, target in enumerate(targets):
        output = result.data(pos)["memory"]
        if output != target:
            failures.append(
                f"Circuit ({pos + 1}/{len(circuits)}): {sorted(set(output))} != "
                f"{sorted(set(target))} ({len(output)} vs {len(target)} shots)"
            )
    assert not failures, "\n".join(failures)


def final_statevectors(backend: CupySimulator, circuits: list[QuantumCircuit], mode: str) -> list:
    """Each circuit's final state from one shot, as Aer's ``StatevectorSimulator`` gives it."""
    if mode == "option":
        result = run(backend, circuits, shots=1, save_statevector=True)
        return [result.data(pos)["statevector"] for pos in range(len(circuits))]
    library = pytest.importorskip("qiskit_aer.library")
    saved = []
    for circuit in circuits:
        circuit = circuit.copy()
        circuit.append(library.SaveStatevector(circuit.num_qubits, label="final"), circuit.qubits)
        saved.append(circuit)
    result = run(backend, saved, shots=1)
    return [result.data(pos)["final"] for pos in range(len(saved))]


def compare_statevector(states, circuits, targets) -> None:
    """Aer's ``compare_statevector``, up to global phase within ``ATOL``.

    Like Aer's (``zip``), a circuit without a target is not compared.
    """
    failures = []
    for pos, (state, target) in enumerate(zip(states, targets)):
        output = Statevector(state).data
        target = Statevector(np.asarray(target, dtype=complex)).data
        if output.shape != target.shape or not matrix_equal(
            output, target, ignore_phase=True, atol=ATOL, rtol=0
        ):
            failures.append(f"Circuit ({pos + 1}/{len(circuits)}): {np.round(output, 12)} != {target}")
    assert not failures, "\n".join(failures)


# -- measure (Aer: test_measure.py, test_wrapper_statevector_simulator.py) -------------


@pytest.mark.parametrize("allow_sampling", [True, False], ids=["with_sampling", "without_sampling"])
def test_measure_deterministic(backend: CupySimulator, allow_sampling: bool) -> None:
    shots = 100
    circuits = ref_measure.measure_circuits_deterministic(allow_sampling=allow_sampling)
    targets = ref_measure.measure_counts_deterministic(shots)
    result = run(backend, circuits, shots=shots, memory=True)
    compare_counts(result, circuits, targets, delta=0)
    compare_memory(result, circuits, ref_measure.measure_memory_deterministic(shots))


@pytest.mark.parametrize("allow_sampling", [True, False], ids=["with_sampling", "without_sampling"])
def test_measure_nondeterministic(backend: CupySimulator, allow_sampling: bool) -> None:
    shots = 4000
    circuits = ref_measure.measure_circuits_nondeterministic(allow_sampling=allow_sampling)
    targets = ref_measure.measure_counts_nondeterministic(shots)
    result = run(backend, circuits, shots=shots)
    compare_counts(result, circuits, targets, delta=0.05 * shots)


@pytest.mark.parametrize("allow_sampling", [True, False], ids=["with_sampling", "without_sampling"])
def test_measure_deterministic_multi_qubit(backend: CupySimulator, allow_sampling: bool) -> None:
    shots = 100
    circuits = ref_measure.multiqubit_measure_circuits_deterministic(allow_sampling=allow_sampling)
    targets = ref_measure.multiqubit_measure_counts_deterministic(shots)
    result = run(backend, circuits, shots=shots, memory=True)
    compare_counts(result, circuits, targets, delta=0)
    compare_memory(result, circuits, ref_measure.multiqubit_measure_memory_deterministic(shots))


@pytest.mark.parametrize("allow_sampling", [True, False], ids=["with_sampling", "without_sampling"])
def test_measure_nondeterministic_multi_qubit(backend: CupySimulator, allow_sampling: bool) -> None:
    shots = 4000
    circuits = ref_measure.multiqubit_measure_circuits_nondeterministic(allow_sampling=allow_sampling)
    targets = ref_measure.multiqubit_measure_counts_nondeterministic(shots)
    result = run(backend, circuits, shots=shots)
    compare_counts(result, circuits, targets, delta=0.05 * shots)


@pytest.mark.parametrize("mode", SAVE_MODES)
def test_measure_statevector(backend: CupySimulator, mode: str) -> None:
    circuits = ref_measure.measure_circuits_deterministic(allow_sampling=True)
    targets = ref_measure.measure_statevector_deterministic()
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


@pytest.mark.parametrize("mode", SAVE_MODES)
def test_measure_multi_qubit_statevector(backend: CupySimulator, mode: str) -> None:
    circuits = ref_measure.multiqubit_measure_circuits_deterministic(allow_sampling=True)
    targets = ref_measure.multiqubit_measure_statevector_deterministic()
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


# -- reset (Aer: test_reset.py, test_wrapper_statevector_simulator.py) -----------------


def test_reset_deterministic(backend: CupySimulator) -> None:
    shots = 100
    circuits = ref_reset.reset_circuits_deterministic(final_measure=True)
    targets = ref_reset.reset_counts_deterministic(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0)


def test_reset_nondeterministic(backend: CupySimulator) -> None:
    shots = 4000
    circuits = ref_reset.reset_circuits_nondeterministic(final_measure=True)
    targets = ref_reset.reset_counts_nondeterministic(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0.05 * shots)


def test_reset_sampling_opt(backend: CupySimulator) -> None:
    shots = 4000
    circuits = ref_reset.reset_circuits_sampling_optimization()
    targets = ref_reset.reset_counts_sampling_optimization(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0.05 * shots)


def test_repeated_resets(backend: CupySimulator) -> None:
    shots = 100
    circuits = ref_reset.reset_circuits_repeated()
    targets = ref_reset.reset_counts_repeated(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0)


def test_reset_moving_qubits(backend: CupySimulator) -> None:
    shots = 1000
    circuits = ref_reset.reset_circuits_with_entangled_and_moving_qubits(final_measure=True)
    targets = ref_reset.reset_counts_with_entangled_and_moving_qubits(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0.05 * shots)


@pytest.mark.parametrize("mode", SAVE_MODES)
def test_reset_deterministic_statevector(backend: CupySimulator, mode: str) -> None:
    circuits = ref_reset.reset_circuits_deterministic(final_measure=False)
    targets = ref_reset.reset_statevector_deterministic()
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


@pytest.mark.parametrize("mode", SAVE_MODES)
def test_reset_nondeterministic_statevector(backend: CupySimulator, mode: str) -> None:
    circuits = ref_reset.reset_circuits_nondeterministic(final_measure=False)
    targets = ref_reset.reset_statevector_nondeterministic()
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


# -- conditionals (Aer: test_conditional.py, test_wrapper_statevector_simulator.py) ----


@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_1bit(backend: CupySimulator, conditional_type: str) -> None:
    shots = 100
    circuits = ref_conditionals.conditional_circuits_1bit(
        final_measure=True, conditional_type=conditional_type
    )
    targets = ref_conditionals.conditional_counts_1bit(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0)


@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_2bit(backend: CupySimulator, conditional_type: str) -> None:
    shots = 100
    circuits = ref_conditionals.conditional_circuits_2bit(
        final_measure=True, conditional_type=conditional_type
    )
    targets = ref_conditionals.conditional_counts_2bit(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0)


@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_64bit(backend: CupySimulator, conditional_type: str) -> None:
    shots = 100
    cases = ref_conditionals.conditional_cases_64bit()
    circuits = ref_conditionals.conditional_circuits_nbit(
        64, cases, final_measure=True, conditional_type=conditional_type
    )
    # Aer compares these with get_counts() keys (hex_counts=False).
    targets = ref_conditionals.condtional_counts_nbit(64, cases, shots, hex_counts=False)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0, hex_counts=False)


@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_132bit(backend: CupySimulator, conditional_type: str) -> None:
    shots = 100
    cases = ref_conditionals.conditional_cases_132bit()
    circuits = ref_conditionals.conditional_circuits_nbit(
        132, cases, final_measure=True, conditional_type=conditional_type
    )
    targets = ref_conditionals.condtional_counts_nbit(132, cases, shots, hex_counts=False)
    # Aer's counts test runs only circuits[0:1]; every case is run here.
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0, hex_counts=False)


def test_conditional_reset_1bit(backend: CupySimulator) -> None:
    shots = 100
    circuits = ref_conditionals.conditional_circuits_1bit(final_measure=True, conditional_type="reset")
    targets = ref_conditionals.conditional_counts_1bit_with_reset(shots)
    compare_counts(run(backend, circuits, shots=shots), circuits, targets, delta=0)


@pytest.mark.parametrize("mode", SAVE_MODES)
@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_1bit_statevector(backend: CupySimulator, conditional_type: str, mode: str) -> None:
    circuits = ref_conditionals.conditional_circuits_1bit(
        final_measure=False, conditional_type=conditional_type
    )
    targets = ref_conditionals.conditional_statevector_1bit()
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


@pytest.mark.parametrize("mode", SAVE_MODES)
@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_2bit_statevector(backend: CupySimulator, conditional_type: str, mode: str) -> None:
    circuits = ref_conditionals.conditional_circuits_2bit(
        final_measure=False, conditional_type=conditional_type
    )
    targets = ref_conditionals.conditional_statevector_2bit()
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


@pytest.mark.parametrize("mode", SAVE_MODES)
@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_64bit_statevector(backend: CupySimulator, conditional_type: str, mode: str) -> None:
    cases = ref_conditionals.conditional_cases_64bit()
    circuits = ref_conditionals.conditional_circuits_nbit(
        64, cases, final_measure=False, conditional_type=conditional_type
    )
    targets = ref_conditionals.conditional_statevector_nbit(cases)
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


@pytest.mark.parametrize("mode", SAVE_MODES)
@pytest.mark.parametrize("conditional_type", CONDITIONAL_TYPES)
def test_conditional_132bit_statevector(backend: CupySimulator, conditional_type: str, mode: str) -> None:
    cases = ref_conditionals.conditional_cases_132bit()
    circuits = ref_conditionals.conditional_circuits_nbit(
        132, cases, final_measure=False, conditional_type=conditional_type
    )
    targets = ref_conditionals.conditional_statevector_nbit(cases)
    compare_statevector(final_statevectors(backend, circuits, mode), circuits, targets)


def test_conditional_diagonal(backend: CupySimulator) -> None:
    """Aer's TestConditionalDiagonal (test_conditional.py), ``c_if`` as ``if_test``.

    ``DiagonalGate([-1, -1])`` is -I: the condition that holds flips the sign of the
    saved state (not equal to the base state), the one that fails leaves it equal.
    Adapted from Qiskit Aer (Apache-2.0, (C) Copyright IBM 2018, 2019).
    """
    library = pytest.importorskip("qiskit_aer.library")
    circuits = []
    for label, value in (("base", None), ("diff", 0), ("equal", 1)):
        circuit = QuantumCircuit(4, 4)
        for i in range(1, 4):
            circuit.h(i)
        if value is not None:
            with circuit.if_test((circuit.clbits[0], value)):
                circuit.append(DiagonalGate([-1, -1]), [1])
        circuit.append(library.SaveStatevector(4, label=label), circuit.qubits)
        circuits.append(circuit)
    result = run(backend, circuits, shots=1)
    base, diff, equal = (result.data(pos)[label] for pos, label in enumerate(("base", "diff", "equal")))
    assert base != diff
    assert base == equal
    assert np.allclose(diff.data, -base.data, atol=ATOL, rtol=0)

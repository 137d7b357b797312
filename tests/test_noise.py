"""Noisy simulation: channels in circuits and Aer noise models, run as trajectories.

References: ``noise_reference.py`` (a ``qiskit.quantum_info.DensityMatrix`` evolved
through each channel's own ``Kraus``/``SuperOp``, with one ancilla per clbit for
mid-circuit measurements and readout errors), and Qiskit Aer's counts for the same
circuits and noise models. Statistical bounds: ``count_statistics.py`` (chi-square
tests failing below a p-value of 1e-6).
"""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import Kraus, SuperOp, random_quantum_channel, random_unitary
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    ReadoutError,
    amplitude_damping_error,
    coherent_unitary_error,
    depolarizing_error,
    pauli_error,
    phase_damping_error,
    reset_error,
    thermal_relaxation_error,
)

from count_statistics import P_VALUE, SHOTS, chi_square_fit, chi_square_same
from noise_reference import noisy_distribution
from qiskit_cupy import CupySimulator
from qiskit_cupy.compiler.noise import ReadoutErrorInstruction
from qiskit_cupy.errors import InvalidCircuitError, InvalidOptionError
from qiskit_cupy.runtime import trajectories


def _one_qubit_errors(rng: np.random.Generator) -> list[object]:
    """One error of each one-qubit kind: unitary mixtures, Pauli channels, Kraus maps,
    reset errors, Qiskit's Kraus and SuperOp objects."""
    gamma = float(rng.uniform(0.05, 0.4))
    return [
        depolarizing_error(float(rng.uniform(0.05, 0.3)), 1),
        pauli_error([("X", 0.1), ("Y", 0.05), ("Z", 0.15), ("I", 0.7)]),
        amplitude_damping_error(gamma),
        phase_damping_error(gamma),
        thermal_relaxation_error(50.0, 70.0, float(rng.uniform(5, 30))),  # T2 > T1: Kraus
        thermal_relaxation_error(70.0, 50.0, float(rng.uniform(5, 30))),  # T2 < T1: mixture with resets
        reset_error(0.1, 0.05),
        coherent_unitary_error(random_unitary(2, seed=int(rng.integers(1 << 30)))),
        Kraus(random_quantum_channel(2, seed=int(rng.integers(1 << 30)))),
        SuperOp(random_quantum_channel(2, seed=int(rng.integers(1 << 30)))),
        amplitude_damping_error(gamma).compose(depolarizing_error(0.1, 1)),
    ]


def random_noisy_circuit(
    seed: int, num_qubits: int = 3, depth: int = 8, mid_measures: bool = True
) -> QuantumCircuit:
    """Random gates, channels of every kind after them, mid-circuit measurements, resets
    and final measurements of every qubit."""
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(num_qubits, num_qubits + (1 if mid_measures else 0))
    for _ in range(depth):
        qubit = int(rng.integers(num_qubits))
        other = int((qubit + 1 + rng.integers(num_qubits - 1)) % num_qubits)
        choice = rng.random()
        if choice < 0.3:
            circuit.u(*rng.uniform(0, 2 * np.pi, 3), qubit)
        elif choice < 0.5:
            circuit.cx(qubit, other)
            if rng.random() < 0.5:
                circuit.append(depolarizing_error(0.2, 2), [qubit, other])
            else:
                circuit.append(
                    Kraus(random_quantum_channel(4, seed=int(rng.integers(1 << 30)))), [qubit, other]
                )
        elif choice < 0.85:
            errors = _one_qubit_errors(rng)
            circuit.h(qubit)
            circuit.append(errors[int(rng.integers(len(errors)))], [qubit])
        elif choice < 0.95 and mid_measures:
            circuit.measure(qubit, num_qubits)
        else:
            circuit.reset(qubit)
    circuit.measure(range(num_qubits), range(num_qubits))
    return circuit


def counts_of(backend: CupySimulator, circuit: QuantumCircuit, **options: object) -> dict[str, int]:
    options.setdefault("shots", SHOTS)
    options.setdefault("seed_simulator", 7)
    return backend.run(circuit, **options).result().get_counts()


# -- channels in circuits, against the exact density matrix ----------------------------


@pytest.mark.parametrize("seed", range(4))
def test_random_noisy_circuits_match_the_exact_distribution(backend: CupySimulator, seed: int) -> None:
    circuit = random_noisy_circuit(seed, num_qubits=3 + seed % 2, depth=10)
    assert chi_square_fit(counts_of(backend, circuit), noisy_distribution(circuit)) > P_VALUE


@pytest.mark.parametrize("precision", ["double", "single"])
def test_both_precisions_run_noisy_circuits(backend: CupySimulator, precision: str) -> None:
    circuit = random_noisy_circuit(21, depth=12)
    counts = counts_of(backend, circuit, precision=precision)
    assert chi_square_fit(counts, noisy_distribution(circuit)) > P_VALUE


def test_eight_qubit_noisy_circuit_matches_the_exact_distribution(cpu_backend: CupySimulator) -> None:
    rng = np.random.default_rng(8)
    circuit = QuantumCircuit(8, 3)
    for layer in range(3):
        for qubit in range(8):
            circuit.u(*rng.uniform(0, 2 * np.pi, 3), qubit)
            circuit.append(
                depolarizing_error(0.05, 1) if layer % 2 else amplitude_damping_error(0.1), [qubit]
            )
        for qubit in range(7):
            circuit.cx(qubit, qubit + 1)
    circuit.measure(4, 2)
    circuit.append(thermal_relaxation_error(50.0, 70.0, 20.0), [4])
    circuit.cx(4, 7)
    circuit.measure([7, 0], [0, 1])
    counts = counts_of(cpu_backend, circuit, shots=2000)
    assert chi_square_fit(counts, noisy_distribution(circuit)) > P_VALUE


def test_readout_error_instruction_flips_bits_as_its_matrix_says(backend: CupySimulator) -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.x(1)
    circuit.measure([0, 1], [0, 1])
    circuit.append(ReadoutErrorInstruction(np.array([[0.9, 0.1], [0.3, 0.7]])), [], [0])
    circuit.append(ReadoutErrorInstruction(np.array([[0.8, 0.2], [0.25, 0.75]])), [], [1])
    assert chi_square_fit(counts_of(backend, circuit), noisy_distribution(circuit)) > P_VALUE


# -- Aer noise models ------------------------------------------------------------------


def _noise_model() -> NoiseModel:
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.05, 1), ["u", "h"])
    model.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["cx"])
    model.add_quantum_error(amplitude_damping_error(0.2), ["u"], [1])
    model.add_quantum_error(thermal_relaxation_error(50.0, 70.0, 30.0), ["h"], [2])
    model.add_all_qubit_quantum_error(pauli_error([("X", 0.05), ("I", 0.95)]), ["measure"])
    model.add_all_qubit_quantum_error(reset_error(0.1, 0.02), ["reset"])
    model.add_all_qubit_readout_error(ReadoutError([[0.95, 0.05], [0.1, 0.9]]))
    model.add_readout_error(ReadoutError([[0.8, 0.2], [0.3, 0.7]]), [0])
    return model


def _circuit_for_the_model(seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(3, 4)
    for _ in range(3):
        for qubit in range(3):
            circuit.u(*rng.uniform(0, 2 * np.pi, 3), qubit)
        circuit.cx(0, 1)
        circuit.h(2)
        circuit.cx(2, 0)
    circuit.measure(1, 3)
    circuit.reset(1)
    circuit.h(1)
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


def _with_model_by_hand(circuit: QuantumCircuit) -> QuantumCircuit:
    """The circuit with _noise_model's errors written in as Aer documents them: after
    gates, before measurements, local errors over all-qubit ones, readout on clbits."""
    noisy = circuit.copy_empty_like()
    for instruction in circuit.data:
        name, qubits = instruction.operation.name, [circuit.find_bit(bit).index for bit in instruction.qubits]
        if name == "measure":
            noisy.append(pauli_error([("X", 0.05), ("I", 0.95)]), instruction.qubits)
            noisy.append(instruction)
            matrix = [[0.8, 0.2], [0.3, 0.7]] if qubits == [0] else [[0.95, 0.05], [0.1, 0.9]]
            noisy.append(ReadoutErrorInstruction(np.array(matrix)), [], instruction.clbits)
            continue
        noisy.append(instruction)
        if name == "u":
            noisy.append(
                amplitude_damping_error(0.2) if qubits == [1] else depolarizing_error(0.05, 1),
                instruction.qubits,
            )
        elif name == "h":
            error = (
                thermal_relaxation_error(50.0, 70.0, 30.0) if qubits == [2] else depolarizing_error(0.05, 1)
            )
            noisy.append(error, instruction.qubits)
        elif name == "cx":
            noisy.append(depolarizing_error(0.1, 2), instruction.qubits)
        elif name == "reset":
            noisy.append(reset_error(0.1, 0.02), instruction.qubits)
    return noisy


@pytest.mark.parametrize("seed", range(2))
def test_noise_model_matches_the_exact_distribution(backend: CupySimulator, seed: int) -> None:
    circuit = _circuit_for_the_model(seed)
    counts = counts_of(backend, circuit, noise_model=_noise_model())
    assert chi_square_fit(counts, noisy_distribution(_with_model_by_hand(circuit))) > P_VALUE


@pytest.mark.parametrize("seed", range(2))
def test_noise_model_agrees_with_aer(cpu_backend: CupySimulator, seed: int) -> None:
    circuit = _circuit_for_the_model(10 + seed)
    model = _noise_model()
    ours = counts_of(cpu_backend, circuit, noise_model=model)
    theirs = (
        AerSimulator(noise_model=model).run(circuit, shots=SHOTS, seed_simulator=seed).result().get_counts()
    )
    assert chi_square_same(ours, theirs) > P_VALUE


def test_backend_options_accept_a_noise_model_as_aer_does(cpu_backend: CupySimulator) -> None:
    model = _noise_model()
    cpu_backend.set_options(noise_model=model)
    assert cpu_backend.options.noise_model is model
    circuit = _circuit_for_the_model(3)
    counts = counts_of(cpu_backend, circuit)
    assert chi_square_fit(counts, noisy_distribution(_with_model_by_hand(circuit))) > P_VALUE


def test_an_ideal_noise_model_gives_exactly_the_noise_free_results(cpu_backend: CupySimulator) -> None:
    circuit = _circuit_for_the_model(4)
    unused = NoiseModel()
    unused.add_all_qubit_quantum_error(depolarizing_error(0.5, 1), ["rz"])
    plain = cpu_backend.run(circuit, shots=500, seed_simulator=3, memory=True).result().get_memory()
    for model in (NoiseModel(), unused):
        noisy = cpu_backend.run(circuit, shots=500, seed_simulator=3, memory=True, noise_model=model)
        assert noisy.result().get_memory() == plain


# -- determinism and concurrency -------------------------------------------------------


def test_same_seed_same_memory_whatever_the_branching_chunking_and_device(
    cpu_backend: CupySimulator, backend: CupySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    circuit = random_noisy_circuit(5, depth=12)
    options = {"shots": 300, "seed_simulator": 99, "memory": True}
    reference = cpu_backend.run(circuit, **options).result().get_memory()
    assert backend.run(circuit, shot_branching_enable=False, **options).result().get_memory() == reference
    monkeypatch.setattr(trajectories, "MAX_CHUNK_BYTES", 7 * 16 << circuit.num_qubits)
    assert backend.run(circuit, **options).result().get_memory() == reference


def test_concurrent_noisy_jobs_give_what_each_gives_alone(cpu_backend: CupySimulator) -> None:
    circuits = [random_noisy_circuit(30 + index, depth=10) for index in range(6)]
    alone = [
        cpu_backend.run(circuit, shots=200, seed_simulator=index, memory=True).result().get_memory()
        for index, circuit in enumerate(circuits)
    ]
    together: list[list[str] | None] = [None] * len(circuits)

    def run(index: int) -> None:
        job = cpu_backend.run(circuits[index], shots=200, seed_simulator=index, memory=True)
        together[index] = job.result().get_memory()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(circuits))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


# -- what is refused -------------------------------------------------------------------


def _circuit_with(operation: object, qubits: list[int]) -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name="bad-noise")
    circuit.h(0)
    circuit.append(operation, qubits)
    circuit.measure([0, 1], [0, 1])
    return circuit


class _Instruction:
    """An instruction with hand-set params, as a malformed input would carry them."""

    @staticmethod
    def kraus(*matrices: object) -> object:
        from qiskit.circuit import Instruction

        return Instruction("kraus", 1, 0, list(matrices))


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (_Instruction.kraus(np.eye(2) * 0.5), "not trace-preserving"),
        (_Instruction.kraus(np.array([[np.nan, 0], [0, 1]])), "not finite"),
        (_Instruction.kraus(np.eye(4)), "2x2"),
        (QuantumError([(QuantumCircuit(1), 0.5), (QuantumCircuit(1), 0.5)]), None),
    ],
    ids=["not-trace-preserving", "nan", "wrong-shape", "valid-identity-mixture"],
)
def test_bad_channels_are_refused_naming_the_circuit(
    cpu_backend: CupySimulator, operation: object, message: str | None
) -> None:
    circuit = _circuit_with(operation, [0])
    if message is None:
        assert sum(counts_of(cpu_backend, circuit).values()) == SHOTS
        return
    with pytest.raises(InvalidCircuitError, match=f"circuit 0 \\('bad-noise'\\).*{message}"):
        cpu_backend.run(circuit)
    assert sum(counts_of(cpu_backend, _circuit_with(depolarizing_error(0.1, 1), [0])).values()) == SHOTS


@pytest.mark.parametrize(
    "value",
    [{"errors": []}, "depolarizing", 0.01],
    ids=["dict", "string", "number"],
)
def test_a_noise_model_option_of_the_wrong_type_is_refused(cpu_backend: CupySimulator, value: object) -> None:
    with pytest.raises(InvalidOptionError, match="noise_model"):
        cpu_backend.run(QuantumCircuit(1), noise_model=value)


def test_a_two_qubit_readout_error_is_refused_by_name(cpu_backend: CupySimulator) -> None:
    model = NoiseModel()
    model.add_readout_error(
        ReadoutError([[0.9, 0.1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), [0, 1]
    )
    with pytest.raises(InvalidOptionError, match="readout errors on several qubits"):
        cpu_backend.set_options(noise_model=model)


def test_transpile_keeps_channels_that_the_target_lists(cpu_backend: CupySimulator) -> None:
    circuit = _circuit_with(Kraus(random_quantum_channel(2, seed=3)), [1])
    circuit.append(SuperOp(random_quantum_channel(2, seed=4)).to_instruction(), [0])
    circuit.append(amplitude_damping_error(0.3), [0])
    circuit.append(UnitaryGate(random_unitary(2, seed=5)), [1])
    transpiled = transpile(circuit, cpu_backend)
    names = {instruction.operation.name for instruction in transpiled.data}
    assert {"kraus", "quantum_channel"} <= names
    assert chi_square_fit(counts_of(cpu_backend, transpiled), noisy_distribution(transpiled)) > P_VALUE


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor], ids=["threads", "processes"])
def test_sub_jobs_give_what_the_job_gives_alone(cpu_backend: CupySimulator, pool: type) -> None:
    """Channels appended to circuits (shipped as QPY) and a noise model (shipped with the
    options) reach every worker: the same seed, the same memory, split by shots."""
    circuits = [random_noisy_circuit(60, depth=10), _circuit_for_the_model(61)]
    options = {"shots": 240, "seed_simulator": 8, "memory": True, "noise_model": _noise_model()}
    alone = cpu_backend.run(circuits, **options).result()
    with pool(2) as executor:
        split = cpu_backend.run(circuits, executor=executor, max_shot_size=100, **options).result()
    assert [split.get_memory(index) for index in range(2)] == [alone.get_memory(index) for index in range(2)]


def test_skipping_the_noise_no_row_draws_changes_nothing(
    backend: CupySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine skips a noise draw where the host finds that no row of the chunk takes
    a branch that does something; running every draw on the device gives the same memory."""
    circuit = _circuit_for_the_model(70)
    model = NoiseModel()  # weak noise: most draws of a chunk take no branch
    model.add_all_qubit_quantum_error(depolarizing_error(2e-3, 1), ["u", "h"])
    model.add_all_qubit_quantum_error(depolarizing_error(5e-3, 2), ["cx"])
    model.add_all_qubit_readout_error(ReadoutError([[0.95, 0.05], [0.1, 0.9]]))
    options = {"shots": 300, "seed_simulator": 12, "memory": True, "noise_model": model}
    skipping = backend.run(circuit, **options).result()
    monkeypatch.setattr(
        trajectories.TrajectoryEngine, "_any_row_draws_work", lambda self, branches, node: True
    )
    every_draw = backend.run(circuit, **options).result()
    assert skipping.get_memory() == every_draw.get_memory()
    assert skipping.results[0].metadata["passes"] < every_draw.results[0].metadata["passes"]


def test_an_error_aer_cannot_write_out_is_refused_as_an_option_error(cpu_backend: CupySimulator) -> None:
    from qiskit.quantum_info import PauliList
    from qiskit_aer.noise import PauliLindbladError

    model = NoiseModel()
    model.add_all_qubit_quantum_error(PauliLindbladError(PauliList(["X"]), [0.1]), ["x"])
    with pytest.raises(InvalidOptionError, match="noise_model: the error of"):
        cpu_backend.run(QuantumCircuit(1), noise_model=model)

"""``method="density_matrix"``: rho evolved exactly through gates and every channel kind.

References: ``qiskit.quantum_info.DensityMatrix`` evolved through each instruction's own
``Operator``/``Kraus``/``SuperOp`` (``noise_reference.py``), to 1e-10 in double and
1e-5 in single precision; counts against that exact distribution by the chi-square
bound of ``count_statistics.py``; Qiskit Aer's own density-matrix method.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import QFTGate
from qiskit.quantum_info import DensityMatrix
from qiskit_aer import AerSimulator
from qiskit_aer.library import SaveDensityMatrix
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

from count_statistics import P_VALUE, chi_square_fit, chi_square_same
from noise_reference import channel_of, noisy_distribution
from qiskit_cupy import CupySimulator
from qiskit_cupy.errors import InsufficientMemoryError, InvalidOptionError, UnsupportedInstructionError
from test_noise import random_noisy_circuit

TOLERANCE = {"double": 1e-10, "single": 1e-5}


def exact_density_matrix(circuit: QuantumCircuit) -> DensityMatrix:
    """rho after every instruction but measurements and saves, from each one's own channel."""
    index = {bit: position for position, bit in enumerate(circuit.qubits)}
    state = DensityMatrix.from_int(0, 2**circuit.num_qubits)
    for instruction in circuit.data:
        if instruction.operation.name in ("measure", "barrier", "save_density_matrix"):
            continue
        state = state.evolve(channel_of(instruction.operation), [index[bit] for bit in instruction.qubits])
    return state


def saving_density_matrix(circuit: QuantumCircuit) -> QuantumCircuit:
    """The circuit without its measurements, saving rho at its end."""
    saving = circuit.remove_final_measurements(inplace=False)
    saving.append(SaveDensityMatrix(saving.num_qubits, label="rho"), saving.qubits)
    return saving


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("seed", range(4))
def test_density_matrix_equals_the_exact_one(backend: CupySimulator, seed: int, precision: str) -> None:
    circuit = saving_density_matrix(
        random_noisy_circuit(seed, num_qubits=3 + seed % 3, depth=14, mid_measures=False)
    )
    result = backend.run(circuit, method="density_matrix", precision=precision).result()
    rho = result.data(0)["rho"]
    assert isinstance(rho, DensityMatrix)
    np.testing.assert_allclose(
        rho.data, exact_density_matrix(circuit).data, rtol=0, atol=TOLERANCE[precision]
    )
    assert result.results[0].metadata["method"] == "density_matrix"


def test_fused_density_matrix_of_eight_qubits_equals_the_exact_one(cpu_backend: CupySimulator) -> None:
    """Eight qubits make a 16-qubit vector, past the fusion threshold: fused superoperators."""
    circuit = random_noisy_circuit(40, num_qubits=8, depth=30, mid_measures=False)
    circuit.remove_final_measurements()
    circuit.append(QFTGate(4), [0, 2, 4, 6])
    saving = saving_density_matrix(circuit)
    result = cpu_backend.run(saving, method="density_matrix").result()
    assert result.results[0].metadata["passes"] < result.results[0].metadata["num_ops"]
    np.testing.assert_allclose(
        result.data(0)["rho"].data, exact_density_matrix(saving).data, rtol=0, atol=1e-10
    )


@pytest.mark.parametrize("seed", range(3))
def test_density_matrix_counts_match_the_exact_distribution(backend: CupySimulator, seed: int) -> None:
    circuit = random_noisy_circuit(50 + seed, num_qubits=4, depth=12, mid_measures=False)
    counts = (
        backend.run(circuit, method="density_matrix", shots=4000, seed_simulator=seed).result().get_counts()
    )
    assert chi_square_fit(counts, noisy_distribution(circuit)) > P_VALUE


def test_density_matrix_with_a_noise_model_agrees_with_aer(cpu_backend: CupySimulator) -> None:
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.05, 1), ["u"])
    model.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["cx"])
    model.add_all_qubit_readout_error(ReadoutError([[0.9, 0.1], [0.2, 0.8]]))
    rng = np.random.default_rng(5)
    circuit = QuantumCircuit(4)
    for _ in range(3):
        for qubit in range(4):
            circuit.u(*rng.uniform(0, 2 * np.pi, 3), qubit)
        for qubit in range(3):
            circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    ours = cpu_backend.run(circuit, method="density_matrix", noise_model=model, shots=4000, seed_simulator=1)
    theirs = AerSimulator(method="density_matrix", noise_model=model).run(
        circuit, shots=4000, seed_simulator=1
    )
    assert chi_square_same(ours.result().get_counts(), theirs.result().get_counts()) > P_VALUE
    trajectories = (
        cpu_backend.run(circuit, noise_model=model, shots=4000, seed_simulator=2).result().get_counts()
    )
    assert chi_square_same(ours.result().get_counts(), trajectories) > P_VALUE


def test_a_mid_circuit_measurement_is_refused_naming_the_method(cpu_backend: CupySimulator) -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.cx(0, 1)
    circuit.measure(1, 1)
    with pytest.raises(UnsupportedInstructionError, match="density_matrix"):
        cpu_backend.run(circuit, method="density_matrix")
    assert cpu_backend.run(circuit, shots=10).result().get_counts().keys() <= {"00", "11"}


def test_save_statevector_is_refused_with_the_density_matrix_method(cpu_backend: CupySimulator) -> None:
    with pytest.raises(InvalidOptionError, match="save_statevector"):
        cpu_backend.run(QuantumCircuit(1), method="density_matrix", save_statevector=True)


def test_memory_is_checked_before_allocating_twice_the_qubits(cpu_backend: CupySimulator) -> None:
    """A 20-qubit circuit fits as a statevector; its density matrix (40 qubits) does not."""
    circuit = QuantumCircuit(20)
    circuit.h(0)
    with pytest.raises(InsufficientMemoryError):
        cpu_backend.run(circuit, method="density_matrix")

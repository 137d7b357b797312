"""The native SamplerV2 against exact distributions and StatevectorSampler's bit order.

References: ``Statevector(...).probabilities_dict(qargs)`` for the distributions of
static circuits; StatevectorSampler's BitArrays (compared exactly) for the bit order of
several classical registers on circuits whose every shot is the same; distributions
worked out by hand for dynamic circuits (StatevectorSampler cannot take control flow).

Statistical bound (``assert_counts_follow`` from test_sampling.py): every outcome's
count c of N shots with exact probability p satisfies |c - N p| <= 6 sqrt(N p (1 - p))
+ 3; with the fixed seeds used here the outcome is deterministic, and a correct sampler
fails it with probability below 1e-8 per outcome for any seed. Two BitArrays of 3 or
more uniformly random bits per shot over 200 or more shots are equal by chance with
probability below 8**-200, so "different" is asserted exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.primitives import BitArray, PrimitiveResult, StatevectorSampler
from qiskit.primitives.containers import SamplerPubResult
from qiskit.providers import JobStatus
from qiskit.quantum_info import Statevector

from qiskit_cupy import CupySimulator
from qiskit_cupy.errors import InvalidCircuitError, InvalidOptionError
from qiskit_cupy.primitives import CupyPrimitiveJob, SamplerV2
from random_circuits import random_circuit
from test_sampling import assert_counts_follow


def two_parameter_circuit() -> tuple[QuantumCircuit, QuantumCircuit]:
    """A 3-qubit circuit of two parameters, without and with its measurements."""
    a, b = Parameter("a"), Parameter("b")
    body = QuantumCircuit(3, name="two_parameters")
    body.ry(a, 0)
    body.rx(b, 1)
    body.cx(0, 2)
    body.crz(a + b, 1, 2)
    body.h(2)
    body.rzz(2 * b, 0, 2)
    measured = body.copy()
    measured.measure_all()
    return body, measured


def registers_circuit() -> QuantumCircuit:
    """10 qubits, some flipped, measured in scrambled order into three registers (one
    of 9 bits across a byte boundary, one never written) so that every shot is equal."""
    qubits = QuantumRegister(10, "q")
    small, wide, unused = (
        ClassicalRegister(3, "small"),
        ClassicalRegister(9, "wide"),
        ClassicalRegister(2, "unused"),
    )
    circuit = QuantumCircuit(qubits, small, wide, unused, name="registers")
    circuit.x([0, 3, 4, 7, 9])
    circuit.measure([4, 1, 9], small)
    circuit.measure([0, 2, 3, 5, 6, 7, 8, 9, 1], wide)
    return circuit


def test_parametrized_counts_follow_the_exact_distribution(backend: CupySimulator) -> None:
    body, measured = two_parameter_circuit()
    values = np.random.default_rng(17).uniform(-np.pi, np.pi, size=(2, 2, 2))
    shots = 4000
    sampler = SamplerV2(backend=backend, default_shots=shots, seed=17)
    job = sampler.run([(measured, values)])
    assert isinstance(job, CupyPrimitiveJob)
    result = job.result()
    assert isinstance(result, PrimitiveResult)
    assert result.metadata == {"version": 2}
    assert job.done() and job.status() == JobStatus.DONE
    pub_result = result[0]
    assert isinstance(pub_result, SamplerPubResult)
    assert pub_result.metadata["shots"] == shots
    bits = pub_result.data.meas
    assert isinstance(bits, BitArray)
    assert bits.shape == (2, 2)
    assert bits.num_shots == shots
    assert bits.num_bits == 3
    for index in np.ndindex(2, 2):
        exact = Statevector(body.assign_parameters(values[index])).probabilities_dict()
        assert_counts_follow(bits.get_counts(index), exact, shots)


def test_several_registers_match_statevector_sampler_bit_for_bit(backend: CupySimulator) -> None:
    circuit = registers_circuit()
    shots = 64
    result = SamplerV2(backend=backend, seed=1).run([circuit], shots=shots).result()[0]
    reference = StatevectorSampler(seed=1).run([circuit], shots=shots).result()[0]
    assert set(result.data.keys()) == {"small", "wide", "unused"}
    for register in circuit.cregs:
        got, want = getattr(result.data, register.name), getattr(reference.data, register.name)
        assert got.shape == want.shape == ()
        assert got.num_bits == want.num_bits == register.size
        assert got.num_shots == shots
        np.testing.assert_array_equal(got.array, want.array)
        assert got.get_counts() == want.get_counts()
    assert result.data.small.get_counts() == {"101": shots}
    assert result.data.wide.get_counts() == {"010100101": shots}
    assert result.data.unused.get_counts() == {"00": shots}


def test_several_registers_follow_the_joint_distribution(backend: CupySimulator) -> None:
    body = random_circuit(5, 20, seed=23)
    first, second = ClassicalRegister(2, "first"), ClassicalRegister(3, "second")
    circuit = body.copy()
    circuit.add_register(first, second)
    first_qubits, second_qubits = [3, 0], [4, 1, 2]
    circuit.measure(first_qubits, first)
    circuit.measure(second_qubits, second)
    shots = 8000
    result = SamplerV2(backend=backend, seed=23).run([circuit], shots=shots).result()[0]
    joint: dict[str, int] = {}
    for low, high in zip(result.data.first.get_bitstrings(), result.data.second.get_bitstrings()):
        joint[high + low] = joint.get(high + low, 0) + 1
    exact = Statevector(body).probabilities_dict(qargs=first_qubits + second_qubits)
    assert_counts_follow(joint, exact, shots)


def test_same_seed_same_bit_arrays_other_seed_other_ones(backend: CupySimulator) -> None:
    _, measured = two_parameter_circuit()
    values = np.random.default_rng(31).uniform(-np.pi, np.pi, size=(3, 2))
    uniform = QuantumCircuit(4, name="uniform")
    uniform.h(range(4))
    uniform.measure_all()
    pubs = [(measured, values), uniform]

    def sample(seed: int | None) -> PrimitiveResult:
        return SamplerV2(backend=backend, seed=seed).run(pubs, shots=300).result()

    first, again, other = sample(5), sample(5), sample(6)
    for one, two, three in zip(first, again, other):
        np.testing.assert_array_equal(one.data.meas.array, two.data.meas.array)
        assert not np.array_equal(one.data.meas.array, three.data.meas.array)
    unseeded = SamplerV2(backend=backend)
    assert not np.array_equal(
        unseeded.run([uniform], shots=300).result()[0].data.meas.array,
        unseeded.run([uniform], shots=300).result()[0].data.meas.array,
    )


def test_equal_parameter_sets_of_one_pub_are_sampled_independently(backend: CupySimulator) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(3, name="repeated")
    circuit.ry(theta, 0)
    circuit.h([1, 2])
    circuit.measure_all()
    result = SamplerV2(backend=backend, seed=9).run([(circuit, [[np.pi / 2]] * 2)], shots=200).result()
    bits = result[0].data.meas
    assert bits.shape == (2,)
    for index in range(2):
        assert_counts_follow(bits.get_counts(index), {f"{k:03b}": 1 / 8 for k in range(8)}, 200)
    # Two sets of one PUB are two independent samples, not one sample twice.
    assert not np.array_equal(bits.array[0], bits.array[1]), "equal sets gave the same 200 shots"


def test_dynamic_circuit_with_a_deterministic_outcome(backend: CupySimulator) -> None:
    qubits, bits = QuantumRegister(3, "q"), ClassicalRegister(4, "c")
    circuit = QuantumCircuit(qubits, bits, name="deterministic")
    circuit.x(0)
    circuit.measure(0, bits[0])  # 1
    with circuit.if_test((bits[0], 1)) as otherwise:
        circuit.x(1)
    with otherwise:
        circuit.x(2)
    circuit.reset(0)
    circuit.measure(0, bits[1])  # 0 after the reset
    circuit.measure(1, bits[2])  # 1 from the taken branch
    with circuit.if_test((bits, 0b0101)):
        circuit.x(2)
    circuit.measure(2, bits[3])  # 1: the register read 0101 before it
    result = SamplerV2(backend=backend, seed=2).run([circuit], shots=100).result()[0]
    assert result.data.c.get_counts() == {"1101": 100}


def test_dynamic_circuit_follows_its_distribution(backend: CupySimulator) -> None:
    theta = Parameter("theta")
    qubits = QuantumRegister(2, "q")
    first, second = ClassicalRegister(1, "first"), ClassicalRegister(2, "second")
    circuit = QuantumCircuit(qubits, first, second, name="feedforward")
    circuit.ry(theta, 0)
    circuit.measure(0, first[0])
    with circuit.if_test((first[0], 1)):
        circuit.x(1)
    circuit.reset(0)
    circuit.h(0)
    circuit.measure(0, second[0])
    circuit.measure(1, second[1])
    thetas = np.array([0.4, np.pi / 2, 2.5])
    shots = 4000
    result = SamplerV2(backend=backend, seed=4).run([(circuit, thetas[:, None])], shots=shots).result()[0]
    assert result.data.first.shape == result.data.second.shape == (3,)
    for index, angle in enumerate(thetas):
        p = np.sin(angle / 2) ** 2
        assert_counts_follow(result.data.first.get_counts(index), {"0": 1 - p, "1": p}, shots)
        # second = (q1 = first, q0 uniform after the reset and H)
        joint: dict[str, int] = {}
        for low, high in zip(
            result.data.first.get_bitstrings(index), result.data.second.get_bitstrings(index)
        ):
            joint[high + low] = joint.get(high + low, 0) + 1
        exact = {"000": (1 - p) / 2, "010": (1 - p) / 2, "101": p / 2, "111": p / 2}
        assert_counts_follow(joint, exact, shots)


def test_several_pubs_with_their_shots_and_metadata(backend: CupySimulator) -> None:
    body, measured = two_parameter_circuit()
    measured.metadata = {"tag": "two"}
    deterministic = registers_circuit()
    deterministic.metadata = {"tag": "registers"}
    values = np.random.default_rng(41).uniform(-np.pi, np.pi, size=(3, 2))
    pubs = [(measured, values), (deterministic, np.empty((2, 0)), 7), (measured, values[0], 1500)]
    sampler = SamplerV2(backend=backend, default_shots=111, seed=41)
    result = sampler.run(pubs, shots=2000).result()
    assert len(result) == 3
    expected_shots = [2000, 7, 1500]
    for pub, pub_result, shots in zip(pubs, result, expected_shots):
        assert pub_result.metadata["shots"] == shots
        assert pub_result.metadata["circuit_metadata"] == pub[0].metadata
        for register in pub[0].cregs:
            assert getattr(pub_result.data, register.name).num_shots == shots
    assert result[0].data.meas.shape == (3,)
    assert result[1].data.wide.shape == (2,)
    assert result[2].data.meas.shape == ()
    for index in range(2):
        assert result[1].data.wide.get_counts(index) == {"010100101": 7}
    for index in range(3):
        exact = Statevector(body.assign_parameters(values[index])).probabilities_dict()
        assert_counts_follow(result[0].data.meas.get_counts(index), exact, 2000)
    exact = Statevector(body.assign_parameters(values[0])).probabilities_dict()
    assert_counts_follow(result[2].data.meas.get_counts(), exact, 1500)
    default = sampler.run([measured.assign_parameters(values[1])]).result()[0]
    assert default.metadata["shots"] == 111
    assert default.data.meas.num_shots == 111


def test_bad_inputs_raise_typed_errors_and_the_sampler_still_works(cpu_backend: CupySimulator) -> None:
    _, measured = two_parameter_circuit()
    sampler = SamplerV2(backend=cpu_backend, seed=3)
    with pytest.raises(InvalidCircuitError, match=r"PUB 1 \(circuit 'two_parameters'\).*finite"):
        sampler.run([registers_circuit(), (measured, [0.1, np.nan])])
    for options in ({"run_options": {"shots": 5}}, {"run_options": {"parameter_binds": [{}]}}):
        with pytest.raises(InvalidOptionError, match="from the PUBs"):
            SamplerV2(backend=cpu_backend, options=options)
    with pytest.raises(InvalidOptionError, match="CupySimulator"):
        SamplerV2(backend=object())
    result = sampler.run([registers_circuit()], shots=5).result()[0]
    assert result.data.wide.get_counts() == {"010100101": 5}


def test_no_pubs_give_an_empty_result(backend: CupySimulator) -> None:
    reference = StatevectorSampler().run([]).result()
    result = SamplerV2(backend=backend).run([]).result()
    assert isinstance(result, PrimitiveResult)
    assert len(result) == len(reference) == 0
    assert result.metadata == {"version": 2}

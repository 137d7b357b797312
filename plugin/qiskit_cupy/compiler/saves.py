"""Qiskit Aer's save instructions, matched by name: what each one asks to keep.

Aer's ``qiskit_aer.library`` instructions carry everything in their name, label,
parameters and ``_subtype`` (Aer's own attribute), so they are read without importing
qiskit-aer. Each becomes a :class:`SaveRequest`, checked here, before any work is
enqueued; ``runtime/saved_data.py`` computes and reduces the values.

Subtypes, as Aer defines them: ``single`` (one value), ``list`` (one per shot),
``average`` (the mean over shots), ``accum`` (the sum over shots), each also
``c_``-prefixed: kept per value of the classical memory at the save, keyed by its hex.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.circuit import Instruction

from qiskit_cupy.compiler.observables import ObservablePieces, pauli_pieces
from qiskit_cupy.errors import InvalidCircuitError

#: Every save instruction's name, with its data kind's default subtype and label.
SAVE_KINDS: dict[str, tuple[str, str]] = {
    "save_statevector": ("single", "statevector"),
    "save_statevector_dict": ("single", "statevector_dict"),
    "save_probabilities": ("average", "probabilities"),
    "save_probabilities_dict": ("average", "probabilities_dict"),
    "save_amplitudes": ("single", "amplitudes"),
    "save_amplitudes_sq": ("average", "amplitudes_squared"),
    "save_expval": ("average", "expectation_value"),
    "save_expval_var": ("average", "expectation_value_variance"),
    "save_density_matrix": ("average", "density_matrix"),
}

#: Aer's ``save_state`` saves what the method simulates: a statevector here (the
#: density-matrix lowering reads it as ``save_density_matrix``).
STATE_SAVE_ALIASES = {"save_state": "save_statevector"}
#: The label Aer gives ``save_state`` by default, for "the method's own name".
METHOD_LABEL = "_method_"

#: Saves of the whole state (Aer defines them on every qubit of the circuit).
WHOLE_STATE_KINDS = frozenset(
    {"save_statevector", "save_statevector_dict", "save_amplitudes", "save_amplitudes_sq"}
)

#: Saves whose per-branch value needs only the marginal probabilities of their qubits.
PROBABILITY_KINDS = frozenset({"save_probabilities", "save_probabilities_dict"})

#: Saves whose per-branch value needs only the expectation of each of their Paulis.
EXPECTATION_KINDS = frozenset({"save_expval", "save_expval_var"})

_SUBTYPES = frozenset(
    prefix + base for prefix in ("", "c_") for base in ("single", "list", "average", "accum")
)


@dataclass(frozen=True)
class SaveRequest:
    """One save instruction, checked.

    Attributes:
        kind: The instruction's name (``save_probabilities``...).
        label: The key of its data in the result.
        qubits: The qubits it saves; bit t of an index is ``qubits[t]``.
        subtype: Aer's data subtype (see the module docstring).
        indices: The basis states of ``save_amplitudes``/``save_amplitudes_sq``.
        paulis: ``save_expval``/``save_expval_var``: Pauli labels (rightmost letter on
            ``qubits[0]``) with the coefficient of each in H and in H^2.
    """

    kind: str
    label: str
    qubits: tuple[int, ...]
    subtype: str
    indices: tuple[int, ...] = ()
    paulis: tuple[tuple[str, float, float], ...] = ()

    @property
    def conditional(self) -> bool:
        """Whether values are kept per value of the classical memory."""
        return self.subtype.startswith("c_")

    @property
    def base_subtype(self) -> str:
        """The subtype without its ``c_`` prefix."""
        return self.subtype.removeprefix("c_")

    def pauli_masks(self) -> tuple[tuple[int, int, int], ...]:
        """Each Pauli term as the kernels take it: (x mask, z mask, number of Y) on the
        circuit's qubits (the label's rightmost letter acts on ``qubits[0]``)."""
        masks = []
        for label, _, _ in self.paulis:
            x_mask = z_mask = 0
            for position, letter in enumerate(reversed(label)):
                bit = 1 << self.qubits[position]
                x_mask |= bit if letter in "XY" else 0
                z_mask |= bit if letter in "ZY" else 0
            masks.append((x_mask, z_mask, label.count("Y")))
        return tuple(masks)

    def pieces(self) -> ObservablePieces:
        """The Pauli terms as the expectation kernel takes them, one observable per term."""
        return pauli_pieces(self.pauli_masks())


def save_request(operation: Instruction, qubits: tuple[int, ...], num_qubits: int) -> SaveRequest:
    """Read and check one save instruction.

    Args:
        operation: The instruction (its name is a key of SAVE_KINDS).
        qubits: The circuit qubits it is applied to.
        num_qubits: The circuit's width.

    Raises:
        InvalidCircuitError: A parameter is out of range or not finite, or a whole-state
            save does not act on every qubit.
    """
    kind = STATE_SAVE_ALIASES.get(operation.name, operation.name)
    default_subtype, default_label = SAVE_KINDS[kind]
    subtype = getattr(operation, "_subtype", default_subtype)
    label = operation.label or default_label
    if label == METHOD_LABEL:
        label = default_label
    where = f"'{kind}' (label '{label}')"
    if subtype not in _SUBTYPES:
        raise InvalidCircuitError(f"{where} has an unknown data subtype {subtype!r}")
    if kind in WHOLE_STATE_KINDS and sorted(qubits) != list(range(num_qubits)):
        raise InvalidCircuitError(f"{where} must act on every qubit of the circuit")
    indices: tuple[int, ...] = ()
    paulis: tuple[tuple[str, float, float], ...] = ()
    if kind in ("save_amplitudes", "save_amplitudes_sq"):
        indices = tuple(_basis_index(value, len(qubits), where) for value in operation.params)
        if not indices:
            raise InvalidCircuitError(f"{where} names no basis state")
    if kind in ("save_expval", "save_expval_var"):
        paulis = tuple(_pauli_term(term, len(qubits), where) for term in operation.params)
    return SaveRequest(kind, label, tuple(qubits), subtype, indices, paulis)


def _basis_index(value: object, width: int, where: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidCircuitError(f"{where}: basis state {value!r} is not an integer")
    if not 0 <= int(value) < 1 << width:
        raise InvalidCircuitError(f"{where}: basis state {value} is outside 0..{(1 << width) - 1}")
    return int(value)


def _pauli_term(term: Any, width: int, where: str) -> tuple[str, float, float]:
    try:
        label, (first_value, second_value) = term
        first, second = float(first_value), float(second_value)
    except (TypeError, ValueError) as error:
        raise InvalidCircuitError(f"{where}: {term!r} is not a (Pauli label, coefficients) term") from error
    if not isinstance(label, str) or len(label) != width or set(label) - set("IXYZ"):
        raise InvalidCircuitError(f"{where}: {label!r} is not a Pauli label on {width} qubits")
    if not (np.isfinite(first) and np.isfinite(second)):
        raise InvalidCircuitError(f"{where}: the coefficients of {label} are not finite")
    return label, first, second

"""The compiler's entry: a circuit lowered as a static program where it can be, else as
trajectories.

A circuit is static while every measurement is terminal and no reset, control flow,
Store or per-shot save appears; static lowering (``lowering.py``) says otherwise by
raising ``NeedsTrajectories``, and the circuit is then lowered by ``dynamic.py``.
"""

from __future__ import annotations

from qiskit.circuit import QuantumCircuit

from qiskit_cupy.compiler.dynamic import lower_dynamic
from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.lowering import LoweredCircuit, NeedsTrajectories, _Lowerer, lower_circuit


def lower_for_run(
    circuit: QuantumCircuit, save_final_state: bool = False, allow_parameters: bool = False
) -> LoweredCircuit | DynamicCircuit:
    """Lower a circuit for the executor: static where possible, else as trajectories.

    Args:
        circuit: The circuit.
        save_final_state: Save the state under ``"statevector"`` at the end (before a
            dynamic circuit's trailing measurements).
        allow_parameters: Accept unbound parameters (static circuits only; bind a
            dynamic one first, see :func:`is_dynamic`).

    Returns:
        The lowered circuit.

    Raises:
        InvalidCircuitError: A parameter is unbound or not finite, or an instruction is
            malformed.
        UnsupportedInstructionError: An instruction or expression cannot run; it is named.
    """
    try:
        return lower_circuit(circuit, save_final_state, allow_parameters)
    except NeedsTrajectories:
        return lower_dynamic(circuit, save_final_state)


def is_dynamic(circuit: QuantumCircuit) -> bool:
    """Whether a circuit (parameters bound or not) runs as trajectories."""
    try:
        _Lowerer(circuit, False, True).lower()
    except NeedsTrajectories:
        return True
    return False

"""An experiment request: one lowered circuit to run on a batch of states, and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit

from qiskit_cupy.compiler.dynamic_nodes import DynamicCircuit
from qiskit_cupy.compiler.lowering import LoweredCircuit


@dataclass(frozen=True)
class ExperimentRequest:
    """One circuit to run on a batch of states, and how.

    A batch holds the same circuit under several parameter bindings, laid out
    contiguously in one buffer, so that each kernel launch serves the whole batch.

    Attributes:
        circuit: The circuit; its parameters are bound, or bound per batch entry by
            ``parameter_values``.
        shots: Samples of its terminal measurements, per batch entry.
        seeds: Seed of each batch entry's sampler; its length is the batch size.
        lowered: The circuit lowered (by ``run()``, where its errors are reported): a
            static circuit, or a dynamic one (bound, batch 1) run as trajectories.
        save_final_state: Keep the final state under ``"statevector"``.
        parameter_values: Each circuit parameter's value per batch entry, or None.
        shot_branching: Run a dynamic circuit's shots as branches that split at
            measurements (``shot_branching_enable``).
        first_shot: The number of the first of its shots: a dynamic circuit's shots
            can be cut into ranges run apart (on the devices of a pool, or in
            sub-jobs), and each shot's draws are keyed by its number.
    """

    circuit: QuantumCircuit
    shots: int
    seeds: tuple[int, ...]
    lowered: LoweredCircuit | DynamicCircuit
    save_final_state: bool = False
    parameter_values: Mapping[Parameter, np.ndarray] | None = None
    shot_branching: bool = True
    first_shot: int = 0

    @property
    def batch(self) -> int:
        """Number of states the experiment runs on."""
        return len(self.seeds)

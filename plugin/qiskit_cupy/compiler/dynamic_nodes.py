"""The program of a dynamic circuit: the nodes the trajectory engine runs, in order.

``dynamic.py`` lowers a circuit into a :class:`DynamicCircuit`;
``runtime/trajectories.py`` runs its nodes on a batch of states, each with a row of
classical slots (``classical_code.py``). A node's ``mask`` is the slot that limits it
to the states whose value there is nonzero, or ``EVERY_STATE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qiskit_cupy.compiler.classical_code import FIRST_FREE_SLOT, ClassicalCode
from qiskit_cupy.compiler.observables import ObservablePieces
from qiskit_cupy.compiler.ops import GateOp
from qiskit_cupy.compiler.saves import SaveRequest


@dataclass(frozen=True)
class Gates:
    """Gate ops applied, in order, to the states whose ``mask`` slot is nonzero (or all)."""

    ops: tuple[GateOp, ...]
    mask: int


@dataclass(frozen=True)
class Collapse:
    """A measurement of ``qubit`` into ``clbit_slot`` (-1: none), or a reset of it."""

    qubit: int
    clbit_slot: int
    reset: bool
    mask: int


@dataclass(frozen=True)
class KrausChoice:
    """The draw of a Kraus operator per active state (``channels.KrausMap``): operator i
    has weight ``coefficients[i] . pieces`` (the state's observable pieces on the
    channel's qubits); the chosen i goes to ``index_slot`` and the state is rescaled
    by 1/sqrt(its weight). The Gates nodes that follow apply K_i under masks."""

    pieces: ObservablePieces
    coefficients: np.ndarray
    index_slot: int
    mask: int


@dataclass(frozen=True, eq=False)
class NoiseDraw:
    """A mixture channel's draw and its branches.

    ``draw`` (run under ``mask``) draws each row's branch index: the number of
    ``thresholds`` at most the row's next 53-bit draw. ``body`` then applies each branch
    in ``branches`` (the branches that do something) under the mask of the rows that
    drew it. Since the draw depends only on the row's seed, shot and counter, the
    engine may compute it on the host and skip the node for a chunk in which no row
    drew a branch of ``branches``.
    """

    draw: ClassicalCode
    thresholds: np.ndarray
    branches: frozenset[int]
    mask: int
    body: tuple[DynamicNode, ...]


@dataclass(frozen=True)
class Classical:
    """A classical program run on the rows whose ``mask`` slot is nonzero (or all)."""

    code: ClassicalCode
    mask: int


@dataclass(frozen=True)
class Save:
    """One of Aer's save instructions, at this point of every shot."""

    request: SaveRequest


@dataclass(frozen=True)
class WhileLoop:
    """Run ``step`` on every row, then ``body``, while any row's ``iteration`` slot is set."""

    step: ClassicalCode
    iteration: int
    body: tuple[DynamicNode, ...]


DynamicNode = Gates | Collapse | KrausChoice | NoiseDraw | Classical | Save | WhileLoop


@dataclass
class DynamicCircuit:
    """A dynamic circuit as the trajectory engine runs it.

    Attributes:
        num_qubits: Width of each state.
        num_clbits: Number of classical bits of the result.
        row_width: Slots per trajectory row.
        nodes: The work, in order.
        final_qubits: Distinct qubits the trailing measurements sample at the end; bit
            t of a final outcome is ``final_qubits[t]``.
        final_clbits: For each clbit the trailing measurements write, the bit of the
            final outcome it takes (the last measurement into it wins).
        measured_qubits: Every qubit measured anywhere, in order of first measurement.
        draws_noise: Whether trajectories draw noise (channels, readout errors): then
            no two shots share a state.
    """

    num_qubits: int
    num_clbits: int
    row_width: int
    nodes: list[DynamicNode] = field(default_factory=list)
    final_qubits: tuple[int, ...] = ()
    final_clbits: dict[int, int] = field(default_factory=dict)
    measured_qubits: list[int] = field(default_factory=list)
    draws_noise: bool = False

    def clbit_slot(self, clbit: int) -> int:
        """The slot of a trajectory row that holds clbit ``clbit``."""
        return FIRST_FREE_SLOT + clbit

"""The trajectory engine: the shots of a dynamic circuit, run as a batch on the device.

Each state of the batch is a *branch*: one state shared by one or more shots, with one
row of classical slots (``compiler/classical.py``) on the device. Every shot has a
shot number, and every draw it takes is keyed by (seed, shot number, the branch's draw
counter), so a shot's outcomes are the same whether it runs alone or in a branch, in
whatever chunk, on whatever device.

- **Trajectories.** When every branch holds one shot, a measurement is three launches
  for the whole batch: the (p0, p1) reduction, the per-row draw (``decide_outcomes``)
  and the collapse. Nothing waits for the host.
- **Shot branching** (``shot_branching_enable``). The shots start in one branch. At a
  measurement the host reads each branch's (p0, p1) and draw counter (one wait per
  measurement, not per shot), draws every shot's outcome with the same generator
  (:func:`trajectory_draws`), and splits each branch into at most two: the new batch
  is gathered on the device and collapsed there. m measurements and S shots cost at
  most min(S, 2^m) states. Once every branch holds one shot, the engine continues as
  trajectories.
- **While loops** wait for the host once per iteration, to learn whether any row
  still loops.
- **Chunks.** Shots are run in chunks that fit the device's free memory.

Ownership: the chunk's states, rows and probabilities belong to the experiment from
allocation to the event after its last use; the engine drops its references once the
work using them is enqueued (CuPy's pool is stream-ordered, and a CPU stream task
holds what it uses), and the host copies belong to the job's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qiskit_cupy.compiler.classical_code import (
    COUNTER_SLOT,
    DRAW_BITS,
    EVERY_STATE,
    OUTCOME_SLOT,
    SEED_SLOT,
    SHOT_SLOT,
    skip_draws,
)
from qiskit_cupy.compiler.dynamic_nodes import (
    Classical,
    Collapse,
    DynamicCircuit,
    DynamicNode,
    Gates,
    KrausChoice,
    NoiseDraw,
    Save,
    WhileLoop,
)
from qiskit_cupy.compiler.fusion import Fuser, Roofline
from qiskit_cupy.compiler.ops import GateOp
from qiskit_cupy.compiler.saves import EXPECTATION_KINDS, PROBABILITY_KINDS
from qiskit_cupy.devices.base import (
    COMPLEX_DTYPES,
    ClassicalRows,
    Device,
    DeviceArray,
    HostCopy,
    Stream,
)
from qiskit_cupy.runtime.draws import counter_after, trajectory_draws
from qiskit_cupy.runtime.memory import trajectory_chunk_bits
from qiskit_cupy.runtime.saved_data import SavePoint
from qiskit_cupy.runtime.steps import enqueue_gates

#: Most bytes of states one chunk of shots may hold (a quarter of free memory at most).
MAX_CHUNK_BYTES = 1 << 31

#: Most amplitudes of one chunk of a circuit that draws noise (at least MIN_NOISY_CHUNK
#: shots): small chunks skip more of the noise no row draws, large ones launch less often.
NOISY_CHUNK_AMPLITUDES = 1 << 21
MIN_NOISY_CHUNK = 8


@dataclass
class ChunkRecord:
    """What one chunk of shots leaves for the result, filled as the stream runs.

    Attributes:
        shot_numbers: The chunk's shots, ascending.
        shot_states: For each shot, the index of its branch in the final batch.
        rows: Host copy of the final rows, one per branch.
        outcomes: Host copy of each shot's final outcome (trailing measurements), if any.
        num_states: The most branches the chunk held at once.
        saves: What the chunk kept at each save instruction, in program order.
    """

    shot_numbers: np.ndarray
    shot_states: np.ndarray
    rows: HostCopy
    outcomes: HostCopy | None
    num_states: int
    saves: list[SavePoint]


@dataclass
class _Branches:
    """A chunk's batch while it is enqueued; owned by the enqueuing thread.

    ``uniform_counter`` is every row's draw counter, while all rows' agree and the host
    knows it (one shot per row, every draw so far taken by every row), else None;
    ``lagging_draws`` are draws the host took for every row (noise it skipped) that the
    rows on the device have not counted yet; ``pending_ops`` are unconditional gate ops
    waiting to be enqueued as one fused run.
    """

    states: DeviceArray
    num_qubits: int
    rows: ClassicalRows
    shot_numbers: np.ndarray
    shot_states: np.ndarray
    count: int
    most: int = 0
    saves: list[SavePoint] = field(default_factory=list)
    uniform_counter: int | None = None
    lagging_draws: int = 0
    pending_ops: list[GateOp] = field(default_factory=list)

    @property
    def live(self) -> DeviceArray:
        """The branches' states: the first ``count`` of the chunk's room."""
        return self.states[: self.count << self.num_qubits]

    @property
    def one_shot_each(self) -> bool:
        return self.count == len(self.shot_numbers)


@dataclass
class TrajectoryEngine:
    """Enqueues a dynamic circuit's shots on one stream of a device.

    Attributes:
        device: Where to run.
        stream: The experiment's stream.
        program: The lowered circuit.
        precision: ``"double"`` or ``"single"``.
        fuser: Fuses each gate run.
        seed: The experiment's seed.
        branching: Start each chunk as one branch (shot branching) instead of one
            state per shot.
        pricing: The roofline fusion prices with (``StepContext.pricing``).
        num_ops: Gate ops enqueued so far, after fusion (summed over chunks).
        num_passes: Passes over the states those ops make (summed over chunks).
    """

    device: Device
    stream: Stream
    program: DynamicCircuit
    precision: str
    fuser: Fuser
    seed: int
    branching: bool
    pricing: Roofline | None = None
    num_ops: int = 0
    num_passes: int = 0
    records: list[ChunkRecord] = field(default_factory=list)

    def run(self, shots: int, first_shot: int = 0) -> list[ChunkRecord]:
        """Enqueue shots ``first_shot`` to ``first_shot + shots - 1``, chunk by chunk;
        return the chunks' records."""
        size = self.chunk_size(shots)
        stop = first_shot + shots
        for first in range(first_shot, stop, size):
            self.records.append(self._run_chunk(np.arange(first, min(stop, first + size))))
        return self.records

    def chunk_size(self, shots: int) -> int:
        """Shots per chunk: as many states as fit in a quarter of free memory; for a
        circuit that draws noise at most NOISY_CHUNK_AMPLITUDES' worth, so that the noise
        no row of a chunk draws is skipped more often (and the gates around it fuse)."""
        state_bytes = np.dtype(COMPLEX_DTYPES[self.precision]).itemsize << self.program.num_qubits
        budget = min(MAX_CHUNK_BYTES, self.device.free_memory() // 4)
        noisy_most = max(MIN_NOISY_CHUNK, NOISY_CHUNK_AMPLITUDES >> self.program.num_qubits)
        most = noisy_most if self.program.draws_noise else shots
        return int(max(1, min(shots, most, budget // state_bytes)))

    @property
    def shares_states(self) -> bool:
        """Whether shots start as one branch: with ``branching``, unless the circuit draws
        noise (each trajectory draws its own)."""
        return self.branching and not self.program.draws_noise

    def _run_chunk(self, shot_numbers: np.ndarray) -> ChunkRecord:
        device, stream, n = self.device, self.stream, self.program.num_qubits
        branching = self.shares_states
        count = 1 if branching else len(shot_numbers)
        host_rows = np.zeros((count, self.program.row_width), dtype=np.int64)
        host_rows[:, SHOT_SLOT] = shot_numbers[0] if branching else shot_numbers
        host_rows[:, SEED_SLOT] = np.uint64(self.seed).astype(np.int64)
        # Room for one state per shot: branches are appended as measurements split them.
        states = device.allocate_states(stream, len(shot_numbers) << n, self.precision)
        device.set_zero_state(stream, states[: count << n], n, count)
        branches = _Branches(
            states=states,
            num_qubits=n,
            rows=ClassicalRows(device.upload(stream, host_rows.reshape(-1)), self.program.row_width),
            shot_numbers=shot_numbers,
            shot_states=np.zeros(len(shot_numbers), dtype=np.int64)
            if branching
            else np.arange(len(shot_numbers), dtype=np.int64),
            count=count,
            most=count,
            uniform_counter=None if branching else 0,
        )
        self._run_nodes(branches, self.program.nodes)
        outcomes = self._sample_final(branches)
        return ChunkRecord(
            shot_numbers=shot_numbers,
            shot_states=branches.shot_states,
            rows=device.copy_to_host(stream, branches.rows.rows),
            outcomes=outcomes,
            num_states=branches.most,
            saves=branches.saves,
        )

    def _run_nodes(self, branches: _Branches, nodes: tuple[DynamicNode, ...] | list[DynamicNode]) -> None:
        """Enqueue nodes in order. Unconditional gate ops are gathered into one fused run
        until other work needs the states; a noise draw that the host finds no row of
        the chunk takes a branch of is skipped (its draw counted later), so the gates
        around it fuse as one."""
        for node in nodes:
            if isinstance(node, Gates) and node.mask == EVERY_STATE:
                branches.pending_ops.extend(node.ops)
                continue
            if (
                isinstance(node, NoiseDraw)
                and node.mask == EVERY_STATE
                and branches.uniform_counter is not None
                and not self._any_row_draws_work(branches, node)
            ):
                branches.uniform_counter += 1
                branches.lagging_draws += 1
                continue
            self._settle(branches)
            self._run_node(branches, node)
            branches.uniform_counter = counter_after(branches.uniform_counter, node)
        self._settle(branches)

    def _run_node(self, branches: _Branches, node: DynamicNode) -> None:
        if isinstance(node, Gates):
            self._enqueue_gates(branches, node.ops, node.mask)
        elif isinstance(node, Collapse):
            self._collapse(branches, node)
        elif isinstance(node, KrausChoice):
            self._choose_kraus(branches, node)
        elif isinstance(node, NoiseDraw):
            self.device.run_classical(self.stream, branches.rows, node.draw.code, node.mask)
            counter = branches.uniform_counter
            branches.uniform_counter = None if counter is None or node.mask != EVERY_STATE else counter + 1
            self._run_nodes(branches, node.body)
        elif isinstance(node, Classical):
            self.device.run_classical(self.stream, branches.rows, node.code.code, node.mask)
        elif isinstance(node, Save):
            self._save(branches, node)
        elif isinstance(node, WhileLoop):
            self._while(branches, node)

    def _enqueue_gates(self, branches: _Branches, ops: Sequence[GateOp], mask: int) -> None:
        enqueued = enqueue_gates(
            self.device,
            self.stream,
            branches.live,
            self.program.num_qubits,
            branches.count,
            self.precision,
            self.fuser,
            ops,
            fuse=True,
            condition=None if mask == EVERY_STATE else (branches.rows, mask),
            pricing=self.pricing,
        )
        self.num_ops += enqueued.ops
        self.num_passes += enqueued.passes

    def _settle(self, branches: _Branches) -> None:
        """Enqueue the gathered gate ops, and count the skipped draws on the device rows."""
        if branches.pending_ops:
            ops, branches.pending_ops = branches.pending_ops, []
            self._enqueue_gates(branches, ops, EVERY_STATE)
        if branches.lagging_draws:
            count, branches.lagging_draws = branches.lagging_draws, 0
            self.device.run_classical(self.stream, branches.rows, skip_draws(count).code, EVERY_STATE)

    def _any_row_draws_work(self, branches: _Branches, node: NoiseDraw) -> bool:
        """Whether any row draws a branch that does something: the device's draw, on the
        host (the rows' counters all equal ``uniform_counter``)."""
        counters = np.full(len(branches.shot_numbers), branches.uniform_counter, dtype=np.uint64)
        bits = trajectory_draws(self.seed, branches.shot_numbers, counters) * float(1 << DRAW_BITS)
        indices = (bits[:, None] >= node.thresholds[None, :].astype(np.float64)).sum(axis=1)
        return bool(np.isin(indices, list(node.branches)).any())

    def _save(self, branches: _Branches, node: Save) -> None:
        """Keep host copies of what the save needs: each branch's marginal distribution
        or Pauli expectations (reduced on the device) or state, the rows, and which
        branch each shot is in."""
        device, stream, n = self.device, self.stream, self.program.num_qubits
        request = node.request
        if request.kind in PROBABILITY_KINDS:
            data = device.marginal_probabilities(
                stream,
                branches.live,
                n,
                branches.count,
                request.qubits,
                trajectory_chunk_bits(n, len(request.qubits)),
            )
        elif request.kind in EXPECTATION_KINDS:
            pieces = request.pieces()
            data = device.expectation_pieces(
                stream,
                branches.live,
                n,
                branches.count,
                pieces.passes,
                pieces.pieces,
                trajectory_chunk_bits(n, 0),
            )
        else:
            data = branches.live
        branches.saves.append(
            SavePoint(
                request,
                device.copy_to_host(stream, data),
                device.copy_to_host(stream, branches.rows.rows),
                branches.shot_states.copy(),
            )
        )

    def _choose_kraus(self, branches: _Branches, node: KrausChoice) -> None:
        """Each active state's <K_i^dagger K_i>, reduced on the device, then its draw of
        an operator and its rescaling."""
        device, stream, n = self.device, self.stream, self.program.num_qubits
        pieces = device.expectation_pieces(
            stream,
            branches.live,
            n,
            branches.count,
            node.pieces.passes,
            node.pieces.pieces,
            trajectory_chunk_bits(n, 0),
        )
        device.choose_kraus(
            stream,
            branches.live,
            n,
            branches.count,
            branches.rows,
            pieces,
            node.coefficients,
            node.index_slot,
            node.mask,
        )

    def _host_rows(self, branches: _Branches, *arrays: DeviceArray) -> list[np.ndarray]:
        """Wait for the stream, then return host copies of the rows and of ``arrays``.

        Raises:
            Exception: The work before the wait failed on the device (its error).
        """
        copies = [self.device.copy_to_host(self.stream, branches.rows.rows)]
        copies += [self.device.copy_to_host(self.stream, array) for array in arrays]
        event = self.device.record_event(self.stream)
        event.synchronize()
        if event.error is not None:
            raise event.error
        return [copy.array for copy in copies]

    def _while(self, branches: _Branches, loop: WhileLoop) -> None:
        width = self.program.row_width
        while True:
            self.device.run_classical(self.stream, branches.rows, loop.step.code, EVERY_STATE)
            (rows,) = self._host_rows(branches)
            if not rows.reshape(-1, width)[:, loop.iteration].any():
                return
            self._run_nodes(branches, loop.body)

    def _collapse(self, branches: _Branches, node: Collapse) -> None:
        device, stream, n = self.device, self.stream, self.program.num_qubits
        probabilities = device.marginal_probabilities(
            stream, branches.live, n, branches.count, (node.qubit,), trajectory_chunk_bits(n, 1)
        )
        if not branches.one_shot_each:
            probabilities = self._branch(branches, node, probabilities)
        else:
            device.decide_outcomes(
                stream, branches.rows, probabilities, self.seed, node.clbit_slot, node.mask
            )
        device.collapse(
            stream,
            branches.live,
            n,
            branches.count,
            node.qubit,
            probabilities,
            branches.rows,
            node.reset,
            node.mask,
        )

    def _branch(self, branches: _Branches, node: Collapse, probabilities: DeviceArray) -> DeviceArray:
        """Draw every shot's outcome on the host and split the branches by outcome.

        A branch whose shots all draw the same outcome stays where it is; one whose
        shots draw both keeps outcome 0 in place and gets a copy, appended after the
        batch, for outcome 1.

        Returns:
            The (p0, p1) of each branch of the new batch, on the device, for its collapse.
        """
        width, count = self.program.row_width, branches.count
        flat_rows, weights = self._host_rows(branches, probabilities)
        rows = flat_rows.reshape(-1, width)
        weights = weights.reshape(-1, 2)
        active = np.ones(count, dtype=bool) if node.mask == EVERY_STATE else rows[:, node.mask] != 0
        owner = branches.shot_states
        draws = trajectory_draws(self.seed, branches.shot_numbers, rows[owner, COUNTER_SLOT])
        p0, p1 = weights[owner, 0], weights[owner, 1]
        outcome = np.where(active[owner], (draws * (p0 + p1) >= p0).astype(np.int64), -1)
        has = [np.bincount(owner[outcome == value], minlength=count) > 0 for value in (0, 1)]
        kept = np.where(has[0], 0, np.where(has[1], 1, -1))
        split = np.flatnonzero(has[0] & has[1])
        slot_of_copy = np.full(count, -1, dtype=np.int64)
        slot_of_copy[split] = count + np.arange(len(split))
        new_owner = np.where((outcome == 1) & (kept[owner] == 0), slot_of_copy[owner], owner)
        sources = np.concatenate([np.arange(count), split])
        outcomes = np.concatenate([kept, np.ones(len(split), dtype=np.int64)])
        new_rows = rows[sources].copy()
        taken = outcomes >= 0
        new_rows[taken, COUNTER_SLOT] += 1
        new_rows[taken, OUTCOME_SLOT] = outcomes[taken]
        if node.clbit_slot >= 0:
            new_rows[taken, node.clbit_slot] = outcomes[taken]
        first_shot = np.full(len(sources), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_shot, new_owner, branches.shot_numbers)
        new_rows[:, SHOT_SLOT] = first_shot
        if len(split):
            self.device.append_states(self.stream, branches.states, self.program.num_qubits, count, split)
        branches.count = len(sources)
        branches.most = max(branches.most, branches.count)
        branches.shot_states = new_owner
        branches.rows = ClassicalRows(self.device.upload(self.stream, new_rows.reshape(-1)), width)
        return self.device.upload(self.stream, weights[sources])

    def _sample_final(self, branches: _Branches) -> HostCopy | None:
        """Draw every shot's outcome of the trailing measurements from its branch."""
        qubits = self.program.final_qubits
        if not qubits:
            return None
        n = self.program.num_qubits
        distribution = self.device.marginal_probabilities(
            self.stream, branches.live, n, branches.count, qubits, trajectory_chunk_bits(n, len(qubits))
        )
        cumulative = self.device.cumulative_sum(self.stream, distribution)
        outcomes = self.device.sample_shots(
            self.stream,
            cumulative,
            len(qubits),
            branches.shot_states,
            branches.shot_numbers,
            branches.rows,
            self.seed,
            self.precision,
        )
        return self.device.copy_to_host(self.stream, outcomes)

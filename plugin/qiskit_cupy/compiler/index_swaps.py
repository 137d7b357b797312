"""Index-bit swaps: high qubits brought below a device's block width where that is cheaper.

A device that applies runs of ops block by block (the CPU in its cache, the GPU in
shared memory) can only block an op whose qubits all lie below its block width; an op
on a high qubit makes a pass over memory of its own and splits the run around it. A
SWAP of the high qubit with a low one (one pass that only moves amplitudes) relabels
the state's index bits: the ops that follow act on the qubit at its new position and
join blocked runs, until a later swap or the end of the run, where the qubits are
swapped back so that every later step sees the circuit's own layout. This is the
index-bit permutation of Doi and Horii (IEEE QCE 2020) and of cuStateVec, with SWAP
ops that both devices already run.

For each op that does not fit a block, the planner prices the ops that follow (up to
LOOKAHEAD_OPS of them) under two layouts, the current one and one with the op's high
qubits swapped for the low qubits needed furthest in the future, each with the swaps
that restore the layout at the end: a blocked run costs one pass over memory plus each
op's cost inside a block, any other op one pass of its own (``Roofline``). It swaps
only where that makes both fewer passes and fewer modeled seconds: swaps exist to save
passes, and a model that prices ops in a block apart from ops alone must not trade
passes for its own error between the two. Plans depend only on the ops' structure and are cached like fusion
plans. Swaps move amplitudes without arithmetic and the ops keep their matrices, so
results are those of the unswapped program.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from qiskit_cupy.compiler.cache import BoundedCache
from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.compiler.ops import SWAP_PERMUTATION, GateOp, OpKind

#: Ops after an unfitting one that its decision looks at.
LOOKAHEAD_OPS = 512

#: Plans kept in the cache.
_CACHE_SIZE = 256

_DIAGONAL_KINDS = (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL)


def swap_op(first: int, second: int) -> GateOp:
    """The SWAP of two qubits, as a permutation op (no arithmetic on the amplitudes)."""
    return GateOp(OpKind.PERMUTATION, (first, second), np.ones(4, dtype=complex), (), 0, SWAP_PERMUTATION)


@dataclass(frozen=True)
class _Shape:
    """What pricing needs of an op: its kind, sizes and qubits."""

    kind: OpKind
    num_targets: int
    num_controls: int
    qubits: tuple[int, ...]


def _shape(op: GateOp) -> _Shape:
    return _Shape(op.kind, len(op.targets), len(op.controls), op.qubits)


_SWAP_SHAPE = _Shape(OpKind.PERMUTATION, 2, 0, ())


#: One step of a plan: (index of an op, the positions of its qubits), or (None, (a, b))
#: for a SWAP of positions a and b.
PlanStep = tuple[int | None, tuple[int, ...]]


class _Pricer:
    """Seconds of op sequences on one device, state width and precision."""

    def __init__(self, num_qubits: int, roofline: Roofline, itemsize: int) -> None:
        self.num_qubits = num_qubits
        self.roofline = roofline
        self.itemsize = itemsize
        self.block_bits = roofline.block_bits
        amplitudes = float(2**num_qubits)
        self.pass_seconds = roofline.launch_seconds + 2.0 * itemsize * amplitudes / roofline.bandwidth
        self.swap_seconds = self.alone(_SWAP_SHAPE)

    def alone(self, shape: _Shape) -> float:
        """An op run by itself, one pass over the state."""
        return self.roofline.op_seconds(
            self.num_qubits, shape.kind, shape.num_targets, shape.num_controls, self.itemsize
        )

    def in_block(self, shape: _Shape) -> float:
        """An op inside a blocked run."""
        return self.roofline.in_block_seconds(
            self.num_qubits, shape.kind, shape.num_targets, shape.num_controls
        )

    def sequence(self, steps: Sequence[tuple[_Shape, int]]) -> tuple[int, float]:
        """Passes over memory and seconds of (shape, highest position) steps, grouped
        as the devices group them."""
        passes, total = 0, 0.0
        run: list[_Shape] = []
        for shape, highest in [*steps, (_SWAP_SHAPE, self.num_qubits)]:
            if highest < self.block_bits:
                run.append(shape)
                continue
            if len(run) == 1:
                total += self.alone(run[0])
            elif run:
                total += self.pass_seconds + sum(self.in_block(member) for member in run)
            passes += bool(run)
            run = []
            if highest < self.num_qubits:
                passes += 1
                total += self.alone(shape)
        return passes, total


def _restore_swaps(position: list[int]) -> list[tuple[int, int]]:
    """Swaps (of positions) that take each qubit q back to position q."""
    position = list(position)
    holder = [0] * len(position)
    for qubit, where in enumerate(position):
        holder[where] = qubit
    swaps = []
    for qubit in range(len(position)):
        where = position[qubit]
        if where != qubit:
            other = holder[qubit]
            swaps.append((qubit, where))
            position[qubit], position[other] = qubit, where
            holder[qubit], holder[where] = qubit, other
    return swaps


def _highest(shape: _Shape, position: list[int], num_qubits: int) -> int:
    """The highest position an op touches; a WIDE_DENSE op never joins a blocked run."""
    if shape.kind is OpKind.WIDE_DENSE:
        return num_qubits - 1
    return max((position[q] for q in shape.qubits), default=-1)


def _window_cost(
    pricer: _Pricer, shapes: Sequence[_Shape], position: list[int], swaps: int
) -> tuple[int, float]:
    """Passes and seconds of ``swaps`` swaps, then ``shapes`` under ``position``, then the
    restore."""
    steps = [(_SWAP_SHAPE, pricer.num_qubits - 1)] * swaps
    steps += [(shape, _highest(shape, position, pricer.num_qubits)) for shape in shapes]
    steps += [(_SWAP_SHAPE, max(pair)) for pair in _restore_swaps(position)]
    return pricer.sequence(steps)


def _victims(
    shapes: Sequence[_Shape], first: int, needed: int, position: list[int], block_bits: int
) -> list[int]:
    """The low qubits, not used by op ``first``, needed furthest in the future (Belady)."""
    busy = set(shapes[first].qubits)
    horizon = shapes[first + 1 : first + 1 + LOOKAHEAD_OPS]
    next_use: dict[int, int] = {}
    for distance, shape in enumerate(horizon):
        for qubit in shape.qubits:
            next_use.setdefault(qubit, distance)
    low = [q for q in range(len(position)) if position[q] < block_bits and q not in busy]
    low.sort(key=lambda q: (-next_use.get(q, len(horizon)), -position[q]))
    return low[:needed]


def plan_swaps(shapes: Sequence[_Shape], pricer: _Pricer) -> list[PlanStep]:
    """The steps of the cheaper layout at each op that does not fit a block."""
    num_qubits, bits = pricer.num_qubits, pricer.block_bits
    position = list(range(num_qubits))
    steps: list[PlanStep] = []
    for index, shape in enumerate(shapes):
        high = [q for q in shape.qubits if position[q] >= bits]
        victims = _victims(shapes, index, len(high), position, bits) if high else []
        if high and len(victims) == len(high):
            window = shapes[index : index + 1 + LOOKAHEAD_OPS]
            swapped = list(position)
            for qubit, victim in zip(high, victims):
                swapped[qubit], swapped[victim] = position[victim], position[qubit]
            stay_passes, stay_seconds = _window_cost(pricer, window, position, 0)
            passes, seconds = _window_cost(pricer, window, swapped, len(high))
            if passes < stay_passes and seconds < stay_seconds:
                for qubit, victim in zip(high, victims):
                    steps.append((None, (position[qubit], position[victim])))
                position = swapped
        steps.append((index, tuple(position[q] for q in shape.qubits)))
    steps.extend((None, pair) for pair in _restore_swaps(position))
    return steps


def _relabelled(op: GateOp, positions: tuple[int, ...]) -> GateOp:
    """``op`` on the qubits at ``positions`` (controls first, then targets)."""
    controls = positions[: len(op.controls)]
    targets = positions[len(op.controls) :]
    if op.kind not in _DIAGONAL_KINDS or list(targets) == sorted(targets):
        return replace(op, targets=targets, controls=controls)
    # A diagonal's targets stay ascending: entry bits follow the targets' new order.
    order = np.argsort(targets)
    entries = np.arange(1 << len(targets))
    old = np.zeros_like(entries)
    for new_bit, old_bit in enumerate(order):
        old |= ((entries >> new_bit) & 1) << int(old_bit)
    return replace(
        op,
        targets=tuple(sorted(targets)),
        controls=controls,
        data=op.data[..., old],
        source=None if op.source is None else op.source[..., old],
    )


class IndexSwapper:
    """Places a device's runs of ops in its blocks, with cached plans; safe to share.

    The plan of a sequence depends on the ops' kinds and qubits, the state width and
    the device's roofline, so re-running a circuit or rebinding its parameters does not
    re-plan.
    """

    def __init__(self) -> None:
        self._plans: BoundedCache[tuple[object, ...], list[PlanStep]] = BoundedCache(_CACHE_SIZE)

    def place(
        self, ops: Sequence[GateOp], num_qubits: int, roofline: Roofline, itemsize: int
    ) -> list[GateOp]:
        """Return ``ops`` with index-bit swaps where the roofline says they pay.

        Args:
            ops: A run of ops with shared data (no per-state batch axis), in order.
            num_qubits: Width of the state.
            roofline: The device's costs; nothing changes where its ``block_bits`` is 0
                or not below ``num_qubits``.
            itemsize: Bytes per amplitude.

        Returns:
            The ops, relabelled, with SWAP ops between them; the layout at the end is
            the one at the start.
        """
        if not 0 < roofline.block_bits < num_qubits or len(ops) < 2:
            return list(ops)
        shapes = tuple(_shape(op) for op in ops)
        key = (shapes, num_qubits, roofline, itemsize)
        steps = self._plans.get(key, lambda: plan_swaps(shapes, _Pricer(num_qubits, roofline, itemsize)))
        placed = []
        for index, positions in steps:
            if index is None:
                placed.append(swap_op(*positions))
            else:
                op = ops[index]
                placed.append(op if positions == op.qubits else _relabelled(op, positions))
        return placed

    @property
    def cached_plans(self) -> int:
        """How many plans the cache holds."""
        return len(self._plans)

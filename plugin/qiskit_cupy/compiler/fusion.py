"""Gate fusion: consecutive ops merged into dense or diagonal blocks, sized by a cost model.

The fuser walks the ops once per candidate block size k (1..fusion_max_qubits). An op
joins a block that already holds work on its qubits, or a later block with room, when
the block's qubits stay within k (dense) or within MAX_DIAGONAL_BLOCK_QUBITS when the
block and the op are both diagonal: diagonal runs stay diagonal, whatever qubits they
span. Each candidate plan is priced with the device's roofline (seconds per op =
launch + max(bytes moved / bandwidth, flops / flop rate), or, for a dense op on a device
whose op costs were measured, launch + amplitudes x its measured cost per amplitude);
the cheapest plan wins.
Plans depend only on the ops' structure (kinds and qubits, not matrix values), so they
are cached: re-running a circuit or rebinding its parameters does not re-plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit.quantum_info import Operator

from qiskit_cupy.compiler.cache import BoundedCache
from qiskit_cupy.compiler.ops import GateOp, OpKind, diagonal_ops, ops_from_matrix

#: Largest number of qubits a fused diagonal block may span.
MAX_DIAGONAL_BLOCK_QUBITS = 12

#: How many of the most recent blocks an op may join besides the last one on its qubits.
_SEARCH_WINDOW = 8

#: Plans kept in the cache.
_CACHE_SIZE = 512

_DIAGONAL_KINDS = (OpKind.DIAGONAL, OpKind.WIDE_DIAGONAL)


@dataclass(frozen=True)
class Roofline:
    """A device's speed limits, for pricing ops.

    Attributes:
        bandwidth: Bytes per second the device moves through memory.
        flop_rate: Floating-point operations per second the kernels reach.
        launch_seconds: Fixed cost of one op (a kernel launch, a parallel region).
        dense_seconds: Measured seconds per touched amplitude of a dense op with 1, 2,
            ... targets (``devices/calibration.py``); a dense op of a measured size costs
            that instead of the roofline's larger of bytes and flops. Empty where the
            device was not measured.
        block_bits: Width of the blocks the device applies runs of low ops in, one pass
            over memory per run (0: the device does not block).
        blocked_seconds: Measured seconds per amplitude of an op inside such a block, in
            the core's cache: a diagonal op, then dense ops of 1, 2, ... targets.
    """

    bandwidth: float
    flop_rate: float
    launch_seconds: float
    dense_seconds: tuple[float, ...] = ()
    block_bits: int = 0
    blocked_seconds: tuple[float, ...] = ()

    def op_seconds(
        self,
        num_qubits: int,
        kind: OpKind,
        num_targets: int,
        num_controls: int,
        itemsize: int,
        top_qubit: int | None = None,
    ) -> float:
        """Model the time of one op on a state of ``num_qubits`` qubits.

        Args:
            num_qubits: Width of the state.
            kind: The op's kind.
            num_targets: Its targets.
            num_controls: Its controls (only the matching amplitudes are touched).
            itemsize: Bytes per amplitude.
            top_qubit: The highest qubit the op touches, where known: an op below the
                device's block width runs in the cache, in a blocked run.

        Returns:
            Modeled seconds.
        """
        amplitudes = float(2 ** max(num_qubits - num_controls, 0))
        blocked = top_qubit is not None and top_qubit < self.block_bits < num_qubits
        if blocked and self._measured_in_block(kind, num_targets):
            return self.in_block_seconds(num_qubits, kind, num_targets, num_controls)
        if kind is OpKind.DENSE and 1 <= num_targets <= len(self.dense_seconds):
            return self.launch_seconds + amplitudes * self.dense_seconds[num_targets - 1]
        seconds = max(
            2.0 * itemsize * amplitudes / self.bandwidth,
            _flops_per_amplitude(kind, num_targets) * amplitudes / self.flop_rate,
        )
        return self.launch_seconds + seconds

    def in_block_seconds(self, num_qubits: int, kind: OpKind, num_targets: int, num_controls: int) -> float:
        """Model the time of one op inside a blocked run, the block in cache.

        Args:
            num_qubits: Width of the state.
            kind: The op's kind.
            num_targets: Its targets.
            num_controls: Its controls.

        Returns:
            The measured in-cache cost where the device measured the kind and size (a
            diagonal, or a dense op of a measured size), else the op's arithmetic at the
            flop rate: in a block, no op moves the state through memory by itself.
        """
        amplitudes = float(2 ** max(num_qubits - num_controls, 0))
        if not self._measured_in_block(kind, num_targets):
            return _flops_per_amplitude(kind, num_targets) * amplitudes / self.flop_rate
        return amplitudes * self.blocked_seconds[0 if kind in _DIAGONAL_KINDS else num_targets]

    def _measured_in_block(self, kind: OpKind, num_targets: int) -> bool:
        """Whether the device measured this kind and size inside a block."""
        if kind in _DIAGONAL_KINDS:
            return bool(self.blocked_seconds)
        return kind is OpKind.DENSE and 1 <= num_targets < len(self.blocked_seconds)


def _flops_per_amplitude(kind: OpKind, num_targets: int) -> float:
    """Floating-point operations an op spends per amplitude it touches."""
    if kind is OpKind.DENSE:
        return 8.0 * (1 << num_targets)
    if kind in _DIAGONAL_KINDS:
        return 6.0 + 2.0 * num_targets
    return 6.0


@dataclass(frozen=True)
class FusionSettings:
    """Aer's fusion options.

    Attributes:
        enable: Fuse at all (``fusion_enable``).
        max_qubits: Largest dense block (``fusion_max_qubits``).
        threshold: Fuse only circuits of at least this many qubits (``fusion_threshold``).
    """

    enable: bool = True
    max_qubits: int = 5
    threshold: int = 14


@dataclass
class _Block:
    qubits: set[int]
    members: list[int] = field(default_factory=list)
    diagonal: bool = True


def _structure(ops: Sequence[GateOp]) -> tuple[tuple[OpKind, tuple[int, ...], tuple[int, ...], int], ...]:
    return tuple((op.kind, op.targets, op.controls, op.control_values) for op in ops)


def _plan(ops: Sequence[GateOp], max_dense: int) -> list[_Block]:
    """Group ops into blocks; an op joins the best block it may legally join."""
    blocks: list[_Block] = []
    last_block: dict[int, int] = {}
    for index, op in enumerate(ops):
        qubits = set(op.qubits)
        diagonal = op.kind in _DIAGONAL_KINDS
        earliest = max((last_block[q] for q in qubits if q in last_block), default=-1)
        window = range(max(earliest, len(blocks) - _SEARCH_WINDOW, 0), len(blocks))
        positions = sorted(set(window) | ({earliest} if earliest >= 0 else set()))
        chosen, smallest = None, None
        for position in positions:
            block = blocks[position]
            union = len(block.qubits | qubits)
            allowed = union <= max_dense or (
                diagonal and block.diagonal and union <= MAX_DIAGONAL_BLOCK_QUBITS
            )
            if allowed and (smallest is None or union <= smallest):
                chosen, smallest = position, union
        if chosen is None:
            blocks.append(_Block(set(qubits), [index], diagonal))
            chosen = len(blocks) - 1
        else:
            block = blocks[chosen]
            block.qubits |= qubits
            block.members.append(index)
            block.diagonal = block.diagonal and diagonal
        for qubit in qubits:
            last_block[qubit] = chosen
    return blocks


def _plan_seconds(
    ops: Sequence[GateOp], blocks: list[_Block], num_qubits: int, roofline: Roofline, itemsize: int
) -> float:
    total = 0.0
    for block in blocks:
        top = max(block.qubits)
        if len(block.members) == 1:
            op = ops[block.members[0]]
            total += roofline.op_seconds(
                num_qubits, op.kind, len(op.targets), len(op.controls), itemsize, top
            )
        elif block.diagonal:
            total += roofline.op_seconds(
                num_qubits, OpKind.WIDE_DIAGONAL, len(block.qubits), 0, itemsize, top
            )
        else:
            total += roofline.op_seconds(num_qubits, OpKind.DENSE, len(block.qubits), 0, itemsize, top)
    return total


def _controlled_matrix(op: GateOp) -> tuple[np.ndarray, tuple[int, ...]]:
    """The op's full matrix on (targets..., controls...), little-endian."""
    matrix = op.dense_matrix()
    if not op.controls:
        return matrix, op.targets
    size = 1 << len(op.targets)
    full = np.eye(size << len(op.controls), dtype=complex)
    start = op.control_values * size
    full[start : start + size, start : start + size] = matrix
    return full, op.targets + op.controls


def _dense_block(ops: Sequence[GateOp], members: list[int], qubits: tuple[int, ...]) -> list[GateOp]:
    position = {qubit: index for index, qubit in enumerate(qubits)}
    block = Operator(np.eye(1 << len(qubits), dtype=complex))
    for member in members:
        matrix, op_qubits = _controlled_matrix(ops[member])
        block = block.compose(Operator(matrix), qargs=[position[q] for q in op_qubits])
    return ops_from_matrix(block.data, qubits, name="fused block")


def _diagonal_block(ops: Sequence[GateOp], members: list[int], qubits: tuple[int, ...]) -> list[GateOp]:
    position = {qubit: index for index, qubit in enumerate(qubits)}
    indices = np.arange(1 << len(qubits))
    diagonal = np.ones(len(indices), dtype=complex)
    for member in members:
        op = ops[member]
        selected = np.ones(len(indices), dtype=bool)
        for bit, control in enumerate(op.controls):
            wanted = (op.control_values >> bit) & 1
            selected &= ((indices >> position[control]) & 1) == wanted
        entry = np.zeros(len(indices), dtype=np.int64)
        for bit, target in enumerate(op.targets):
            entry |= ((indices >> position[target]) & 1) << bit
        diagonal[selected] *= op.data[entry[selected]]
    return diagonal_ops(diagonal, qubits)


class Fuser:
    """Fuses programs, caching plans by structure; safe to share between threads.

    Args:
        settings: The fusion options.
    """

    def __init__(self, settings: FusionSettings) -> None:
        self.settings = settings
        self._plans: BoundedCache[tuple[object, ...], list[_Block]] = BoundedCache(_CACHE_SIZE)

    def fuse(self, ops: Sequence[GateOp], num_qubits: int, roofline: Roofline, itemsize: int) -> list[GateOp]:
        """Return ops that apply the same operator as ``ops``, in fewer, modeled-cheaper passes.

        Args:
            ops: The program's ops, in order.
            num_qubits: Width of the state.
            roofline: The device's limits, for pricing.
            itemsize: Bytes per amplitude.

        Returns:
            The fused ops (``ops`` itself when fusion is off or the circuit is narrower
            than the threshold).
        """
        if not self.settings.enable or num_qubits < self.settings.threshold or len(ops) < 2:
            return list(ops)
        key = (_structure(ops), num_qubits, roofline, itemsize)
        blocks = self._plans.get(key, lambda: self._cheapest_plan(ops, num_qubits, roofline, itemsize))
        return self._build(ops, blocks)

    def _cheapest_plan(
        self, ops: Sequence[GateOp], num_qubits: int, roofline: Roofline, itemsize: int
    ) -> list[_Block]:
        candidates = [_plan(ops, size) for size in range(1, self.settings.max_qubits + 1)]
        return min(candidates, key=lambda blocks: _plan_seconds(ops, blocks, num_qubits, roofline, itemsize))

    @staticmethod
    def _build(ops: Sequence[GateOp], blocks: list[_Block]) -> list[GateOp]:
        fused: list[GateOp] = []
        for block in blocks:
            if len(block.members) == 1:
                fused.append(ops[block.members[0]])
                continue
            qubits = tuple(sorted(block.qubits))
            build = _diagonal_block if block.diagonal else _dense_block
            fused.extend(build(ops, block.members, qubits))
        return fused

    @property
    def cached_plans(self) -> int:
        """How many plans the cache holds."""
        return len(self._plans)

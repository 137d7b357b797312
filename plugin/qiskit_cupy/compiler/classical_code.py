"""The device's classical stack machine, as Python sees it: opcodes, code, slots.

Every trajectory (or branch) of a dynamic circuit carries its classical state in one
row of int64 slots: the circuit's clbits, its standalone real-time variables and the
scratch slots (masks) of the control-flow lowering. :class:`SlotMap` assigns them
(after the fixed slots at the front of every row); :class:`ClassicalCode` holds a
program for the stack machine of ``kernels/include/classical.cuh`` (``run_classical``):
an int64 array of (opcode, operand) pairs that the device runs on one row per
trajectory.

The header is the single definition of the machine: the opcode values and slot
constants are read from its text. Python knows only each opcode's name and its stack
effect (values popped, values pushed), so that :class:`ClassicalCode` can check how deep
a program's stack grows before the device ever runs it. ``classical.py`` compiles
Qiskit's classical expressions into such code.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from qiskit.circuit import Clbit
from qiskit.circuit.classical import expr

from qiskit_cupy.compiler.op_registry import read_constants
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError
from qiskit_cupy.kernel_files import read_kernel_file

#: Mask slot that stands for "every state": work outside any classical condition.
EVERY_STATE = -1

#: The header this module reads.
CLASSICAL_HEADER = "include/classical.cuh"

_CONSTANTS = read_constants(read_kernel_file(CLASSICAL_HEADER))

#: Slot of the measurements a trajectory has drawn so far.
COUNTER_SLOT: int = _CONSTANTS["kCounterSlot"]
#: Slot of the shot number that keys a trajectory's draws.
SHOT_SLOT: int = _CONSTANTS["kShotSlot"]
#: Slot of the latest measurement's outcome.
OUTCOME_SLOT: int = _CONSTANTS["kOutcomeSlot"]
#: Slot of the experiment's seed, which keys every draw with the shot number.
SEED_SLOT: int = _CONSTANTS["kSeedSlot"]
#: The first slot a :class:`SlotMap` assigns.
FIRST_FREE_SLOT: int = _CONSTANTS["kFirstFreeSlot"]
#: The deepest stack a program may use.
STACK_DEPTH: int = _CONSTANTS["kStackDepth"]

#: Bits of the machine's values.
VALUE_BITS = 64

_BINARY_OPCODE_NAMES = (
    "kBitAnd",
    "kBitOr",
    "kBitXor",
    "kLogicAnd",
    "kLogicOr",
    "kEqual",
    "kNotEqual",
    "kLess",
    "kLessEqual",
    "kGreater",
    "kGreaterEqual",
    "kShiftLeft",
    "kShiftRight",
    "kAdd",
    "kSub",
    "kMul",
    "kDiv",
    "kBitIndex",
)

#: (values popped, values pushed) by each opcode, by its name in the header.
_STACK_EFFECTS: dict[str, tuple[int, int]] = {
    "kPushConst": (0, 1),
    "kLoad": (0, 1),
    "kStore": (1, 0),
    "kMaskWidth": (1, 1),
    "kBitNot": (1, 1),
    "kLogicNot": (1, 1),
    "kNegate": (1, 1),
    **{name: (2, 1) for name in _BINARY_OPCODE_NAMES},
    "kDup": (1, 2),
    "kPop": (1, 0),
    "kDraw": (0, 1),
}

#: Bits of a draw that ``kDraw`` pushes: the uniform draw u in [0, 1) as u * 2**DRAW_BITS.
DRAW_BITS = 53

#: Every opcode's value, by its name in the header.
OPCODES: dict[str, int] = {name: _CONSTANTS[name] for name in _STACK_EFFECTS}

#: Opcodes whose operand means something; :func:`op` builds only the others.
_OPCODES_WITH_OPERAND = frozenset({"kPushConst", "kLoad", "kStore", "kMaskWidth"})

# Stack effects indexed by opcode value (-1 where no opcode has the value).
_POPS = np.full(max(OPCODES.values()) + 1, -1, dtype=np.int64)
_PUSHES = np.full_like(_POPS, -1)
for _name, (_popped, _pushed) in _STACK_EFFECTS.items():
    _POPS[OPCODES[_name]] = _popped
    _PUSHES[OPCODES[_name]] = _pushed


@dataclass(frozen=True, eq=False)
class ClassicalCode:
    """A piece of classical bytecode and its stack use.

    A piece may start by consuming values that earlier code pushed (``op("kAdd")``
    alone takes two); a whole program takes none. Construction simulates the stack
    effects of the code to find how deep the stack grows.

    Attributes:
        code: The (opcode, operand) pairs, int64 of shape (length, 2), read-only.
        inputs: Values the code takes from the stack below its start (0 for a whole
            program).
        stack_effect: Net change of the stack's height (1 for a value, 0 for a store).
        max_depth: The deepest stack the code reaches, run on a stack holding just its
            inputs.

    Raises:
        ValueError: ``code`` is not of shape (length, 2) or holds an unknown opcode.
        UnsupportedInstructionError: The code needs a deeper stack than the device's
            ``STACK_DEPTH``: the classical expression is too deep.
    """

    code: np.ndarray
    inputs: int = field(init=False)
    stack_effect: int = field(init=False)
    max_depth: int = field(init=False)

    def __post_init__(self) -> None:
        code = np.array(self.code, dtype=np.int64)
        if code.ndim != 2 or code.shape[1] != 2:
            raise ValueError(f"classical code must have shape (length, 2), not {code.shape}")
        opcodes = code[:, 0]
        known = (opcodes >= 0) & (opcodes < len(_POPS))
        if not known.all() or (_POPS[opcodes] < 0).any():
            raise ValueError(f"unknown classical opcodes {sorted(set(opcodes.tolist()))}")
        code.flags.writeable = False
        pops, pushes = _POPS[opcodes], _PUSHES[opcodes]
        height_after = np.cumsum(pushes - pops)
        height_before = height_after - pushes + pops
        inputs = -int(min(0, (height_before - pops).min(initial=0)))
        max_depth = inputs + int(height_after.max(initial=0))
        if max_depth > STACK_DEPTH:
            raise UnsupportedInstructionError(
                f"classical expression is too deep: it needs a stack of {max_depth} "
                f"values and the device's holds {STACK_DEPTH}"
            )
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "stack_effect", int(height_after[-1]) if len(code) else 0)
        object.__setattr__(self, "max_depth", max_depth)

    def __len__(self) -> int:
        """The number of instructions."""
        return len(self.code)

    @classmethod
    def concat(cls, *codes: ClassicalCode) -> ClassicalCode:
        """Join pieces of code, run one after another.

        Args:
            *codes: The pieces, in order.

        Returns:
            Their concatenation (empty for no pieces).
        """
        return cls(np.concatenate([piece.code for piece in codes] or [_NO_PAIRS]))

    def __add__(self, other: ClassicalCode) -> ClassicalCode:
        """This code, then ``other``."""
        return ClassicalCode.concat(self, other)


_NO_PAIRS = np.empty((0, 2), dtype=np.int64)

#: Code that does nothing.
EMPTY = ClassicalCode(_NO_PAIRS)


def _instruction(name: str, operand: int = 0) -> ClassicalCode:
    return ClassicalCode(np.array([[OPCODES[name], operand]], dtype=np.int64))


def push_const(value: int) -> ClassicalCode:
    """Code that pushes a constant.

    Args:
        value: The constant, taken modulo 2**64.

    Returns:
        One ``kPushConst`` instruction.
    """
    unsigned = int(value) % (1 << VALUE_BITS)
    return _instruction("kPushConst", unsigned - (1 << VALUE_BITS) * (unsigned >> 63))


def _check_slot(slot: int) -> int:
    if slot < 0:
        raise ValueError(f"slot {slot} is negative")
    return slot


def load(slot: int) -> ClassicalCode:
    """Code that pushes the value of a slot of the row.

    Args:
        slot: The slot.

    Returns:
        One ``kLoad`` instruction.
    """
    return _instruction("kLoad", _check_slot(slot))


def store(slot: int) -> ClassicalCode:
    """Code that pops the top of the stack into a slot of the row.

    Args:
        slot: The slot.

    Returns:
        One ``kStore`` instruction.
    """
    return _instruction("kStore", _check_slot(slot))


def mask_to_width(width: int) -> ClassicalCode:
    """Code that reduces the top of the stack modulo 2**width.

    Args:
        width: Bits kept.

    Returns:
        One ``kMaskWidth`` instruction, or no code where ``width`` is 64 or more.
    """
    return _instruction("kMaskWidth", width) if width < VALUE_BITS else EMPTY


def op(name: str) -> ClassicalCode:
    """Code for one operand-less instruction.

    Args:
        name: The opcode's name in the header, such as ``"kAdd"`` or ``"kDup"``.

    Returns:
        The instruction.

    Raises:
        ValueError: The opcode takes an operand (use :func:`push_const`,
            :func:`load`, :func:`store` or :func:`mask_to_width`) or is unknown.
    """
    if name in _OPCODES_WITH_OPERAND or name not in OPCODES:
        raise ValueError(f"{name!r} is not an operand-less classical opcode")
    return _instruction(name)


class SlotLookup(Protocol):
    """Where clbits and standalone variables lie: a :class:`SlotMap`, or a block's view of
    one (``control_flow.BlockSlots``); what compiling an expression reads."""

    def clbit(self, bit: Clbit) -> int:
        """The slot of a clbit."""

    def var(self, var: expr.Var) -> int:
        """The slot of a standalone real-time variable."""


class SlotMap:
    """Where a circuit's classical state lies in a row of slots.

    The clbits take the slots from ``FIRST_FREE_SLOT`` on, in the order given;
    standalone variables and scratch slots follow as they are asked for. A
    ClassicalRegister has no slot: its value is assembled from its clbits' slots.

    Args:
        clbits: The circuit's clbits; clbit ``i`` gets slot ``FIRST_FREE_SLOT + i``.

    Raises:
        ValueError: A clbit appears twice.
    """

    def __init__(self, clbits: Sequence[Clbit]) -> None:
        self._clbits = {bit: FIRST_FREE_SLOT + index for index, bit in enumerate(clbits)}
        if len(self._clbits) != len(clbits):
            raise ValueError("a clbit appears twice in the slot map")
        self._vars: dict[expr.Var, int] = {}
        self._num_slots = FIRST_FREE_SLOT + len(clbits)

    def clbit(self, bit: Clbit) -> int:
        """The slot of a clbit.

        Args:
            bit: One of the clbits the map was made with.

        Returns:
            Its slot.

        Raises:
            InvalidCircuitError: The clbit is not one of the map's.
        """
        try:
            return self._clbits[bit]
        except KeyError:
            raise InvalidCircuitError(f"{bit} is not a clbit of the circuit") from None

    def var(self, var: expr.Var) -> int:
        """The slot of a standalone real-time variable, assigned on first use.

        Args:
            var: The variable (``var.standalone`` is True).

        Returns:
            Its slot.

        Raises:
            ValueError: The variable is not standalone (it stands for a clbit or a
                register).
        """
        if not var.standalone:
            raise ValueError(f"{var} is not a standalone variable")
        slot = self._vars.get(var)
        if slot is None:
            slot = self._vars[var] = self.new_slot()
        return slot

    def new_slot(self) -> int:
        """Assign a fresh scratch slot (for masks and the like).

        Returns:
            The slot.
        """
        slot = self._num_slots
        self._num_slots += 1
        return slot

    @property
    def num_slots(self) -> int:
        """The row's width so far: every slot assigned lies below it."""
        return self._num_slots


def _program(*pairs: tuple[str, int]) -> ClassicalCode:
    """A program from (opcode name, operand) pairs, built and checked at once (joining
    one-instruction pieces checks every prefix again)."""
    rows = [[OPCODES[name], int(operand) % (1 << VALUE_BITS)] for name, operand in pairs]
    code = np.array([[opcode, operand - (1 << VALUE_BITS) * (operand >> 63)] for opcode, operand in rows])
    return ClassicalCode(code.astype(np.int64).reshape(-1, 2))


def draw_thresholds(probabilities: tuple[float, ...]) -> np.ndarray:
    """The cumulative thresholds ``round(2**53 * (p_0 + ... + p_j))``, j < len - 1, that a
    53-bit draw is compared with (:func:`draw_index`), as int64."""
    thresholds: np.ndarray = np.rint(np.cumsum(probabilities)[:-1] * float(1 << DRAW_BITS)).astype(np.int64)
    return thresholds


@functools.lru_cache(maxsize=4096)
def draw_index(probabilities: tuple[float, ...], slot: int) -> ClassicalCode:
    """Code that draws index j with probability ``probabilities[j]`` into a slot.

    The row's next draw x (53 bits) picks the number of cumulative thresholds
    ``round(2**53 * (p_0 + ... + p_j))``, j < len - 1, that are at most x.

    Args:
        probabilities: A distribution over the indices.
        slot: Where the index goes (the draw passes through it).

    Returns:
        The code.
    """
    pairs: list[tuple[str, int]] = [("kDraw", 0), ("kStore", slot), ("kPushConst", 0)]
    for threshold in draw_thresholds(probabilities).tolist():
        pairs += [("kLoad", slot), ("kPushConst", threshold), ("kGreaterEqual", 0), ("kAdd", 0)]
    return _program(*pairs, ("kStore", slot))


@functools.lru_cache(maxsize=256)
def skip_draws(count: int) -> ClassicalCode:
    """Code that counts ``count`` draws on a row without using them: the draws the host
    took for every row when it skipped noise no row drew."""
    return _program(*[("kDraw", 0), ("kPop", 0)] * count)


@functools.lru_cache(maxsize=4096)
def index_mask(index_slot: int, index: int, enclosing: int, mask: int) -> ClassicalCode:
    """Code that sets ``mask`` where ``index_slot`` holds ``index`` (and, unless it is
    EVERY_STATE, the ``enclosing`` mask slot is set)."""
    pairs = [("kLoad", index_slot), ("kPushConst", index), ("kEqual", 0)]
    if enclosing != EVERY_STATE:
        pairs += [("kLoad", enclosing), ("kLogicAnd", 0)]
    return _program(*pairs, ("kStore", mask))


def readout_flip(matrix: np.ndarray, slot: int) -> ClassicalCode:
    """Code that flips the bit in a slot with the probability a readout error gives it.

    Args:
        matrix: ``matrix[b][1 - b]`` is the probability that a measured b reads 1 - b.
        slot: The clbit's slot.

    Returns:
        The code: draw x; flip where x < threshold(b), with threshold(b) = t0 + b (t1 - t0)
        computed modulo 2**64.
    """
    t0, t1 = (int(round(float(matrix[bit][1 - bit]) * float(1 << DRAW_BITS))) for bit in (0, 1))
    return _program(
        ("kDraw", 0),
        ("kPushConst", t0),
        ("kLoad", slot),
        ("kPushConst", t1 - t0),
        ("kMul", 0),
        ("kAdd", 0),
        ("kLess", 0),
        ("kLoad", slot),
        ("kBitXor", 0),
        ("kStore", slot),
    )

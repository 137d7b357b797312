"""The op-kind registry and the op row layout, read from ``kernels/include/op_layout.cuh``.

The header is their single definition: the CPU extension dispatches on the same
registry at compile time, and ``tests/compiler/test_op_registry.py`` checks that the
extension's view (``_cpu.op_kinds()``) and this one agree. Everything Python knows of
a kind (its code, its body's name, its size limits, its data layout) comes from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qiskit_cupy.kernel_files import read_kernel_file

#: The header this module reads.
LAYOUT_HEADER = "include/op_layout.cuh"

_CONSTANT = re.compile(r"^\s*constexpr\s+index_t\s+(k\w+)\s*=\s*(\d+)\s*;", re.MULTILINE)
_ENTRY = re.compile(
    r"^\s*OpKindEntry<\s*op::(k\w+)\s*,\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,"
    r"\s*(true|false)\s*,\s*(true|false)\s*,\s*(true|false)\s*>",
    re.MULTILINE,
)


@dataclass(frozen=True)
class KindSpec:
    """One registry entry: what the kernels accept for an op kind.

    Attributes:
        name: The kind's code constant in ``op_layout.cuh`` (``kDense``...).
        code: Its value, written into a row's ``kKind`` field.
        body: The C++ body template (``qc::DenseBody``), instantiated as
            ``body<T, K>``.
        max_targets: The most targets an op of the kind has.
        data_bits: One state's data holds ``2**(data_bits * k)`` complex entries.
        fixes_targets: A work item holds the targets fixed, so they are sorted
            positions as well as the controls.
        sized: The body is instantiated per size (K = 1..max_targets); otherwise once
            (K = 0), with ascending targets and their mask in the row.
        permutes: The row holds a permutation and the phased flag.
    """

    name: str
    code: int
    body: str
    max_targets: int
    data_bits: int
    fixes_targets: bool
    sized: bool
    permutes: bool

    def data_entries(self, num_targets: int) -> int:
        """Complex entries of one state's data for an op with ``num_targets`` targets."""
        return 1 << (self.data_bits * num_targets)

    def sizes(self) -> tuple[int, ...]:
        """The K of every instantiation of the body: 1..max_targets, or (0,)."""
        return tuple(range(1, self.max_targets + 1)) if self.sized else (0,)


def read_constants(text: str) -> dict[str, int]:
    """Parse the ``constexpr index_t kName = value;`` lines of a kernel header.

    Args:
        text: The header's text.

    Returns:
        Each constant's value, by its name (``kName``), in the order of the text.
    """
    return {name: int(value) for name, value in _CONSTANT.findall(text)}


def _read_registry(text: str, layout: dict[str, int]) -> dict[str, KindSpec]:
    """Parse the ``OpKindEntry<...>`` lines of the header's registry."""
    kinds = {}
    for name, body, most, data_bits, fixes, sized, permutes in _ENTRY.findall(text):
        kinds[name] = KindSpec(
            name=name,
            code=layout[name],
            body=f"qc::{body}",
            max_targets=int(most),
            data_bits=int(data_bits),
            fixes_targets=fixes == "true",
            sized=sized == "true",
            permutes=permutes == "true",
        )
    return kinds


_HEADER_TEXT = read_kernel_file(LAYOUT_HEADER)

#: Every layout constant of the header (field offsets, row width, kind codes), by name.
OP_LAYOUT: dict[str, int] = read_constants(_HEADER_TEXT)

#: Every op kind the kernels run, by its code constant's name, in registry order.
OP_KINDS: dict[str, KindSpec] = _read_registry(_HEADER_TEXT, OP_LAYOUT)

"""The op-kind registry: the CPU extension's compiled view against Python's parsed view.

``op_layout.cuh`` is the single definition of the kinds and of the row layout; the
extension walks it at compile time (``_cpu.op_kinds()``) and ``op_registry.py`` parses
its text. These tests check that both read the same registry, that every kind has its
body in ``gates.cuh``, and that the registry's limits fit the row layout.
"""

from __future__ import annotations

import re

import pytest

from qiskit_cupy import _cpu
from qiskit_cupy.compiler import ops as ops_module
from qiskit_cupy.compiler.op_registry import LAYOUT_HEADER, OP_KINDS, OP_LAYOUT, KindSpec
from qiskit_cupy.compiler.ops import OpKind
from qiskit_cupy.kernel_files import read_kernel_file

#: The fields of one ``_cpu.op_kinds()`` tuple, in order.
CPP_FIELDS = ("code", "max_targets", "data_bits", "fixes_targets", "sized", "permutes")

#: The most qubits a state may have (``check_states`` in kernels/cpu/checks.cpp).
MAX_QUBITS = 62

#: The single-slot fields of a row.
SCALAR_FIELDS = (
    "kKind",
    "kNumTargets",
    "kNumSorted",
    "kDataOffset",
    "kDataBatchStride",
    "kControlValue",
    "kTargetMask",
    "kPhased",
)


def test_cpp_and_python_registries_agree() -> None:
    """``_cpu.op_kinds()`` equals OP_KINDS, kind by kind, field by field, in order."""
    cpp = _cpu.op_kinds()
    python = list(OP_KINDS.values())
    assert len(cpp) == len(python)
    for row, spec in zip(cpp, python, strict=True):
        assert len(row) == len(CPP_FIELDS)
        for name, value in zip(CPP_FIELDS, row, strict=True):
            assert getattr(spec, name) == value, f"{spec.name}.{name}"
            assert type(value) is type(getattr(spec, name)), f"{spec.name}.{name}"


def test_every_registry_entry_was_parsed() -> None:
    """Each ``OpKindEntry<op::...>`` line of the header became one KindSpec."""
    text = read_kernel_file(LAYOUT_HEADER)
    entry_lines = re.findall(r"^\s*OpKindEntry<\s*op::(k\w+)", text, re.MULTILINE)
    assert entry_lines == list(OP_KINDS)
    assert len(entry_lines) >= 1


@pytest.mark.parametrize("kind", list(OpKind), ids=lambda kind: kind.name)
def test_op_kinds_in_registry(kind: OpKind) -> None:
    """Every OpKind but WIDE_DENSE is a registry kind, under its code constant's name."""
    assert kind.in_registry == (kind is not OpKind.WIDE_DENSE)
    assert (kind.value in OP_KINDS) == kind.in_registry


def test_every_registry_kind_is_an_op_kind() -> None:
    """No registry entry lacks an OpKind (Python could not lower to it)."""
    assert set(OP_KINDS) == {kind.value for kind in OpKind if kind.in_registry}


def test_codes_are_distinct_layout_constants() -> None:
    """Kind codes are distinct and each is the header constant of the entry's name."""
    codes = [spec.code for spec in OP_KINDS.values()]
    assert len(set(codes)) == len(codes)
    for name, spec in OP_KINDS.items():
        assert spec.name == name
        assert OP_LAYOUT[name] == spec.code


@pytest.mark.parametrize("spec", list(OP_KINDS.values()), ids=lambda spec: spec.name)
def test_body_is_a_struct_template_in_gates(spec: KindSpec) -> None:
    """The kind's body is defined in gates.cuh as ``template <typename T, int K> struct``."""
    gates = read_kernel_file("include/gates.cuh")
    assert spec.body.startswith("qc::")
    body = spec.body.removeprefix("qc::")
    pattern = rf"template\s*<\s*typename\s+T\s*,\s*int\s+K\s*>\s*struct\s+{re.escape(body)}\s*\{{"
    assert re.search(pattern, gates), f"no definition of {body} in gates.cuh"


@pytest.mark.parametrize("spec", list(OP_KINDS.values()), ids=lambda spec: spec.name)
def test_kind_limits_fit_row(spec: KindSpec) -> None:
    """Targets fit before kSorted, a permutation before kPhased, data bits are 1 or 2."""
    assert spec.max_targets >= 1
    assert OP_LAYOUT["kTargets"] + spec.max_targets <= OP_LAYOUT["kSorted"]
    assert spec.data_bits in (1, 2)
    if spec.permutes:
        assert OP_LAYOUT["kPermutation"] + (1 << spec.max_targets) <= OP_LAYOUT["kPhased"]
    if spec.fixes_targets:
        # Every target and control is a sorted position: at most MAX_QUBITS of them.
        assert spec.max_targets <= MAX_QUBITS
    if spec.sized:
        assert spec.sizes() == tuple(range(1, spec.max_targets + 1))
    else:
        assert spec.sizes() == (0,)
    assert spec.data_entries(spec.max_targets) == 1 << (spec.data_bits * spec.max_targets)


def test_row_layout_regions_do_not_overlap() -> None:
    """Scalar fields, targets, sorted positions and the permutation do not overlap."""
    width = OP_LAYOUT["kOpWidth"]
    slots = [OP_LAYOUT[name] for name in SCALAR_FIELDS]
    assert len(set(slots)) == len(slots)
    assert all(0 <= slot < width for slot in slots)
    most_targets = max(spec.max_targets for spec in OP_KINDS.values())
    most_images = max((1 << spec.max_targets for spec in OP_KINDS.values() if spec.permutes), default=0)
    regions = {
        "targets": range(OP_LAYOUT["kTargets"], OP_LAYOUT["kTargets"] + most_targets),
        "sorted": range(OP_LAYOUT["kSorted"], OP_LAYOUT["kSorted"] + MAX_QUBITS),
        "permutation": range(OP_LAYOUT["kPermutation"], OP_LAYOUT["kPermutation"] + most_images),
    }
    assert OP_LAYOUT["kPermutation"] - OP_LAYOUT["kSorted"] >= MAX_QUBITS
    used: dict[int, str] = {slot: name for name, slot in zip(SCALAR_FIELDS, slots, strict=True)}
    for name, region in regions.items():
        assert region.stop <= width, name
        for slot in region:
            assert slot not in used, f"{name} overlaps {used[slot]} at {slot}"
            used[slot] = name


def test_ops_limits_come_from_registry() -> None:
    """ops.py's target limits are the registry's."""
    assert ops_module.MAX_TARGETS == OP_KINDS[OpKind.DENSE.value].max_targets
    assert ops_module.MAX_TARGETS == OP_KINDS[OpKind.DIAGONAL.value].max_targets
    assert ops_module.MAX_PERMUTATION_TARGETS == OP_KINDS[OpKind.PERMUTATION.value].max_targets
    assert ops_module.MAX_WIDE_TARGETS == OP_KINDS[OpKind.WIDE_DIAGONAL.value].max_targets


@pytest.mark.parametrize(
    ("kind", "fixes_targets", "permutes", "data_bits"),
    [
        (OpKind.DENSE, True, False, 2),
        (OpKind.DIAGONAL, False, False, 1),
        (OpKind.PERMUTATION, True, True, 1),
        (OpKind.WIDE_DIAGONAL, False, False, 1),
    ],
    ids=lambda value: value.name if isinstance(value, OpKind) else None,
)
def test_kind_semantics(kind: OpKind, fixes_targets: bool, permutes: bool, data_bits: int) -> None:
    """Each kind's registry flags match what its data and work items mean."""
    spec = OP_KINDS[kind.value]
    assert (spec.fixes_targets, spec.permutes, spec.data_bits) == (
        fixes_targets,
        permutes,
        data_bits,
    )

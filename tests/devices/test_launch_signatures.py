"""Each GPU launch's arguments against the C++ signature of the kernel it launches.

NumPy arrays stand in for CuPy arrays: the launch builders look only at their dtype.
The expected C++ -> Python mapping is written out here, independently of launches.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from qiskit_cupy.devices import kernel_source
from qiskit_cupy.kernel_files import read_kernel_file
from qiskit_cupy.compiler.op_registry import OP_LAYOUT
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices import launches
from qiskit_cupy.errors import CupySimulatorError

#: What a scalar parameter of each C++ type must receive.
SCALAR_TYPES: dict[str, type[np.integer]] = {"int": np.int32, "long long": np.int64}

#: The dtype of the array a pointer to each C++ type must receive ("T": by precision).
POINTEE_DTYPES: dict[str, Any] = {
    "qc::complex<T>": {"double": np.complex128, "single": np.complex64},
    "double": np.float64,
    "long long": np.int64,
    "unsigned long long": np.uint64,
}

NUM_QUBITS = 5
BATCH = 3
NUM_MEASURED = 2
CHUNK_BITS = 2
SHOTS = 7


def states(precision: str) -> np.ndarray:
    """A batch of states of the precision's complex dtype."""
    dtype = POINTEE_DTYPES["qc::complex<T>"][precision]
    return np.zeros(BATCH << NUM_QUBITS, dtype=dtype)


def well_typed(builder: str, precision: str) -> dict[str, Any]:
    """Keyword arguments of one launch builder, each of the type its kernel needs."""
    return {
        "set_zero_state": {
            "states": states(precision), "num_qubits": NUM_QUBITS, "batch": BATCH,
            "precision": precision,
        },
        "apply_op": {
            "states": states(precision), "num_qubits": NUM_QUBITS, "batch": BATCH,
            "row": np.zeros(80, dtype=np.int64),
            "data": np.zeros(4, dtype=POINTEE_DTYPES["qc::complex<T>"][precision]),
            "kind_name": "kDense", "num_targets": 1, "num_sorted": 1, "precision": precision,
        },
        "marginal_partials": {
            "states": states(precision), "num_qubits": NUM_QUBITS, "batch": BATCH,
            "positions": (3, 0),
            "position_arrays": (np.array([3, 0], dtype=np.int64), np.array([0, 3], dtype=np.int64)),
            "chunk_bits": CHUNK_BITS,
            "partials": np.zeros(BATCH << (NUM_MEASURED + CHUNK_BITS)), "precision": precision,
        },
        "probabilities": {
            "states": states(precision), "out": np.zeros(BATCH << NUM_QUBITS),
            "precision": precision,
        },
        "reduce_partials": {
            "partials": np.zeros(BATCH << (NUM_MEASURED + CHUNK_BITS)), "chunk_bits": CHUNK_BITS,
            "sums": np.zeros(BATCH << NUM_MEASURED),
        },
        "sample": {
            "cumulative": np.zeros(BATCH << NUM_MEASURED), "num_measured": NUM_MEASURED,
            "shots": SHOTS, "seeds": np.zeros(BATCH, dtype=np.uint64),
            "outcomes": np.zeros(BATCH * SHOTS, dtype=np.int64),
        },
    }[builder]


def build(builder: str, precision: str, **changes: Any) -> launches.Launch:
    """Call one launch builder with well-typed arguments, some replaced by ``changes``."""
    function: Callable[..., launches.Launch] = getattr(launches, builder)
    return function(**{**well_typed(builder, precision), **changes})


BUILDERS = (
    "set_zero_state", "apply_op", "marginal_partials", "probabilities", "reduce_partials", "sample"
)
PRECISIONS = ("double", "single")


def kernels_cu_code() -> str:
    """kernels.cu without its comments."""
    text = read_kernel_file(f"cuda/{kernel_source.KERNEL_LAUNCHERS}")
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)


def test_every_global_kernel_is_parsed() -> None:
    code = kernels_cu_code()
    signatures = launches.kernel_signatures()
    assert len(signatures) == code.count("__global__")
    templates = {name.split("<", 1)[0] for name in kernel_source.name_expressions("double")}
    assert set(signatures) == templates
    for name, types in signatures.items():
        parameters = code.split(f"void {name}(", 1)[1].split(")", 1)[0]
        assert len(types) == parameters.count(",") + 1, name


def test_signatures_are_parsed_exactly() -> None:
    signatures = launches.kernel_signatures()
    assert signatures["qc_sample"] == (
        "const double*", "int", "long long", "long long", "const unsigned long long*", "long long*",
    )
    assert signatures["qc_apply_op"] == (
        "qc::complex<T>*", "int", "long long", "const long long*", "const qc::complex<T>*",
    )


def test_every_parameter_type_has_a_rule() -> None:
    for types in launches.kernel_signatures().values():
        for cpp_type in types:
            pointee = cpp_type.removeprefix("const ").removesuffix("*")
            is_pointer = cpp_type.endswith("*") and pointee in POINTEE_DTYPES
            assert cpp_type in SCALAR_TYPES or is_pointer, cpp_type


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("builder", BUILDERS)
def test_launch_arguments_match_the_signature(builder: str, precision: str) -> None:
    launch = build(builder, precision)
    signature = launches.kernel_signatures()[launch.kernel.split("<", 1)[0]]
    if builder in ("reduce_partials", "sample"):
        assert launch.kernel == f"qc_{builder}"
    else:
        assert launch.kernel in kernel_source.name_expressions(precision)
        assert kernel_source.PRECISION_TYPES[precision] in launch.kernel
    assert len(launch.arguments) == len(signature)
    for cpp_type, argument in zip(signature, launch.arguments):
        if cpp_type in SCALAR_TYPES:
            assert type(argument) is SCALAR_TYPES[cpp_type], cpp_type
            continue
        expected = POINTEE_DTYPES[cpp_type.removeprefix("const ").removesuffix("*")]
        expected = expected[precision] if isinstance(expected, dict) else expected
        assert isinstance(argument, np.ndarray) and argument.dtype == expected, cpp_type


@pytest.mark.parametrize(
    ("builder", "output", "position"),
    [
        ("set_zero_state", "states", 2),
        ("marginal_partials", "partials", 2),
        ("probabilities", "out", 1),
        ("reduce_partials", "sums", 1),
        ("sample", "outcomes", 2),
    ],
)
def test_items_cover_the_output_exactly(builder: str, output: str, position: int) -> None:
    launch = build(builder, "double")
    size = {
        "states": BATCH << NUM_QUBITS,
        "partials": BATCH << (NUM_MEASURED + CHUNK_BITS),
        "out": BATCH << NUM_QUBITS,
        "sums": BATCH << NUM_MEASURED,
        "outcomes": BATCH * SHOTS,
    }[output]
    assert launch.num_items == size
    assert launch.arguments[position] == size


def test_apply_op_has_one_item_per_group_of_amplitudes() -> None:
    launch = build("apply_op", "single", kind_name="kDiagonal", num_targets=3, num_sorted=2)
    assert launch.kernel == "qc_apply_op<qc::DiagonalBody<float, 3>, float>"
    assert launch.num_items == BATCH << (NUM_QUBITS - 2)
    assert launch.arguments[2] == launch.num_items


#: Every array argument of every builder (with its index where it comes in a tuple).
ARRAY_ARGUMENTS = [
    (builder, name, index)
    for builder in BUILDERS
    for name, value in well_typed(builder, "double").items()
    for index, array in (enumerate(value) if isinstance(value, tuple) else [(None, value)])
    if isinstance(array, np.ndarray)
]


@pytest.mark.parametrize(("builder", "name", "index"), ARRAY_ARGUMENTS)
@pytest.mark.parametrize(
    "wrong",
    [np.zeros(4, dtype=np.float32), np.zeros(4, dtype=np.int32), [0, 0, 0, 0], np.float64(0.0),
     np.int64(0), np.uint64(0)],
    ids=["float32", "int32", "list", "float64-scalar", "int64-scalar", "uint64-scalar"],
)
def test_a_wrong_array_is_refused(builder: str, name: str, index: int | None, wrong: Any) -> None:
    value = wrong
    if index is not None:
        value = list(well_typed(builder, "double")[name])
        value[index] = wrong
        value = tuple(value)
    with pytest.raises(CupySimulatorError, match="needs a .* array"):
        build(builder, "double", **{name: value})


@pytest.mark.parametrize(("builder", "name"), [("apply_op", "states"), ("apply_op", "data")])
def test_states_of_the_other_precision_are_refused(builder: str, name: str) -> None:
    for precision, other in (("double", "single"), ("single", "double")):
        with pytest.raises(CupySimulatorError, match="needs a complex"):
            build(builder, precision, **{name: well_typed(builder, other)[name]})


@pytest.mark.parametrize(
    ("builder", "name", "wrong"),
    [
        ("sample", "shots", np.float64(7)),
        ("reduce_partials", "chunk_bits", np.float32(2)),
        ("reduce_partials", "chunk_bits", True),
        ("sample", "num_measured", 2.0),
        ("sample", "shots", 7.0),
        ("sample", "num_measured", np.array(2)),
    ],
)
def test_a_non_integer_scalar_is_refused(builder: str, name: str, wrong: Any) -> None:
    with pytest.raises(CupySimulatorError, match="must be an integer"):
        build(builder, "double", **{name: wrong})


@pytest.mark.parametrize(
    ("builder", "name", "value"),
    [("reduce_partials", "chunk_bits", 2**31), ("reduce_partials", "chunk_bits", -(2**31) - 1),
     ("sample", "shots", 2**63)],
)
def test_an_integer_too_wide_for_its_parameter_is_refused(builder: str, name: str, value: int) -> None:
    with pytest.raises(CupySimulatorError, match="out of range"):
        build(builder, "double", **{name: value})


def test_numpy_integer_scalars_are_accepted_and_narrowed() -> None:
    launch = build("sample", "double", num_measured=np.int64(2), shots=np.uint64(7))
    assert type(launch.arguments[1]) is np.int32 and launch.arguments[1] == 2
    assert type(launch.arguments[3]) is np.int64 and launch.arguments[3] == 7


@pytest.mark.parametrize(
    ("builder", "changes", "message"),
    [
        ("set_zero_state", {"batch": 0}, "batch must be at least 1"),
        ("marginal_partials", {"positions": (3, 5)}, "measured position out of range"),
        ("marginal_partials", {"chunk_bits": 1}, "partials must have batch * 2**(m + chunk_bits) entries"),
        ("probabilities", {"out": np.zeros(3)}, "probabilities must have one entry per amplitude"),
        ("reduce_partials", {"sums": np.zeros(5)}, "partials must have len(sums) * 2**chunk_bits entries"),
        ("sample", {"seeds": np.zeros(2, dtype=np.uint64)}, "cumulative must have len(seeds) * 2**m entries"),
        ("sample", {"shots": 0}, "shots must be at least 1"),
    ],
)
def test_values_are_checked_by_the_cpu_extension_checks(
    builder: str, changes: dict[str, Any], message: str
) -> None:
    """A well-typed launch with a bad value is refused with the CPU extension's message."""
    with pytest.raises(ValueError, match=re.escape(message)):
        build(builder, "double", **changes)


def test_a_bad_op_row_is_refused_before_its_program_is_launched() -> None:
    op = GateOp(OpKind.DENSE, (1,), np.eye(2))
    rows = encode_program([op], BATCH).rows.copy()
    launches.check_program(states("double"), NUM_QUBITS, BATCH, rows, 4)
    rows[0, OP_LAYOUT["kTargets"]] = NUM_QUBITS
    with pytest.raises(ValueError, match="op target out of range"):
        launches.check_program(states("double"), NUM_QUBITS, BATCH, rows, 4)


def test_a_wrong_argument_count_is_refused() -> None:
    with pytest.raises(CupySimulatorError, match="takes 6 arguments, the launch passes 2"):
        launches.check_arguments("qc_sample", "double", (np.zeros(1), 1))

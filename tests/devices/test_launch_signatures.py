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

from qiskit_cupy import _cpu
from qiskit_cupy.compiler.op_registry import OP_LAYOUT
from qiskit_cupy.compiler.ops import GateOp, OpKind
from qiskit_cupy.compiler.program import encode_program
from qiskit_cupy.devices import gpu_segments, kernel_source, launches, trajectory_launches
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.kernel_files import read_kernel_file

#: What a scalar parameter of each C++ type must receive.
SCALAR_TYPES: dict[str, type[np.integer]] = {
    "int": np.int32,
    "long long": np.int64,
    "unsigned long long": np.uint64,
}

#: The dtype of the array a pointer to each C++ type must receive ("T": by precision).
POINTEE_DTYPES: dict[str, Any] = {
    "qc::complex<T>": {"double": np.complex128, "single": np.complex64},
    "double": np.float64,
    "long long": np.int64,
    "unsigned long long": np.uint64,
}

NUM_QUBITS = 5
#: Width of the states of a blocked run: wider than either precision's block.
BLOCKED_QUBITS = 13
BATCH = 3
NUM_MEASURED = 2
CHUNK_BITS = 2
SHOTS = 7
#: Slots per row of the classical rows, and a slot past the fixed ones (a mask, a clbit).
WIDTH = 6
SLOT = 5
#: The largest seed: unsigned long long parameters take all 64 bits.
SEED = 2**64 - 1


def opcode(name: str) -> int:
    """An opcode's value, read from the header here (independently of compiler/classical.py)."""
    text = read_kernel_file("include/classical.cuh")
    return int(re.search(rf"constexpr\s+index_t\s+{name}\s*=\s*(\d+)\s*;", text).group(1))


def program(*pairs: tuple[str, int]) -> np.ndarray:
    """A classical program, flat (opcode, operand) int64 pairs, from opcode names."""
    return np.array([[opcode(name), operand] for name, operand in pairs], dtype=np.int64).ravel()


#: A valid classical program on rows of WIDTH slots: slot 4 = slot 3 + 1.
PROGRAM = program(("kLoad", 3), ("kPushConst", 1), ("kAdd", 0), ("kStore", 4))


def rows() -> np.ndarray:
    """The batch's rows of classical slots."""
    return np.zeros(BATCH * WIDTH, dtype=np.int64)


def states(precision: str) -> np.ndarray:
    """A batch of states of the precision's complex dtype."""
    dtype = POINTEE_DTYPES["qc::complex<T>"][precision]
    return np.zeros(BATCH << NUM_QUBITS, dtype=dtype)


def well_typed(builder: str, precision: str) -> dict[str, Any]:
    """Keyword arguments of one launch builder, each of the type its kernel needs."""
    return {
        "set_zero_state": {
            "states": states(precision),
            "num_qubits": NUM_QUBITS,
            "batch": BATCH,
            "precision": precision,
        },
        "apply_op": {
            "states": states(precision),
            "num_qubits": NUM_QUBITS,
            "batch": BATCH,
            "row": np.zeros(80, dtype=np.int64),
            "data": np.zeros(4, dtype=POINTEE_DTYPES["qc::complex<T>"][precision]),
            "kind_name": "kDense",
            "num_targets": 1,
            "num_sorted": 1,
            "precision": precision,
            "mask": (rows(), WIDTH, SLOT),
        },
        "blocked_run": {
            "states": np.zeros(BATCH << BLOCKED_QUBITS, dtype=POINTEE_DTYPES["qc::complex<T>"][precision]),
            "num_qubits": BLOCKED_QUBITS,
            "batch": BATCH,
            "ops": np.zeros(2 * OP_LAYOUT["kOpWidth"], dtype=np.int64),
            "num_ops": 2,
            "highest_qubit": 4,
            "data": np.zeros(4, dtype=POINTEE_DTYPES["qc::complex<T>"][precision]),
            "precision": precision,
            "mask": (rows(), WIDTH, SLOT),
        },
        "marginal_partials": {
            "states": states(precision),
            "num_qubits": NUM_QUBITS,
            "batch": BATCH,
            "positions": (3, 0),
            "position_arrays": (np.array([3, 0], dtype=np.int64), np.array([0, 3], dtype=np.int64)),
            "chunk_bits": CHUNK_BITS,
            "partials": np.zeros(BATCH << (NUM_MEASURED + CHUNK_BITS)),
            "precision": precision,
        },
        "probabilities": {
            "states": states(precision),
            "out": np.zeros(BATCH << NUM_QUBITS),
            "precision": precision,
        },
        "reduce_partials": {
            "partials": np.zeros(BATCH << (NUM_MEASURED + CHUNK_BITS)),
            "chunk_bits": CHUNK_BITS,
            "sums": np.zeros(BATCH << NUM_MEASURED),
        },
        "sample": {
            "cumulative": np.zeros(BATCH << NUM_MEASURED),
            "num_measured": NUM_MEASURED,
            "shots": SHOTS,
            "seeds": np.zeros(BATCH, dtype=np.uint64),
            "outcomes": np.zeros(BATCH * SHOTS, dtype=np.int64),
        },
        "classical": {
            "rows": rows(),
            "width": WIDTH,
            "code": PROGRAM.copy(),
            "host_code": PROGRAM.copy(),
            "mask_slot": SLOT,
        },
        "decide_outcomes": {
            "rows": rows(),
            "width": WIDTH,
            "probabilities": np.zeros(2 * BATCH),
            "seed": SEED,
            "clbit_slot": SLOT - 1,
            "mask_slot": SLOT,
        },
        "collapse": {
            "states": states(precision),
            "num_qubits": NUM_QUBITS,
            "batch": BATCH,
            "qubit": 2,
            "probabilities": np.zeros(2 * BATCH),
            "rows": rows(),
            "width": WIDTH,
            "reset": True,
            "mask_slot": SLOT,
            "precision": precision,
        },
        "gather": {
            "source": states(precision),
            "branches": np.zeros(2 << NUM_QUBITS, dtype=POINTEE_DTYPES["qc::complex<T>"][precision]),
            "num_qubits": NUM_QUBITS,
            "sources": np.array([2, 0], dtype=np.int64),
            "host_sources": np.array([2, 0], dtype=np.int64),
            "precision": precision,
        },
        "expectation_partials": {
            "states": states(precision),
            "num_qubits": NUM_QUBITS,
            "batch": BATCH,
            "tables": (PASSES, PIECES),
            "table_arrays": (PASSES.ravel(), PIECES.ravel()),
            "chunk_bits": CHUNK_BITS,
            "partials": np.zeros((len(PIECES) * BATCH * 2) << CHUNK_BITS),
            "precision": precision,
        },
        "sample_shots": {
            "cumulative": np.zeros(BATCH << NUM_MEASURED),
            "num_measured": NUM_MEASURED,
            "shot_states": SHOT_STATES.copy(),
            "host_states": SHOT_STATES.copy(),
            "shot_numbers": np.arange(SHOTS, dtype=np.int64),
            "rows": rows(),
            "width": WIDTH,
            "seed": SEED,
            "outcomes": np.zeros(SHOTS, dtype=np.int64),
        },
    }[builder]


#: The state each of the SHOTS shots of sample_shots draws from (every one of BATCH).
SHOT_STATES = np.array([0, 2, 1, 1, 0, 2, 2], dtype=np.int64)

#: The pass and piece tables of expectation_partials: flip 0b011 (two pieces), then 0.
PASSES = np.array([[0b011, 0, 2], [0, 2, 1]], dtype=np.int64)
PIECES = np.array([[0b110, 0, 0], [0, 0b100, 0b100], [0b111, 0, 0]], dtype=np.int64)

#: Host copies the builders check, which are not kernel arguments.
HOST_ONLY = {
    ("classical", "host_code"),
    ("gather", "host_sources"),
    ("sample_shots", "host_states"),
    ("expectation_partials", "tables"),
}


def build(builder: str, precision: str, **changes: Any) -> launches.Launch:
    """Call one launch builder with well-typed arguments, some replaced by ``changes``."""
    module = launches if hasattr(launches, builder) else trajectory_launches
    function: Callable[..., launches.Launch] = getattr(module, builder)
    return function(**{**well_typed(builder, precision), **changes})


BUILDERS = (
    "set_zero_state",
    "apply_op",
    "blocked_run",
    "marginal_partials",
    "probabilities",
    "reduce_partials",
    "sample",
    "classical",
    "decide_outcomes",
    "collapse",
    "gather",
    "sample_shots",
    "expectation_partials",
)
#: Builders of kernels that are not templates.
PLAIN_BUILDERS = ("reduce_partials", "sample", "classical", "decide_outcomes", "sample_shots")
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
        "const double*",
        "int",
        "long long",
        "long long",
        "const unsigned long long*",
        "long long*",
    )
    assert signatures["qc_apply_op"] == (
        "qc::complex<T>*",
        "int",
        "long long",
        "const long long*",
        "const qc::complex<T>*",
        "const long long*",
        "long long",
        "long long",
    )
    assert signatures["qc_classical"] == (
        "long long*",
        "long long",
        "long long",
        "const long long*",
        "long long",
        "long long",
    )
    assert signatures["qc_decide_outcomes"] == (
        "long long*",
        "long long",
        "long long",
        "const double*",
        "unsigned long long",
        "long long",
        "long long",
    )
    assert signatures["qc_collapse"] == (
        "qc::complex<T>*",
        "int",
        "long long",
        "int",
        "const double*",
        "const long long*",
        "long long",
        "int",
        "long long",
    )
    assert signatures["qc_gather"] == (
        "const qc::complex<T>*",
        "qc::complex<T>*",
        "int",
        "long long",
        "const long long*",
    )
    assert signatures["qc_sample_shots"] == (
        "const double*",
        "int",
        "long long",
        "const long long*",
        "const long long*",
        "const long long*",
        "long long",
        "unsigned long long",
        "long long*",
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
    if builder in PLAIN_BUILDERS:
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
        ("classical", "rows", 2),
        ("decide_outcomes", "rows", 2),
        ("collapse", "states", 2),
        ("gather", "branches", 3),
        ("sample_shots", "outcomes", 2),
    ],
)
def test_items_cover_the_output_exactly(builder: str, output: str, position: int) -> None:
    """One item per output element; a row for the classical kernels, an amplitude pair
    for collapse."""
    launch = build(builder, "double")
    size = {
        ("set_zero_state", "states"): BATCH << NUM_QUBITS,
        ("marginal_partials", "partials"): BATCH << (NUM_MEASURED + CHUNK_BITS),
        ("probabilities", "out"): BATCH << NUM_QUBITS,
        ("reduce_partials", "sums"): BATCH << NUM_MEASURED,
        ("sample", "outcomes"): BATCH * SHOTS,
        ("classical", "rows"): BATCH,
        ("decide_outcomes", "rows"): BATCH,
        ("collapse", "states"): BATCH << (NUM_QUBITS - 1),
        ("gather", "branches"): 2 << NUM_QUBITS,
        ("sample_shots", "outcomes"): SHOTS,
    }[builder, output]
    assert launch.num_items == size
    assert launch.arguments[position] == size


def test_expectation_partials_has_one_item_per_pass_state_and_chunk() -> None:
    """Each item sums one pass's pieces over one chunk of one state."""
    launch = build("expectation_partials", "double")
    assert launch.num_items == (len(PASSES) * BATCH) << CHUNK_BITS
    assert launch.arguments[3] == launch.num_items


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
    if isinstance(array, np.ndarray) and (builder, name) not in HOST_ONLY
]


def test_every_kernel_array_argument_is_tried() -> None:
    """The new builders' arrays are among those tried, the mask's rows included."""
    tried = {(builder, name) for builder, name, _ in ARRAY_ARGUMENTS}
    assert ("apply_op", "mask") in tried
    for builder in ("classical", "decide_outcomes", "collapse", "gather", "sample_shots"):
        launch = build(builder, "double")
        arrays = sum(isinstance(argument, np.ndarray) for argument in launch.arguments)
        assert arrays == sum(1 for b, _ in tried if b == builder), builder


#: Builders that compute their number of items from ``rows.size`` before the type check.
@pytest.mark.parametrize(("builder", "name", "index"), ARRAY_ARGUMENTS)
@pytest.mark.parametrize(
    "wrong",
    [
        np.zeros(4, dtype=np.float32),
        np.zeros(4, dtype=np.int32),
        [0, 0, 0, 0],
        np.float64(0.0),
        np.int64(0),
        np.uint64(0),
    ],
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


@pytest.mark.parametrize(
    ("builder", "name"),
    [
        ("apply_op", "states"),
        ("apply_op", "data"),
        ("blocked_run", "states"),
        ("blocked_run", "data"),
        ("collapse", "states"),
        ("gather", "source"),
        ("gather", "branches"),
    ],
)
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
        ("decide_outcomes", "seed", 1.0),
        ("sample_shots", "seed", np.float64(3)),
        ("classical", "mask_slot", np.array(SLOT)),
        ("collapse", "qubit", 2.0),
    ],
)
def test_a_non_integer_scalar_is_refused(builder: str, name: str, wrong: Any) -> None:
    with pytest.raises(CupySimulatorError, match="must be an integer"):
        build(builder, "double", **{name: wrong})


@pytest.mark.parametrize(
    ("builder", "name", "value"),
    [
        ("reduce_partials", "chunk_bits", 2**31),
        ("reduce_partials", "chunk_bits", -(2**31) - 1),
        ("sample", "shots", 2**63),
        ("decide_outcomes", "seed", 2**64),
        ("decide_outcomes", "seed", -1),
        ("sample_shots", "seed", -1),
        ("classical", "mask_slot", 2**63),
        ("collapse", "qubit", 2**31),
    ],
)
def test_an_integer_too_wide_for_its_parameter_is_refused(builder: str, name: str, value: int) -> None:
    with pytest.raises(CupySimulatorError, match="out of range"):
        build(builder, "double", **{name: value})


def test_numpy_integer_scalars_are_accepted_and_narrowed() -> None:
    launch = build("sample", "double", num_measured=np.int64(2), shots=np.uint64(7))
    assert type(launch.arguments[1]) is np.int32 and launch.arguments[1] == 2
    assert type(launch.arguments[3]) is np.int64 and launch.arguments[3] == 7


def test_a_seed_takes_all_64_unsigned_bits() -> None:
    launch = build("decide_outcomes", "double", seed=SEED)
    assert type(launch.arguments[4]) is np.uint64 and int(launch.arguments[4]) == SEED
    launch = build("sample_shots", "double", seed=np.uint64(SEED))
    assert type(launch.arguments[7]) is np.uint64 and int(launch.arguments[7]) == SEED


def test_collapse_passes_reset_as_an_int() -> None:
    for reset in (True, False):
        launch = build("collapse", "single", reset=reset)
        assert type(launch.arguments[7]) is np.int32 and launch.arguments[7] == int(reset)


def test_an_unconditioned_op_takes_any_rows() -> None:
    """Mask slot -1: the rows are not read, so a one-element array will do."""
    launch = build("apply_op", "double", mask=(np.zeros(1, dtype=np.int64), 1, -1))
    assert launch.arguments[-2:] == (1, -1)


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
        # the mask of a conditioned op
        ("apply_op", {"mask": (rows(), WIDTH, WIDTH)}, "slot outside the rows"),
        ("apply_op", {"mask": (rows()[1:], WIDTH, SLOT)}, "rows must have batch * row_width entries"),
        ("apply_op", {"mask": (np.zeros(BATCH * 2, dtype=np.int64), 2, 1)}, "slot outside the rows"),
        # classical programs
        ("classical", {"mask_slot": WIDTH}, "slot outside the rows"),
        ("classical", {"host_code": np.array([99, 0], dtype=np.int64)}, "unknown classical opcode"),
        (
            "classical",
            {"host_code": program(("kLoad", WIDTH), ("kPop", 0))},
            "classical program names a slot outside the row",
        ),
        (
            "classical",
            {"host_code": program(("kPushConst", 1), ("kStore", -1))},
            "classical program names a slot outside the row",
        ),
        (
            "classical",
            {"host_code": program(("kPushConst", 1), ("kAdd", 0), ("kStore", 3))},
            "classical program pops an empty stack",
        ),
        (
            "classical",
            {"host_code": program(("kPushConst", 1))},
            "classical program leaves values on the stack",
        ),
        (
            "classical",
            {"host_code": program(*[("kPushConst", 0)] * 33, *[("kPop", 0)] * 33)},
            "classical program is deeper than the stack",
        ),
        (
            "classical",
            {"host_code": program(("kLoad", 3), ("kMaskWidth", 65), ("kStore", 3))},
            "mask width out of range",
        ),
        ("classical", {"host_code": PROGRAM[:-1]}, "a classical program is (opcode, operand) pairs"),
        # measurement draws
        ("decide_outcomes", {"clbit_slot": WIDTH}, "slot outside the rows"),
        ("decide_outcomes", {"mask_slot": WIDTH}, "slot outside the rows"),
        ("decide_outcomes", {"probabilities": np.zeros(BATCH)}, "probabilities must have 2 * batch entries"),
        # collapse
        ("collapse", {"qubit": NUM_QUBITS}, "qubit out of range"),
        ("collapse", {"qubit": -1}, "qubit out of range"),
        ("collapse", {"probabilities": np.zeros(2 * BATCH + 1)}, "probabilities must have 2 * batch entries"),
        ("collapse", {"rows": rows()[1:]}, "rows must have batch * row_width entries"),
        (
            "collapse",
            {"width": 2, "rows": np.zeros(2 * BATCH, dtype=np.int64), "mask_slot": -1},
            "slot outside the rows",
        ),
        ("collapse", {"mask_slot": WIDTH}, "slot outside the rows"),
        ("collapse", {"batch": BATCH + 1}, "state array length must be batch * 2**num_qubits"),
        # gather
        (
            "gather",
            {"host_sources": np.array([3, 0], dtype=np.int64)},
            "a branch's source state is out of range",
        ),
        (
            "gather",
            {"host_sources": np.array([0, -1], dtype=np.int64)},
            "a branch's source state is out of range",
        ),
        (
            "gather",
            {"host_sources": np.array([0, 1, 2], dtype=np.int64)},
            "branches must have len(sources) states",
        ),
        # terminal draws
        (
            "sample_shots",
            {"host_states": np.array([0, 1, 2, 3, 0, 0, 0], dtype=np.int64)},
            "a shot's state is out of range",
        ),
        (
            "sample_shots",
            {"host_states": np.array([0, 1, 2, -1, 0, 0, 0], dtype=np.int64)},
            "a shot's state is out of range",
        ),
        (
            "sample_shots",
            {"shot_numbers": np.arange(SHOTS - 1, dtype=np.int64)},
            "shot states, shot numbers and outcomes differ in length",
        ),
        (
            "sample_shots",
            {"outcomes": np.zeros(SHOTS + 1, dtype=np.int64)},
            "shot states, shot numbers and outcomes differ in length",
        ),
        (
            "sample_shots",
            {"cumulative": np.zeros((BATCH << NUM_MEASURED) + 1)},
            "cumulative must hold whole rows of 2**m entries",
        ),
        ("sample_shots", {"rows": rows()[1:]}, "rows must have batch * row_width entries"),
    ],
)
def test_values_are_checked_by_the_cpu_extension_checks(
    builder: str, changes: dict[str, Any], message: str
) -> None:
    """A well-typed launch with a bad value is refused with the CPU extension's message."""
    with pytest.raises(ValueError, match=re.escape(message)):
        build(builder, "double", **changes)


def _refusal(call: Callable[[], Any]) -> str | None:
    """The ValueError message of a call, or None where it is accepted."""
    try:
        call()
    except ValueError as error:
        return str(error)
    return None


@pytest.mark.parametrize("builder", ["classical", "decide_outcomes"])
@pytest.mark.parametrize(
    ("rows_size", "width"),
    [(BATCH * WIDTH - 1, WIDTH), (2 * BATCH, 2), (0, WIDTH)],
    ids=["partial-row", "width-below-fixed-slots", "no-rows"],
)
def test_rows_are_refused_as_the_cpu_extension_refuses_them(builder: str, rows_size: int, width: int) -> None:
    """Both devices refuse the same calls with the same message (launches.py's promise):
    rows that are not whole rows, or none at all, as ``_cpu.classical`` and
    ``_cpu.decide_outcomes`` judge them."""
    host_rows = np.zeros(rows_size, dtype=np.int64)
    batch = rows_size // width
    if builder == "classical":
        on_cpu = _refusal(lambda: _cpu.classical(host_rows.copy(), width, PROGRAM, -1, 1))
        on_gpu = _refusal(lambda: build("classical", "double", rows=host_rows, width=width, mask_slot=-1))
    else:
        weights = np.zeros(2 * batch)
        on_cpu = _refusal(lambda: _cpu.decide_outcomes(host_rows.copy(), width, weights, 1, -1, -1, 1))
        on_gpu = _refusal(
            lambda: build(
                "decide_outcomes",
                "double",
                rows=host_rows,
                width=width,
                probabilities=weights,
                clbit_slot=-1,
                mask_slot=-1,
            )
        )
    assert on_gpu == on_cpu


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


@pytest.mark.parametrize("precision", PRECISIONS)
def test_a_blocked_run_has_one_item_per_state_block_each_for_a_whole_cuda_block(precision: str) -> None:
    launch = build("blocked_run", precision)
    block_bits = kernel_source.BLOCK_BITS[precision]
    assert launch.kernel == f"qc_apply_blocked_run<{kernel_source.PRECISION_TYPES[precision]}, {block_bits}>"
    assert launch.num_items == BATCH << (BLOCKED_QUBITS - block_bits)
    assert launch.arguments[2] == launch.num_items and launch.arguments[4] == 2
    assert launch.block_per_item
    assert not build("apply_op", precision).block_per_item


def test_each_precisions_block_fits_the_static_shared_memory_of_a_cuda_block() -> None:
    """The largest power of two of amplitudes within 48 KiB: one bit more would not fit."""
    for precision, bits in kernel_source.BLOCK_BITS.items():
        itemsize = np.dtype(POINTEE_DTYPES["qc::complex<T>"][precision]).itemsize
        assert itemsize << bits <= kernel_source.STATIC_SHARED_BYTES < itemsize << (bits + 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"highest_qubit": 11}, "every qubit below the block width 11"),
        ({"num_qubits": 11, "states": np.zeros(BATCH << 11, dtype=np.complex128)}, "states wider than it"),
        ({"num_ops": 3}, "a blocked run of 3 ops needs as many rows"),
        ({"num_ops": 0, "ops": np.zeros(0, dtype=np.int64)}, "a blocked run of 0 ops"),
        ({"mask": (np.zeros(BATCH * WIDTH - 1, dtype=np.int64), WIDTH, SLOT)}, "rows"),
    ],
)
def test_a_blocked_run_that_does_not_fit_its_blocks_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build("blocked_run", "double", **changes)


def _gate(targets: tuple[int, ...], controls: tuple[int, ...] = (), kind: OpKind = OpKind.DENSE) -> GateOp:
    k = len(targets)
    data = np.eye(1 << k) if kind is OpKind.DENSE else np.ones(1 << k)
    permutation = tuple(range(1 << k)) if kind is OpKind.PERMUTATION else ()
    return GateOp(kind, targets, data, controls, 0, permutation)


def test_highest_qubits_reads_targets_and_sorted_positions() -> None:
    ops = [
        _gate((3,)),
        _gate((2,), (9,), OpKind.DIAGONAL),  # a diagonal's target is not a sorted position
        _gate((7, 1), (), OpKind.DIAGONAL),
        _gate((0, 5), (), OpKind.PERMUTATION),
        _gate(tuple(range(8)), (12,), OpKind.WIDE_DIAGONAL),
    ]
    assert gpu_segments.highest_qubits(encode_program(ops).rows).tolist() == [3, 9, 7, 5, 12]
    assert gpu_segments.highest_qubits(np.zeros((0, OP_LAYOUT["kOpWidth"]), dtype=np.int64)).size == 0


def test_program_segments_group_runs_of_two_or_more_ops_below_the_block() -> None:
    low, high = _gate((1,)), _gate((4,), (6,))
    ops = [low, high, low, low, low, high, low, high, high, low, low]
    segments = gpu_segments.program_segments(encode_program(ops).rows, 5)
    S = gpu_segments.ProgramSegment
    assert segments == (
        S(0, 2, False, 6),  # a lone low op stays with the high one after it
        S(2, 5, True, 1),
        S(5, 9, False, 6),  # one low op between high ones is not a run
        S(9, 11, True, 1),
    )
    assert gpu_segments.program_segments(encode_program([low]).rows, 5) == (S(0, 1, False, 1),)
    assert gpu_segments.program_segments(encode_program([low, low]).rows, 2) == (S(0, 2, True, 1),)
    assert gpu_segments.program_segments(encode_program([low, low]).rows, 1) == (S(0, 2, False, 1),)
    assert gpu_segments.program_segments(np.zeros((0, OP_LAYOUT["kOpWidth"]), dtype=np.int64), 5) == ()

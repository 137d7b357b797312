"""The ``qiskit-cupy`` command line (also ``python -m qiskit_cupy``).

Each subcommand is added to the parser by one function listed in :data:`COMMANDS`; it
sets ``run``, the function that carries the parsed arguments out and returns the exit
code. A new subcommand is one more such function.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from qiskit_cupy import nvrtc_check
from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.version import __version__

#: The object ``add_subparsers`` returns, to which each command adds its parser.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: Columns of the ``kernels check`` table: heading and the KernelResources attribute.
_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("arch", "architecture"),
    ("precision", "precision"),
    ("kernel", "kernel"),
    ("registers", "registers"),
    ("spill stores", "spill_store_bytes"),
    ("spill loads", "spill_load_bytes"),
    ("stack", "stack_frame_bytes"),
)


def _choices(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """Make an argparse type that reads a comma-separated list of allowed values.

    Args:
        allowed: The values that may appear.

    Returns:
        A function from the option's text to the tuple of values.
    """

    def parse(text: str) -> tuple[str, ...]:
        values = tuple(value.strip() for value in text.split(",") if value.strip())
        unknown = [value for value in values if value not in allowed]
        if unknown or not values:
            raise argparse.ArgumentTypeError(
                f"{text!r}: choose from {','.join(allowed)} (comma-separated)"
            )
        return values

    return parse


def format_table(rows: Sequence[Sequence[object]], headings: Sequence[str]) -> str:
    """Lay rows out in columns: text left-aligned, numbers right-aligned.

    Args:
        rows: The table's rows, each with one value per heading.
        headings: The column headings.

    Returns:
        The table, a heading line and a rule first, without a trailing newline.
    """
    cells = [[str(value) for value in row] for row in rows]
    widths = [
        max([len(heading), *(len(row[column]) for row in cells)])
        for column, heading in enumerate(headings)
    ]
    numeric = [
        bool(rows) and all(isinstance(row[column], int) for row in rows)
        for column in range(len(headings))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join([line(headings), line(["-" * width for width in widths]), *map(line, cells)])


def _summary(report: nvrtc_check.CheckReport) -> str:
    """One line that says what was compiled, the largest register count and any spills."""
    kernels = report.kernels
    architectures = list(dict.fromkeys(compiled.architecture for compiled in report.compiled))
    precisions = list(dict.fromkeys(compiled.precision for compiled in report.compiled))
    major, minor = report.nvrtc_version
    heaviest = max(kernels, key=lambda kernel: kernel.registers)
    spilling = [kernel for kernel in kernels if kernel.spill_store_bytes or kernel.spill_load_bytes]
    skipped = ", ".join(report.skipped) or "none"
    return (
        f"OK: {len(report.compiled)} compile(s), {len(kernels)} kernels with NVRTC {major}.{minor} "
        f"for {', '.join(architectures)} x {', '.join(precisions)}; "
        f"most registers {heaviest.registers} ({heaviest.kernel} on {heaviest.architecture}); "
        f"{len(spilling)} kernel(s) spill; skipped architectures: {skipped}"
    )


def _kernels_check(arguments: argparse.Namespace) -> int:
    """Run ``kernels check``: compile, print the table and the summary.

    Args:
        arguments: The parsed ``--arch``, ``--precision`` and ``--log``.

    Returns:
        0 when every compile succeeded, 1 otherwise.
    """
    try:
        report = nvrtc_check.check_kernels(arguments.arch, arguments.precision)
    except CupySimulatorError as error:
        print(f"qiskit-cupy kernels check: FAILED: {error.message}", file=sys.stderr)
        return 1
    headings = [heading for heading, _ in _TABLE_COLUMNS]
    rows = [[getattr(kernel, name) for _, name in _TABLE_COLUMNS] for kernel in report.kernels]
    print(format_table(rows, headings))
    if arguments.log:
        for compiled in report.compiled:
            print(f"\n---- NVRTC log: {compiled.architecture} {compiled.precision} ----")
            print(compiled.log)
    print(_summary(report))
    return 0


def _add_kernels_command(commands: Subcommands) -> None:
    """Add ``kernels`` and its actions (``check``) to the command line.

    Args:
        commands: The top-level subcommands.
    """
    kernels = commands.add_parser("kernels", help="work with the GPU kernels")
    actions = kernels.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="compile the GPU kernels offline with NVRTC (no GPU needed)",
        description=(
            "Compile the exact source, options and kernel instantiations the GPU device "
            "uses with NVRTC for each architecture and precision, and report every "
            "kernel's registers, spills and stack frame from ptxas."
        ),
    )
    check.add_argument(
        "--arch",
        type=_choices(nvrtc_check.SUPPORTED_ARCHITECTURES),
        default=None,
        help="comma-separated architectures (default: every supported one NVRTC can target)",
    )
    check.add_argument(
        "--precision",
        type=_choices(nvrtc_check.PRECISIONS),
        default=nvrtc_check.PRECISIONS,
        help=f"comma-separated precisions (default: {','.join(nvrtc_check.PRECISIONS)})",
    )
    check.add_argument("--log", action="store_true", help="also print NVRTC's full logs")
    check.set_defaults(run=_kernels_check)


#: The functions that each add one subcommand (setting its ``run``) to the command line.
COMMANDS: tuple[Callable[[Subcommands], None], ...] = (_add_kernels_command,)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``qiskit-cupy`` argument parser with every command of :data:`COMMANDS`.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="qiskit-cupy", description="Tools of the qiskit-cupy Qiskit provider."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``qiskit-cupy`` command line.

    Args:
        argv: The arguments after the program name; None reads ``sys.argv``.

    Returns:
        The exit code: 0 on success, 1 when the command failed (argparse exits with 2 on
        a usage error).
    """
    arguments = build_parser().parse_args(argv)
    return arguments.run(arguments)

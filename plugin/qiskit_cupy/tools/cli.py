"""The ``qiskit-cupy`` command line (also ``python -m qiskit_cupy``).

Each subcommand is added to the parser by one function listed in :data:`COMMANDS`; it
sets ``run``, the function that carries the parsed arguments out and returns the exit
code. A new subcommand is one more such function.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.options import PRECISIONS
from qiskit_cupy.runtime.progress import progress_bar
from qiskit_cupy.tools import bench, nvrtc_check
from qiskit_cupy.tools.arguments import Subcommands, choices, positive
from qiskit_cupy.tools.calibrate import add_calibrate_command
from qiskit_cupy.tools.info import add_info_command
from qiskit_cupy.tools.run_files import add_run_command
from qiskit_cupy.tools.tables import format_table
from qiskit_cupy.version import __version__

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
        type=choices(nvrtc_check.SUPPORTED_ARCHITECTURES),
        default=None,
        help="comma-separated architectures (default: every supported one NVRTC can target)",
    )
    check.add_argument(
        "--precision",
        type=choices(nvrtc_check.PRECISIONS),
        default=nvrtc_check.PRECISIONS,
        help=f"comma-separated precisions (default: {','.join(nvrtc_check.PRECISIONS)})",
    )
    check.add_argument("--log", action="store_true", help="also print NVRTC's full logs")
    check.set_defaults(run=_kernels_check)


def _qubits(text: str) -> tuple[int, ...]:
    """The argparse type of ``--qubits``: :func:`bench.parse_qubits` with argparse's error."""
    try:
        return bench.parse_qubits(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _measure(config: bench.BenchConfig) -> bench.BenchReport:
    """Run the benchmark with a bar over its measurements, each one's line above it."""
    total = len(config.circuits) * len(config.qubits) * len(config.precisions) * len(config.simulators)
    with progress_bar(total, "bench", True, unit="measurement") as bar:

        def measured(line: str) -> None:
            bar.write(line, file=sys.stderr)  # above the bar on a terminal, plain otherwise
            bar.update(1)

        return bench.run_benchmark(config, progress=measured)


def _bench(arguments: argparse.Namespace) -> int:
    """Run ``bench``: measure, print the table, write the raw results, plot and page.

    Args:
        arguments: The parsed options of ``bench``.

    Returns:
        0 when every measurement that could run did, 1 when one failed or an output
        cannot be written.
    """
    plot = arguments.plot
    missing_plotter = bench.plot_unavailable_reason()
    if missing_plotter is not None:
        if plot is not None:
            print(f"qiskit-cupy bench: FAILED: --plot: {missing_plotter}", file=sys.stderr)
            return 1
        print(f"qiskit-cupy bench: no plot: {missing_plotter}", file=sys.stderr)
    elif plot is None:
        plot = arguments.output_dir / "bench.png"
    config = bench.BenchConfig(
        circuits=arguments.circuits,
        qubits=arguments.qubits,
        precisions=arguments.precision,
        simulators=arguments.simulators,
        repeat=arguments.repeat,
        shots=arguments.shots,
    )
    outputs = [f"--output-dir {shlex.quote(str(arguments.output_dir))}"]
    outputs += [f"--plot {shlex.quote(str(arguments.plot))}"] if arguments.plot else []
    outputs += [f"--markdown {shlex.quote(str(arguments.markdown))}"] if arguments.markdown else []
    command = config.command(outputs)
    arguments.output_dir.mkdir(parents=True, exist_ok=True)
    report = _measure(config)
    headings, rows = bench.table(report)
    print(format_table(rows, headings))
    print()
    print("\n".join(bench.notes(report)))
    bench.write_csv(report, arguments.output_dir / "bench.csv")
    bench.write_json(report, arguments.output_dir / "bench.json", command)
    written = [arguments.output_dir / "bench.csv", arguments.output_dir / "bench.json"]
    if plot is not None:
        bench.write_plot(report, plot)
        written.append(plot)
    if arguments.markdown:
        bench.write_markdown(report, arguments.markdown, command, plot)
        written.append(arguments.markdown)
    print(f"wrote {', '.join(map(str, written))}")
    failed = [m for m in report.measurements if m.failures]
    for measurement in failed:
        print(
            f"qiskit-cupy bench: {measurement.simulator} failed on {measurement.circuit} "
            f"{measurement.qubits} {measurement.precision}: {measurement.failures}",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _add_bench_command(commands: Subcommands) -> None:
    """Add ``bench`` (qiskit-cupy against its peers) to the command line.

    Args:
        commands: The top-level subcommands.
    """
    parser = commands.add_parser(
        "bench",
        help="benchmark qiskit-cupy (GPU, CPU fallback) against Qiskit Aer and qsim",
        description=(
            "Run the same circuits on qiskit-cupy's GPU (where one is usable) and CPU "
            "fallback, Qiskit Aer and qsim (where installed); print times, ratios to each "
            "peer and each CPU-fallback time as a fraction of the memory-bandwidth limit "
            "measured in the run; write CSV and JSON results, a PNG plot and optionally a "
            "Markdown report."
        ),
    )
    parser.add_argument(
        "--circuits",
        type=choices(tuple(bench.CIRCUITS)),
        default=bench.DEFAULT_CIRCUITS,
        help=f"comma-separated circuits of {','.join(bench.CIRCUITS)} (default: "
        f"{','.join(bench.DEFAULT_CIRCUITS)}; {' and '.join(sorted(bench.DYNAMIC_CIRCUITS))} "
        "have mid-circuit measurements)",
    )
    parser.add_argument(
        "--qubits",
        type=_qubits,
        default=bench.BenchConfig.qubits,
        help="widths: a list and/or inclusive start:stop[:step] ranges, e.g. 4:26:2 or 4,6,10 "
        f"(default: {bench.format_qubits(bench.BenchConfig.qubits)})",
    )
    parser.add_argument(
        "--precision",
        type=choices(PRECISIONS),
        default=PRECISIONS,
        help=f"comma-separated precisions (default: {','.join(PRECISIONS)})",
    )
    parser.add_argument(
        "--simulators",
        type=choices(tuple(bench.SIMULATORS)),
        default=tuple(bench.SIMULATORS),
        help=f"comma-separated simulators (default: {','.join(bench.SIMULATORS)}); the "
        "unavailable ones are reported as not measured",
    )
    parser.add_argument(
        "--repeat",
        type=positive,
        default=bench.BenchConfig.repeat,
        help=f"timed runs after the warm-up; the median counts (default: {bench.BenchConfig.repeat})",
    )
    parser.add_argument(
        "--shots",
        type=positive,
        default=bench.BenchConfig.shots,
        help=f"shots of each run (default: {bench.BenchConfig.shots})",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("bench-results"),
        help="where bench.csv, bench.json and (by default) bench.png go (default: bench-results)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="the PNG plot of time against qubits "
        "(default: OUTPUT_DIR/bench.png when matplotlib is installed)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write a Markdown report (machine, command, table, plot) here",
    )
    parser.set_defaults(run=_bench)


#: The functions that each add one subcommand (setting its ``run``) to the command line.
COMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    add_info_command,
    add_calibrate_command,
    add_run_command,
    _add_kernels_command,
    _add_bench_command,
)


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
    code: int = arguments.run(arguments)  # each command's run returns its exit code
    return code

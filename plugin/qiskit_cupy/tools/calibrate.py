"""``qiskit-cupy calibrate``: measure the CPU's op costs again, or show the kept ones.

The CPU device prices fusion with costs measured on the machine
(``devices/calibration.py``); they are measured once, at the first job of each
precision, and kept. Measuring again is worth it after the machine changed (another
processor, a busy machine during the first measurement). A new measurement may fuse
circuits differently, and so change the last digits of amplitudes and, for a seed, a
few counts.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from qiskit_cupy.devices.calibration import Calibration, cache_file, calibration, machine_key
from qiskit_cupy.tools.arguments import Subcommands, choices
from qiskit_cupy.tools.tables import format_table

PRECISIONS = ("double", "single")


def add_calibrate_command(commands: Subcommands) -> None:
    """Add ``calibrate`` to the command line.

    Args:
        commands: The top-level subcommands.
    """
    parser = commands.add_parser(
        "calibrate",
        help="measure the CPU's op costs that fusion prices with (or --show them)",
        description=(
            "Measure, on every core, the CPU fallback's bandwidth, the cost per amplitude of "
            "a dense op of 1 to 5 targets and the fixed cost of an op, and keep them for "
            "every later job on this machine (the first job of a precision measures them "
            "when none are kept). --show prints the kept costs, measuring only those that "
            "are missing."
        ),
        epilog=(
            "examples:\n  qiskit-cupy calibrate\n  qiskit-cupy calibrate --precision single\n"
            "  qiskit-cupy calibrate --show --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--precision",
        type=choices(PRECISIONS),
        default=PRECISIONS,
        help="comma-separated precisions (default: double,single)",
    )
    parser.add_argument("--show", action="store_true", help="print the kept costs; measure only missing ones")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(run=_calibrate)


def _calibrate(arguments: argparse.Namespace) -> int:
    """Run ``calibrate``; always 0 (a measurement that fails raises)."""
    found = {
        precision: calibration(precision, remeasure=not arguments.show) for precision in arguments.precision
    }
    if arguments.json:
        report = {
            "file": str(cache_file()),
            "calibrations": {
                precision: {"key": machine_key(precision), **asdict(c)} for precision, c in found.items()
            },
        }
        print(json.dumps(report, indent=2))
        return 0
    print(calibration_text(found))
    return 0


def calibration_text(found: dict[str, Calibration]) -> str:
    """The kept costs as a table, one row per precision, and where they are kept."""
    headings = [
        "precision",
        "state",
        "bandwidth [GB/s]",
        *[f"dense {k} [ns/amp]" for k in range(1, 6)],
        "in cache: diagonal, dense 1-5 [ns/amp]",
        "op [us]",
    ]
    rows = [
        [
            precision,
            f"{c.num_qubits} qubits",
            f"{c.bandwidth / 1e9:.1f}",
            *[f"{seconds * 1e9:.2f}" for seconds in c.dense_seconds],
            " ".join(f"{seconds * 1e9:.2f}" for seconds in c.blocked_seconds)
            + f" ({c.block_bits}-qubit blocks)",
            f"{c.launch_seconds * 1e6:.1f}",
        ]
        for precision, c in found.items()
    ]
    return f"{format_table(rows, headings)}\n\nkept in {cache_file()}"

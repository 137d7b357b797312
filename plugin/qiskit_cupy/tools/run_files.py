"""``qiskit-cupy run FILE...``: run OpenQASM 2, OpenQASM 3 and QPY files from the shell.

A file that cannot be read or run gives one line on standard error that names the file
(and the line, where the parser says which) and the problem, and exit code 2; nothing
runs until every file has loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import qasm2, qasm3, qpy
from qiskit.circuit import QuantumCircuit

from qiskit_cupy.errors import CupySimulatorError
from qiskit_cupy.options import DEVICES, PRECISIONS
from qiskit_cupy.tools.arguments import Subcommands, positive
from qiskit_cupy.tools.tables import format_table

#: Where a parser's message says the line: qasm2 ``<input>:L,C:``, the qasm3 importer
#: ``L,C:``, the OpenQASM 3 lexer ``LL:CC:``.
_LINE = re.compile(r'^"?(?:<input>:)?(\d+),\d+: (.*?)"?$|^L(\d+):C\d+: (.*)')
#: Amplitudes smaller than this are left out of the printed statevector table.
_SHOWN_AMPLITUDE = 1e-12


class CircuitFileError(CupySimulatorError):
    """A circuit file that cannot be loaded or run; the message names file and line."""


def _syntax_error(error: BaseException) -> str:
    """The OpenQASM 3 parser's bare error, from the ANTLR token it stopped at."""
    cause = error.__cause__
    while cause is not None:
        for candidate in (cause, *getattr(cause, "args", ())):
            token = getattr(candidate, "offendingToken", None)
            if token is not None:
                return f"L{token.line}:C{token.column}: syntax error at {token.text!r}"
        cause = cause.__cause__
    return type(error).__name__


def _problem(path: Path, error: BaseException) -> CircuitFileError:
    """One line naming the file, the line where known, and the problem."""
    text = " ".join(str(error).split()) or _syntax_error(error)
    match = _LINE.search(text)
    if match:
        line = match.group(1) or match.group(3)
        problem = match.group(2) if match.group(1) else match.group(4)
        return CircuitFileError(f"{path}:{line}: {problem}")
    return CircuitFileError(f"{path}: {text}")


def load_circuits(path: Path) -> list[QuantumCircuit]:
    """Load every circuit of a file: QPY by its ``.qpy`` suffix, else OpenQASM 2 or 3 by
    its version line.

    Raises:
        CircuitFileError: The file cannot be read or parsed.
    """
    try:
        if path.suffix.lower() == ".qpy":
            with path.open("rb") as handle:
                return list(qpy.load(handle))
        text = path.read_text(encoding="utf-8")
    except Exception as error:  # noqa: BLE001 - an unreadable file is one line, whatever the cause
        raise _problem(path, error) from error
    try:
        if re.match(r"\s*(//[^\n]*\n\s*)*OPENQASM\s+2", text):
            circuit = qasm2.loads(
                text,
                include_path=(str(path.parent),),
                custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
            )
        else:  # ANTLR's lexer also prints each error it raises; the raised one is enough
            with contextlib.redirect_stderr(io.StringIO()):
                circuit = qasm3.loads(text)
    except Exception as error:  # noqa: BLE001 - each parser raises its own types
        raise _problem(path, error) from error
    circuit.name = path.stem
    return [circuit]


def _statevector_rows(statevector: Any) -> list[list[object]]:
    amplitudes = np.asarray(statevector)
    width = max(1, int(np.log2(len(amplitudes))))
    return [
        [
            format(index, f"0{width}b"),
            f"{amplitude.real:+.6f}",
            f"{amplitude.imag:+.6f}",
            f"{abs(amplitude) ** 2:.6f}",
        ]
        for index, amplitude in enumerate(amplitudes)
        if abs(amplitude) > _SHOWN_AMPLITUDE
    ]


def _report(
    path: Path, circuit: QuantumCircuit, result: Any, index: int, arguments: argparse.Namespace
) -> dict[str, Any]:
    """What one circuit's run gave, JSON-ready."""
    data = result.data(index)
    entry: dict[str, Any] = {"file": str(path), "circuit": circuit.name, "shots": arguments.shots}
    entry["counts"] = dict(result.get_counts(index)) if "counts" in data else {}
    if arguments.memory:
        entry["memory"] = list(result.get_memory(index))
    if arguments.save_statevector:
        entry["statevector"] = [[float(a.real), float(a.imag)] for a in np.asarray(data["statevector"])]
    return entry


def _print_report(entry: dict[str, Any]) -> None:
    print(f"{entry['file']} ({entry['circuit']}): {entry['shots']} shots")
    counts = sorted(entry["counts"].items(), key=lambda item: (-item[1], item[0]))
    rows = [[bits, count, f"{count / entry['shots']:.4f}"] for bits, count in counts]
    print(format_table(rows, ["outcome", "count", "probability"]) if rows else "no measurements")
    if "memory" in entry:
        print("memory: " + " ".join(entry["memory"]))
    if "statevector" in entry:
        statevector = [complex(re_, im) for re_, im in entry["statevector"]]
        print(format_table(_statevector_rows(statevector), ["basis state", "real", "imag", "probability"]))
    print()


def _run(arguments: argparse.Namespace) -> int:
    """Run ``run``: load every file, run them as one job, print the results."""
    from qiskit_cupy import CupySimulator

    try:
        loaded = [(path, circuit) for path in arguments.files for circuit in load_circuits(path)]
        backend = CupySimulator(device=arguments.device, precision=arguments.precision)
        circuits = [circuit for _, circuit in loaded]
        result = backend.run(
            circuits,
            shots=arguments.shots,
            seed_simulator=arguments.seed,
            memory=arguments.memory,
            save_statevector=arguments.save_statevector,
        ).result()
    except CupySimulatorError as error:
        print(f"qiskit-cupy run: {error.message}", file=sys.stderr)
        return 2
    entries = [
        _report(path, circuit, result, index, arguments) for index, (path, circuit) in enumerate(loaded)
    ]
    if arguments.json:
        print(json.dumps(entries, indent=2))
    else:
        for entry in entries:
            _print_report(entry)
    return 0


def add_run_command(commands: Subcommands) -> None:
    """Add ``run`` to the command line.

    Args:
        commands: The top-level subcommands.
    """
    parser = commands.add_parser(
        "run",
        help="run OpenQASM 2/3 or QPY files and print their counts",
        description=(
            "Run every circuit of the files (OpenQASM 2 or 3 by the version line, QPY by "
            "the .qpy suffix) as one job and print each circuit's counts as a table, or "
            "as JSON. A bad file gives one line on standard error and exit code 2."
        ),
        epilog=(
            "examples:\n  qiskit-cupy run bell.qasm\n"
            "  qiskit-cupy run ghz.qasm --shots 4096 --seed 7 --device CPU\n"
            "  qiskit-cupy run circuits.qpy --save-statevector --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="the circuit files")
    parser.add_argument("--shots", type=positive, default=1024, help="shots per circuit (default: 1024)")
    parser.add_argument("--seed", type=int, default=None, help="seed_simulator (default: none)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="the device (default: auto)")
    parser.add_argument("--precision", choices=PRECISIONS, default="double", help="default: double")
    parser.add_argument("--memory", action="store_true", help="also print every shot's outcome")
    parser.add_argument("--save-statevector", action="store_true", help="also print each final state")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead")
    parser.set_defaults(run=_run)

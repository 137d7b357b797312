"""The package's layout: stages import only downward, every module imports alone, sizes stay small.

The stages are the subpackages: ``compiler`` (circuits to ops and encoded programs),
``devices`` (the Device interface, the CPU and GPU devices, the NVRTC source),
``runtime`` (steps, executor, results), the top-level API (backend, job, provider), and
``tools`` (CLI, NVRTC check, benchmark). A stage may import the stages before it, never
one after it, and no module may take part in an import cycle.
"""

from __future__ import annotations

import ast
import concurrent.futures
import subprocess
import sys
from pathlib import Path

import pytest

import qiskit_cupy

PACKAGE = Path(qiskit_cupy.__file__).resolve().parent

#: Each stage and the stages it may import, besides itself and the foundation modules.
ALLOWED_IMPORTS: dict[str, set[str]] = {
    "compiler": set(),
    "devices": {"compiler"},
    "runtime": {"compiler", "devices"},
    "api": {"compiler", "devices", "runtime"},
    "tools": {"compiler", "devices", "runtime", "api"},
}

#: Modules every stage may import: the exceptions, the version, the kernel files, and
#: the CPU extension's loader.
FOUNDATION = {"qiskit_cupy.errors", "qiskit_cupy.version", "qiskit_cupy.kernel_files", "qiskit_cupy._cpu"}

#: Compiled modules of the package (the builds of the CPU extension): leaves of the import graph.
EXTENSIONS = {"qiskit_cupy._cpu_native", "qiskit_cupy._cpu_avx2", "qiskit_cupy._cpu_baseline"}

#: Limits in ruff format's layout (one argument per line once a call is too long for one),
#: which spreads the same code over about a fifth more lines than the hand layout the
#: first limits (400 and 60) were set for.
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    """The dotted module name of a file of the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every Python module of the package, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> str:
    """The stage a module belongs to: its subpackage, or ``api`` for top-level modules.

    ``python -m qiskit_cupy`` runs the command line, so ``__main__`` is a tool.
    """
    parts = module.split(".")
    if parts[-1] == "__main__":
        return "tools"
    return parts[1] if len(parts) >= 2 and parts[1] in ALLOWED_IMPORTS else "api"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules a module imports at run time (``TYPE_CHECKING`` blocks aside).

    ``from package import name`` counts as importing ``package.name`` when that is a
    module, and ``package`` otherwise.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for statement in node.body
        for child in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
    return {name for name in found if name in known and name != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    modules = package_modules()
    known = set(modules) | EXTENSIONS
    graph = {name: imported_modules(name, path, known) for name, path in modules.items()}
    return graph | {name: set() for name in EXTENSIONS}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle of the graph, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    """The cycle check can fail: a graph with a cycle is reported."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    """No module of the package takes part in an import cycle."""
    assert find_cycle(import_graph()) is None


def test_stages_import_only_earlier_stages() -> None:
    """compiler <- devices <- runtime <- api <- tools; nothing imports a later stage."""
    wrong = []
    for module, targets in import_graph().items():
        allowed = ALLOWED_IMPORTS[stage(module)] | {stage(module)}
        for target in targets - FOUNDATION - EXTENSIONS:
            if target != "qiskit_cupy" and stage(target) not in allowed:
                wrong.append(f"{module} -> {target}")
    assert not wrong


def _import_alone(module: str) -> tuple[str, int, str]:
    process = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=300
    )
    return module, process.returncode, process.stderr[-2000:]


def test_every_module_imports_on_its_own() -> None:
    """Each module imports in a fresh interpreter, first of the package: no hidden order."""
    modules = [name for name in package_modules() if name != "qiskit_cupy.__main__"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        failures = [
            f"{module}: {error}" for module, code, error in pool.map(_import_alone, modules) if code != 0
        ]
    assert not failures


@pytest.mark.parametrize("module", sorted(package_modules()))
def test_modules_and_functions_stay_small(module: str) -> None:
    """No module over MAX_MODULE_LINES lines, no function over MAX_FUNCTION_LINES."""
    path = package_modules()[module]
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES
    long_functions = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long_functions

"""The README documents every run option, and nothing else as one."""

from __future__ import annotations

import re
from pathlib import Path

from qiskit_cupy.options import RunOptions, option_names

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_option_table_lists_every_option_with_its_default() -> None:
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", README.read_text(encoding="utf-8"), re.MULTILINE)
    documented = dict(rows)
    assert set(documented) == set(option_names())
    defaults = RunOptions()
    for name, default in documented.items():
        assert default == repr(getattr(defaults, name)).replace("'", '"'), name


PACKAGE = Path(__file__).resolve().parents[1] / "plugin" / "qiskit_cupy"
ROOT = PACKAGE.parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.rst"


def _layout_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Repository layout", 1)[1]
    return section.split("```", 2)[1]


def test_readme_layout_names_every_module_of_the_package() -> None:
    """Every module of the package appears in the README's layout section, by file name."""
    block = _layout_block()
    names = {path.name for path in PACKAGE.rglob("*.py") if path.name not in ("__init__.py", "__main__.py")}
    mentioned = set(re.findall(r"[\w]+\.py", block)) | {
        f"{name}.py"
        for name in re.findall(r"bench/ \(qiskit-cupy bench: ([^)]*)\)", block)[0]
        .replace("\n", " ")
        .replace(",", " ")
        .split()
    }
    assert names - mentioned == set()


def test_readme_layout_names_only_files_that_exist() -> None:
    """Every Python or kernel file the layout section names exists in the tree."""
    block = _layout_block()
    existing = {
        path.name for path in ROOT.rglob("*") if ".git" not in path.parts and "build" not in path.parts
    }
    named = set(re.findall(r"[\w]+\.(?:py|cuh|cu|cpp)\b", block))
    assert named - existing == set()


def test_architecture_names_only_paths_that_exist() -> None:
    """Every package or kernel path the architecture page names (``dir/file``) exists."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    paths = set(re.findall(r"``((?:compiler|devices|runtime|tools|kernels)/[\w/]+\.\w+)", text))
    assert paths
    missing = [path for path in paths if not (PACKAGE / path).exists() and not (ROOT / path).exists()]
    assert not missing


PRIMITIVES_PAGE = ROOT / "docs" / "primitives.rst"


def _python_blocks(text: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of an rST page, dedented, in order."""
    blocks = []
    for match in re.finditer(r"\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", text):
        lines = match.group(1).rstrip("\n").split("\n")
        blocks.append("\n".join(line[4:] for line in lines))
    return blocks


def test_primitives_page_examples_run_and_check_themselves(capsys) -> None:
    """Every example of the primitives page runs, in order, in one namespace; each
    asserts its values against Statevector or against each other, and the first
    prints the broadcast shape it describes."""
    blocks = _python_blocks(PRIMITIVES_PAGE.read_text(encoding="utf-8"))
    assert len(blocks) == 4
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(PRIMITIVES_PAGE), "exec"), namespace)  # noqa: S102 - the page's own code
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "(2, 5)"
    assert printed[2] == "[0.01 0.01 0.01 0.01 0.01]"

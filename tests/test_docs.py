"""The documentation: the README's option table and layout, and the Sphinx site under
docs/, which builds with warnings as errors and whose every Python example runs."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from qiskit_cupy.devices import CpuFallbackWarning
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
    """The ``.. code-block:: python`` blocks of an rST page that run, dedented, in order."""
    return [block.code for block in _code_blocks(text) if block.runs]


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


# -- every page of the site ------------------------------------------------------------

DOCS = ROOT / "docs"
INDEX = DOCS / "index.rst"
#: Every page of the site: the rST pages and the Markdown benchmark reports.
PAGES = sorted(path for path in DOCS.iterdir() if path.suffix in (".rst", ".md"))

#: The caption that marks a Python example the documentation test only compiles: it
#: must say why it does not run here (a GPU, a cluster).
NOT_RUN = "not run by the documentation test"


@dataclass(frozen=True)
class CodeBlock:
    """One code block of a page.

    Attributes:
        language: ``python``, ``bash``, ``text``...; ``literal`` for an rST ``::`` block.
        code: The code, dedented.
        line: The page line of the code's first line (1-based).
        caption: The block's ``:caption:`` option, if any.
    """

    language: str
    code: str
    line: int
    caption: str | None = None

    @property
    def runs(self) -> bool:
        """Whether the documentation test executes the block (Python without a caption)."""
        return self.language == "python" and self.caption is None


_RST_DIRECTIVE = re.compile(
    r"^\.\. code-block:: *(\w*)\n((?:   +:\w+:.*\n)*)\n((?:(?: {3,}.*)?\n)+)", re.MULTILINE
)
_RST_LITERAL = re.compile(r"^(?!\.\. ).*::\n\n((?:(?: {3,}.*)?\n)+)", re.MULTILINE)
_MD_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _dedent(body: str) -> str:
    lines = body.rstrip("\n").split("\n")
    indent = min(len(line) - len(line.lstrip(" ")) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines)


def _code_blocks(text: str, markdown: bool = False) -> list[CodeBlock]:
    """Every code block of a page (rST directives and ``::`` blocks, or Markdown
    fences), in page order."""

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    if markdown:
        return [
            CodeBlock(match.group(1), match.group(2).rstrip("\n"), line_of(match.start(2)))
            for match in _MD_FENCE.finditer(text)
        ]
    found: list[tuple[int, CodeBlock]] = []
    for match in _RST_DIRECTIVE.finditer(text):
        caption = dict(re.findall(r":(\w+): *(.*)", match.group(2))).get("caption")
        code, start = _dedent(match.group(3)), match.start(3)
        found.append((start, CodeBlock(match.group(1), code, line_of(start), caption)))
    for match in _RST_LITERAL.finditer(text):
        code, start = _dedent(match.group(1)), match.start(1)
        found.append((start, CodeBlock("literal", code, line_of(start))))
    return [block for _, block in sorted(found, key=lambda item: item[0])]


def _page_blocks(page: Path) -> list[CodeBlock]:
    return _code_blocks(page.read_text(encoding="utf-8"), markdown=page.suffix == ".md")


def _compiled(page: Path, block: CodeBlock):
    """The block compiled so that a traceback names the page and its line."""
    return compile("\n" * (block.line - 1) + block.code, str(page), "exec")


def _pages_with(predicate) -> list[Path]:
    return [page for page in PAGES if any(predicate(block) for block in _page_blocks(page))]


def test_the_index_toctree_lists_every_page() -> None:
    """The index's toctrees name every page of docs/ (Sphinx -W refuses an orphan too),
    and only pages that exist."""
    text = INDEX.read_text(encoding="utf-8")
    entries = []
    for tree in re.findall(r"^\.\. toctree::\n((?:(?: {3}.*)?\n)+)", text, re.MULTILINE):
        for line in tree.splitlines():
            line = line.strip()
            if line and not line.startswith(":"):
                entries.append(re.sub(r"^.*<(.+)>$", r"\1", line))
    assert len(entries) == len(set(entries))
    assert set(entries) == {page.stem for page in PAGES if page != INDEX}


def test_the_python_examples_are_found() -> None:
    """The parser finds the examples of the pages that have them (a broken pattern
    would make the example test pass on nothing)."""
    pages = {page.name for page in _pages_with(lambda block: block.runs)}
    assert {
        "quickstart.rst",
        "install.rst",
        "devices.rst",
        "options.rst",
        "jobs.rst",
        "primitives.rst",
        "dynamic_circuits.rst",
        "noise.rst",
        "scale_out.rst",
        "architecture.rst",
    } <= pages


@pytest.mark.parametrize("page", _pages_with(lambda block: block.runs), ids=lambda page: page.name)
def test_every_python_example_of_a_page_runs(page: Path) -> None:
    """Every Python example of the page runs, the page's examples in order in one
    namespace, each checking its own values (asserts against Statevector or exact
    values). No GPU is needed: an example that could fall back to the CPU without
    saying so fails, since a CpuFallbackWarning is an error here unless the example
    handles it."""
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", CpuFallbackWarning)
        for block in _page_blocks(page):
            if block.runs:
                exec(_compiled(page, block), namespace)  # noqa: S102 - the page's own code


def test_python_examples_that_do_not_run_compile_and_say_why() -> None:
    """A Python example the test cannot run here (it needs a GPU or a cluster) carries
    a caption that says so and why, and still compiles."""
    for page in PAGES:
        for block in _page_blocks(page):
            if block.language == "python" and not block.runs:
                assert NOT_RUN in (block.caption or ""), f"{page.name}:{block.line}"
                assert len(block.caption or "") > len(NOT_RUN) + 10, f"{page.name}:{block.line}: say why"
                _compiled(page, block)


def test_python_appears_only_in_python_blocks() -> None:
    """No Python example hides in a text, bash or ``::`` block, where it would be
    neither run nor compiled."""
    python_line = re.compile(r"^\s*(?:from \w[\w.]* import |import \w)", re.MULTILINE)
    for page in PAGES:
        for block in _page_blocks(page):
            if block.language != "python":
                assert not python_line.search(block.code), f"{page.name}:{block.line}"


#: Top-level folders of the repository and sub-packages of qiskit_cupy that pages
#: name files in.
_PATH = re.compile(
    r"``((?:plugin|kernels|tests|docs|conda-recipe|\.ci|qiskit_cupy|compiler|devices|runtime"
    r"|tools|distributed|primitives)/[\w/.-]*\.\w+)"
)


def test_every_file_the_pages_name_exists() -> None:
    """Every file a page names (``dir/file.ext``, under the repository root, plugin/
    or the package) exists."""
    missing = []
    for page in PAGES:
        for path in set(_PATH.findall(page.read_text(encoding="utf-8"))):
            if not any((base / path).exists() for base in (ROOT, ROOT / "plugin", PACKAGE)):
                missing.append(f"{page.name}: {path}")
    assert not missing


#: The documentation's build command, as the README gives it.
SPHINX_COMMAND = "python -m sphinx -W -b html docs build/docs-html"


def test_the_build_command_is_the_readme_s_everywhere() -> None:
    """The README, the install page and conf.py give the same build command."""
    readme = README.read_text(encoding="utf-8").split("## Documentation", 1)[1]
    assert SPHINX_COMMAND in readme
    for path in (DOCS / "install.rst", DOCS / "conf.py"):
        assert SPHINX_COMMAND in path.read_text(encoding="utf-8"), path.name


def test_benchmark_reports_say_their_gpu_figures_are_not_measured() -> None:
    """Each benchmark report keeps its statement that no GPU was measured, and one with
    an H100 column says that the column is a bandwidth model, not a measurement."""
    reports = [page for page in PAGES if page.suffix == ".md"]
    assert {page.name for page in reports} == {
        "benchmarks.md",
        "benchmarks_midcircuit.md",
        "benchmarks_repcode.md",
        "benchmarks_primitives.md",
    }
    for page in reports:
        text = page.read_text(encoding="utf-8")
        assert "not measured" in text or "none was measured" in text, page.name
        if "H100 model" in text:
            assert "a MODEL, not a measurement" in text, page.name


def test_sphinx_builds_the_site_with_warnings_as_errors(tmp_path: Path) -> None:
    """``python -m sphinx -W -b html docs OUT`` (the README's command) succeeds: every
    page parses, every cross-reference and toctree entry resolves, autodoc imports the
    options, and every page, the benchmark plot included, is written."""
    out = tmp_path / "html"
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    for page in PAGES:
        assert (out / f"{page.stem}.html").is_file(), page.name
    assert (out / "_images" / "benchmarks.png").is_file()

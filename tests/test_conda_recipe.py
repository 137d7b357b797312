"""The conda recipe agrees with pyproject.toml, and its test commands pass here.

No conda build tool runs on this project's machines, so the recipe is checked the way
conda-build reads it: its Jinja template rendered (``load_file_data``, ``compiler``,
``PYTHON``), its ``# [selector]`` lines kept or dropped for linux-64 and this Python,
then parsed as YAML. Its version, dependencies, build requirements and the entry
points its test script checks must match pyproject.toml; its test imports, test
commands and ``run_test.sh`` run in this (pip-installed) environment, as they would
in conda-build's test environment.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "conda-recipe"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: conda-build's selector variables for a linux-64 build on this Python.
SELECTORS: dict[str, Any] = {
    "linux": True,
    "unix": True,
    "win": False,
    "osx": False,
    "py": sys.version_info.major * 100 + sys.version_info.minor,
    "build_platform": "linux-64",
    "target_platform": "linux-64",
}

_SELECTOR = re.compile(r"^(?P<line>.*?)\s*#\s*\[(?P<expression>[^\]]+)\]\s*$")


def _keep_selected(text: str) -> str:
    """The lines whose ``# [selector]`` holds (conda-build evaluates it as Python), unmarked."""
    kept = []
    for line in text.splitlines():
        match = _SELECTOR.match(line)
        if match is None:
            kept.append(line)
        elif eval(match.group("expression"), {"__builtins__": {}}, dict(SELECTORS)):  # noqa: S307
            kept.append(match.group("line"))
    return "\n".join(kept)


def _load_file_data(path: str, from_recipe_dir: bool = False) -> dict[str, Any]:
    base = RECIPE if from_recipe_dir else ROOT
    return tomllib.loads((base / path).read_text(encoding="utf-8"))


def render_recipe() -> dict[str, Any]:
    """meta.yaml as conda-build would see it for linux-64 and this Python."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    template = environment.from_string((RECIPE / "meta.yaml").read_text(encoding="utf-8"))
    rendered = template.render(
        load_file_data=_load_file_data,
        compiler=lambda language: f"{language}_compiler_stub",
        PYTHON="python",
        target_platform=SELECTORS["target_platform"],
    )
    return yaml.safe_load(_keep_selected(rendered))


@pytest.fixture(scope="module")
def recipe() -> dict[str, Any]:
    return render_recipe()


def _conda_requirements(entries: list[str]) -> dict[str, SpecifierSet]:
    """``name >=1,<2`` entries -> name -> specifier (conda's and pip's agree on these)."""
    parsed = {}
    for entry in entries:
        name, _, spec = entry.partition(" ")
        parsed[name] = SpecifierSet(spec.replace(" ", ""))
    return parsed


def test_version_and_metadata_match_pyproject(recipe: dict[str, Any]) -> None:
    project = PYPROJECT["project"]
    assert recipe["package"] == {"name": project["name"], "version": project["version"]}
    assert recipe["about"]["license"] == project["license"]
    assert recipe["about"]["summary"] == project["description"]
    assert (ROOT / recipe["about"]["license_file"]).exists()


def test_run_requirements_are_pyprojects_dependencies(recipe: dict[str, Any]) -> None:
    """Every pyproject dependency is a run requirement with the same versions, and the
    GPU stack (CuPy, NVRTC, the CUDA pin) agrees with the cuda12 and cuda13 extras."""
    run = _conda_requirements([entry for entry in recipe["requirements"]["run"] if entry != "python"])
    for dependency in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(dependency)
        assert requirement.name in run, f"{requirement.name} is not a run requirement of the recipe"
        assert run.pop(requirement.name) == requirement.specifier, requirement.name
    extras = PYPROJECT["project"]["optional-dependencies"]
    cupy_minimums = {
        spec.version
        for extra in ("cuda12", "cuda13")
        for requirement in map(Requirement, extras[extra])
        if requirement.name.startswith("cupy")
        for spec in requirement.specifier
        if spec.operator == ">="
    }
    assert run.pop("cupy") == SpecifierSet(f">={min(cupy_minimums, key=int)}")
    assert "cuda-nvrtc" in run
    cuda = run.pop("cuda-version")
    run.pop("cuda-nvrtc")
    assert {major for major in ("11", "12", "13", "14") if f"{major}.0" in cuda} == {"12", "13"}
    assert run == {}, f"run requirements pyproject.toml does not have: {sorted(run)}"


def test_build_requirements_are_pyprojects_build_system(recipe: dict[str, Any]) -> None:
    host = _conda_requirements(recipe["requirements"]["host"])
    for dependency in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(dependency)
        assert host.get(requirement.name) == requirement.specifier, requirement.name
    build = recipe["requirements"]["build"]
    assert "cxx_compiler_stub" in build
    assert any(entry.startswith("cmake") for entry in build)
    cmake_minimum = re.search(
        r"cmake_minimum_required\(VERSION (\d+\.\d+)", (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    )
    assert cmake_minimum and f"cmake >={cmake_minimum.group(1)}" in build


def test_build_script_is_a_distribution_build(recipe: dict[str, Any]) -> None:
    """pip builds the package (so pyproject's entry points are installed) without -march=native."""
    (script,) = [line for line in recipe["build"]["script"] if "pip install" in line]
    assert "-C cmake.define.QISKIT_CUPY_NATIVE=OFF" in script
    assert "--no-deps" in script
    assert "entry_points" not in recipe["build"]
    requires_python = SpecifierSet(PYPROJECT["project"]["requires-python"])
    lowest = min(minor for minor in range(8, 20) if f"3.{minor}" in requires_python)
    assert re.search(rf"py<3{lowest}\b", (RECIPE / "meta.yaml").read_text(encoding="utf-8"))


def test_run_test_checks_pyprojects_entry_points() -> None:
    """run_test.sh asserts each entry point and console script of pyproject.toml."""
    script = (RECIPE / "run_test.sh").read_text(encoding="utf-8")
    project = PYPROJECT["project"]
    for group, entries in project["entry-points"].items():
        assert f'group="{group}"' in script
        for name, value in entries.items():
            assert f'"{name}"' in script and f'"{value}"' in script, (group, name)
    for name, value in project["scripts"].items():
        assert f'"{name}"' in script and f'"{value}"' in script, name


def test_recipe_test_imports_import(recipe: dict[str, Any]) -> None:
    for module in recipe["test"]["imports"]:
        import_module(module)


def test_recipe_test_commands_pass_here(recipe: dict[str, Any]) -> None:
    """Each command of the recipe's test section exits 0 in this environment."""
    bin_dir = Path(sys.executable).parent
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in recipe["test"]["commands"]:
        words = shlex.split(command)
        assert shutil.which(words[0], path=environment["PATH"]), f"{words[0]} is not installed"
        done = subprocess.run(words, env=environment, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"


def test_run_test_script_passes_here() -> None:
    bin_dir = Path(sys.executable).parent
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", str(RECIPE / "run_test.sh")], env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "entry point OK, GHZ on the CPU" in done.stdout

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

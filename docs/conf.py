"""Sphinx configuration of the qiskit-cupy documentation.

Build (the package must be installed, since the options page is generated from
``qiskit_cupy.options.RunOptions`` by autodoc)::

    python -m pip install -e ".[docs]"
    python -m sphinx -W -b html docs build/docs-html
"""

from __future__ import annotations

import qiskit_cupy

project = "qiskit-cupy"
author = "qiskit-cupy developers"
copyright = "qiskit-cupy developers"
release = qiskit_cupy.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    # The benchmark reports (docs/benchmarks*.md) are Markdown, written by
    # ``qiskit-cupy bench --markdown``; MyST reads them as they are.
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

# Google-style docstrings. "Attributes:" sections become :ivar: fields of the class,
# so a dataclass's fields are documented once, from its docstring.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

autodoc_member_order = "bysource"
# Types go into the description of documented parameters only; the class signature
# keeps the defaults (RunOptions' signature lists every option with its default).
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"

exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"qiskit-cupy {release}"

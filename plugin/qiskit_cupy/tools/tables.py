"""Plain-text tables for the ``qiskit-cupy`` commands' output, laid out by tabulate."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate


def format_table(rows: Sequence[Sequence[object]], headings: Sequence[str]) -> str:
    """Lay rows out in columns: text left-aligned, numbers right-aligned.

    Args:
        rows: The table's rows, each with one value per heading.
        headings: The column headings.

    Returns:
        The table, a heading line and a rule first, without a trailing newline.
    """
    # Values are never parsed as numbers: an outcome such as "0010" must print as given.
    # A column is right-aligned when every value in it is an integer.
    alignment = [
        "right" if rows and all(isinstance(row[column], int) for row in rows) else "left"
        for column in range(len(headings))
    ]
    return tabulate(
        rows, headers=list(headings), tablefmt="simple", disable_numparse=True, colalign=alignment
    )

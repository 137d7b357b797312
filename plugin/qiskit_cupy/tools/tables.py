"""Plain-text tables for the ``qiskit-cupy`` commands' output."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(rows: Sequence[Sequence[object]], headings: Sequence[str]) -> str:
    """Lay rows out in columns: text left-aligned, numbers right-aligned.

    Args:
        rows: The table's rows, each with one value per heading.
        headings: The column headings.

    Returns:
        The table, a heading line and a rule first, without a trailing newline.
    """
    cells = [[str(value) for value in row] for row in rows]
    widths = [
        max([len(heading), *(len(row[column]) for row in cells)]) for column, heading in enumerate(headings)
    ]
    numeric = [
        bool(rows) and all(isinstance(row[column], int) for row in rows) for column in range(len(headings))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join([line(headings), line(["-" * width for width in widths]), *map(line, cells)])

"""Progress bars for long work (tqdm): shown on a terminal, quiet otherwise.

A bar appears only when its work is still running ``DELAY_SECONDS`` after it started,
so short jobs never draw one; it is never drawn when standard error is not a terminal,
when the ``progress`` option is False, or when ``QISKIT_CUPY_PROGRESS=0``.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn, TextIO

from tqdm import tqdm

#: The environment variable that turns every bar off when set to 0 (or false, off, no).
ENVIRONMENT = "QISKIT_CUPY_PROGRESS"
#: Seconds a piece of work runs before its bar is drawn.
DELAY_SECONDS = 1.0


def progress_wanted(enabled: bool) -> bool:
    """Whether a bar may be drawn: enabled, not turned off, and standard error a terminal."""
    turned_off = os.environ.get(ENVIRONMENT, "").strip().lower() in ("0", "false", "off", "no")
    isatty = getattr(sys.stderr, "isatty", None)
    return enabled and not turned_off and bool(isatty and isatty())


class QuietBar:
    """What a bar that is not wanted is: nothing drawn, and nothing made for it (a tiny
    job's ``run()`` and ``result()`` would otherwise each make a disabled tqdm)."""

    disable = True

    def __enter__(self) -> QuietBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        """Count ``n`` more pieces done: nothing to show."""

    @staticmethod
    def write(s: str, file: TextIO | None = None, end: str = "\n", nolock: bool = False) -> None:
        """Write a line as tqdm does where no bar is drawn."""
        tqdm.write(s, file=file, end=end, nolock=nolock)


_QUIET = QuietBar()


def progress_bar(
    total: int, description: str, enabled: bool, unit: str = "experiment"
) -> tqdm[NoReturn] | QuietBar:
    """A bar over ``total`` pieces of work, on standard error; a silent one when not wanted.

    Args:
        total: How many pieces the work has.
        description: What the work is, shown before the bar.
        enabled: The caller's ``progress`` option.
        unit: What one piece is called.

    Returns:
        The bar; use it as a context manager and call ``update(n)`` as pieces finish.
    """
    if not progress_wanted(enabled):
        return _QUIET
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        delay=DELAY_SECONDS,
        leave=False,
        dynamic_ncols=True,
    )

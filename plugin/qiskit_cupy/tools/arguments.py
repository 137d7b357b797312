"""argparse pieces that the ``qiskit-cupy`` subcommands share: the subcommands' type
and the types of their options' values."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TypeAlias

#: The object ``add_subparsers`` returns, to which each command adds its parser.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def choices(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """Make an argparse type that reads a comma-separated list of allowed values.

    Args:
        allowed: The values that may appear.

    Returns:
        A function from the option's text to the tuple of values.
    """

    def parse(text: str) -> tuple[str, ...]:
        values = tuple(value.strip() for value in text.split(",") if value.strip())
        unknown = [value for value in values if value not in allowed]
        if unknown or not values:
            raise argparse.ArgumentTypeError(f"{text!r}: choose from {','.join(allowed)} (comma-separated)")
        return values

    return parse


def positive(text: str) -> int:
    """The argparse type of a count of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)

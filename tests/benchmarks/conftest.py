"""The benchmark suites' report: lines a suite leaves for the end of the run."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the tiny job's ratios to its peers (``test_bench_targets.py``), when it ran."""
    module = sys.modules.get("test_bench_targets") or sys.modules.get("benchmarks.test_bench_targets")
    lines = getattr(module, "TINY_REPORT", None)
    if lines:
        terminalreporter.section("tiny-job latency ratios")
        for line in lines:
            terminalreporter.write_line(line)

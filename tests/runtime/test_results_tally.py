"""measurement_data's tally paths (Python, bincount with the label table, np.unique) against Counter."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from qiskit_cupy.runtime import results


def reference(outcomes: list[int], clbit_sources: dict[int, int] | None) -> list[int]:
    """Each shot's register value, bit by bit."""
    if clbit_sources is None:
        return outcomes
    return [sum(((o >> source) & 1) << clbit for clbit, source in clbit_sources.items()) for o in outcomes]


SOURCES = {
    "identity": {0: 0, 1: 1, 2: 2, 3: 3, 4: 4},
    "reordered": {0: 3, 1: 0, 4: 1},
    "one qubit into two clbits": {0: 2, 5: 2, 1: 7},
    "wide register": {clbit: clbit % 20 for clbit in range(0, 40, 2)},
    "values given": None,
}


@pytest.mark.parametrize("shots", [1, results.FEW_SHOTS, results.FEW_SHOTS + 1, 5000])
@pytest.mark.parametrize("sources", list(SOURCES), ids=list(SOURCES))
def test_every_path_gives_the_counters_counts_and_memory(shots: int, sources: str) -> None:
    clbit_sources = SOURCES[sources]
    rng = np.random.default_rng(shots)
    outcomes = rng.integers(0, 1 << 20, size=shots, dtype=np.int64)
    values = reference(outcomes.tolist(), clbit_sources)
    data = results.measurement_data(outcomes, clbit_sources, memory=True)
    assert data["counts"] == {hex(value): count for value, count in Counter(values).items()}
    assert [int(label, 16) for label in data["counts"]] == sorted(set(values))
    assert data["memory"] == [hex(value) for value in values]
    assert "memory" not in results.measurement_data(outcomes, clbit_sources, memory=False)


def test_register_values_past_62_bits_are_python_ints() -> None:
    outcomes = np.array([1, 2, 3] * 100, dtype=np.int64)
    clbit_sources = {70: 0, 0: 1}
    data = results.measurement_data(outcomes, clbit_sources, memory=False)
    assert data["counts"] == {hex(1 << 70): 100, hex(1): 100, hex((1 << 70) | 1): 100}

"""Statistical tests of counts against an exact distribution or against other counts.

Counts are compared with an exact distribution by Pearson's chi-square goodness-of-fit
test, and with another simulator's counts by the chi-square test of homogeneity; each
test fails below a p-value of P_VALUE. With fixed seeds a run is deterministic; a
correct simulator fails one comparison with probability P_VALUE, while a wrong
distribution of the sizes the tests use fails with near certainty.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

P_VALUE = 1e-6
SHOTS = 4000


#: Outcomes expected (or seen) fewer times than this are pooled into one bin, where
#: the chi-square approximation holds.
MIN_BIN = 5


def chi_square_fit(counts: dict[str, int], expected: dict[str, float]) -> float:
    """p-value of the counts under the exact distribution (outcomes outside it fail)."""
    outside = set(counts) - {key for key, p in expected.items() if p > 1e-12}
    assert not outside, f"outcomes {outside} have probability 0"
    total = sum(counts.values())
    keys = [key for key, p in expected.items() if p > 1e-12]
    large = [key for key in keys if expected[key] * total >= MIN_BIN]
    small = [key for key in keys if expected[key] * total < MIN_BIN]
    observed = [counts.get(key, 0) for key in large]
    probabilities = [expected[key] for key in large]
    if small:
        observed.append(sum(counts.get(key, 0) for key in small))
        probabilities.append(sum(expected[key] for key in small))
    if len(observed) == 1:
        return 1.0
    probabilities = np.array(probabilities) / sum(probabilities)
    return float(stats.chisquare(np.array(observed, dtype=float), probabilities * total).pvalue)


def chi_square_same(first: dict[str, int], second: dict[str, int]) -> float:
    """p-value that two count dictionaries come from the same distribution."""
    keys = sorted(set(first) | set(second))
    large = [key for key in keys if first.get(key, 0) + second.get(key, 0) >= 2 * MIN_BIN]
    small = [key for key in keys if key not in large]
    table = [[counts.get(key, 0) for key in large] for counts in (first, second)]
    if small:
        for row, counts in zip(table, (first, second)):
            row.append(sum(counts.get(key, 0) for key in small))
    if len(table[0]) == 1:
        return 1.0
    return float(stats.chi2_contingency(np.array(table)).pvalue)

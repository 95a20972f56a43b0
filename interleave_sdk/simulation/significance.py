"""Vectorised fixed-horizon tests for the power curves and the A/B counterpart.

The sign test is the analysis's (``analysis.stats.sign_test``, SciPy's ``binomtest``) in array
form: power curves run it millions of times, and a test pins the two to the same p-values.
Welch's t-test on A/B metrics is SciPy's, fed per-arm moments so that thousands of simulated
experiments run in one call; the analysis package judges interleaving, not A/B splits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

Floats = npt.NDArray[np.float64]


def sign_test_p(wins_a: npt.ArrayLike, wins_b: npt.ArrayLike) -> Floats:
    """Two-sided exact binomial p-value of ``wins_a`` vs ``wins_b`` under a fair coin; 1 if none."""
    a = np.asarray(wins_a, dtype=np.int64)
    b = np.asarray(wins_b, dtype=np.int64)
    n = a + b
    p = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(a, b), np.maximum(n, 1), 0.5))
    result: Floats = np.where(n == 0, 1.0, p)
    return result


def welch_p(
    mean_a: npt.ArrayLike,
    var_a: npt.ArrayLike,
    n_a: npt.ArrayLike,
    mean_b: npt.ArrayLike,
    var_b: npt.ArrayLike,
    n_b: npt.ArrayLike,
) -> Floats:
    """Two-sided Welch t-test p-value from per-arm count, mean and unbiased variance.

    SciPy's ``ttest_ind_from_stats(equal_var=False)``, vectorised over experiments. Degenerate
    cases are decided without dividing by zero: fewer than two impressions in an arm gives 1, and
    two arms with no variance at all differ (p = 0) exactly when their means do.
    """
    ma, va, na = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (mean_a, var_a, n_a)))
    mb, vb, nb = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (mean_b, var_b, n_b)))
    small = (na < 2) | (nb < 2)
    se2 = np.where(small, 0.0, va / np.maximum(na, 1) + vb / np.maximum(nb, 1))
    degenerate = se2 <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.ttest_ind_from_stats(
            mb,
            np.sqrt(vb),
            np.where(small, 2.0, nb),
            ma,
            np.sqrt(va),
            np.where(small, 2.0, na),
            equal_var=False,
        ).pvalue
    p = np.where(degenerate, np.where(ma == mb, 1.0, 0.0), p)
    result: Floats = np.where(small, 1.0, p)
    return result

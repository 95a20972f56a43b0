"""Vectorised tests for the power curves and the A/B counterpart, where the analysis cannot serve.

The sign test is the analysis's (``analysis.stats.sign_test``) in array form: power curves run it
millions of times, and a test pins the two to the same p-values. Welch's t-test on A/B metrics has
no analysis counterpart: the analysis package judges interleaving, not A/B splits.
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

    Degenerate cases are decided without dividing by zero: fewer than two impressions in an arm
    gives 1, and two arms with no variance at all differ (p = 0) exactly when their means do.
    """
    ma, va, na = (np.asarray(x, dtype=np.float64) for x in (mean_a, var_a, n_a))
    mb, vb, nb = (np.asarray(x, dtype=np.float64) for x in (mean_b, var_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        sa, sb = va / na, vb / nb
        se2 = sa + sb
        t = (mb - ma) / np.sqrt(se2)
        dof = se2**2 / (sa**2 / (na - 1) + sb**2 / (nb - 1))
        p = 2.0 * stats.t.sf(np.abs(t), dof)
    degenerate = se2 <= 0
    p = np.where(degenerate, np.where(ma == mb, 1.0, 0.0), p)
    result: Floats = np.where((na < 2) | (nb < 2), 1.0, p)
    return result


def settled_at(p_values: npt.ArrayLike, sizes: npt.ArrayLike, alpha: float = 0.05) -> int | None:
    """The first size from which the p-value stays below ``alpha`` to the end; None if never.

    "Stays" rather than "first dips": a single dip found by peeking is not a result.
    """
    p = np.asarray(p_values, dtype=np.float64)
    n = np.asarray(sizes)
    if p.size == 0 or p[-1] >= alpha:
        return None
    above = np.flatnonzero(p >= alpha)
    start = 0 if above.size == 0 else int(above[-1]) + 1
    return int(n[start])

"""Statistical power against impressions, by resampling simulated per-impression outcomes.

Impressions are independent draws (users sampled uniformly from a large population, fresh draws
and clicks per impression), so an experiment of ``n`` impressions is a multinomial draw from the
per-impression outcome distribution. That makes a power curve over many ``n`` cost milliseconds.
Power counts only significant results in the true direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .significance import sign_test_p, welch_p

Floats = npt.NDArray[np.float64]
ALPHA = 0.05
TARGET = 0.8


def size_grid(low: int = 20, high: int = 200_000, points: int = 41) -> npt.NDArray[np.int64]:
    """Log-spaced experiment sizes (total impressions)."""
    return np.unique(np.geomspace(low, high, points).round().astype(np.int64))


def interleaving_power(
    codes: npt.ArrayLike,
    sizes: Sequence[int] | npt.NDArray[np.int64],
    better: int,
    rng: np.random.Generator,
    repeats: int = 1000,
    alpha: float = ALPHA,
) -> dict[str, Floats]:
    """Power and direction agreement of the sign test at each size.

    ``better`` is +1 when A is truly better, -1 when B is, 0 for an A/A (then "power" is the
    false-positive rate, any direction).
    """
    c = np.asarray(codes)
    probs = np.array([(c > 0).mean(), (c < 0).mean(), (c == 0).mean()])
    power, agree = [], []
    for n in sizes:
        counts = rng.multinomial(int(n), probs, size=repeats)
        p = sign_test_p(counts[:, 0], counts[:, 1])
        direction = np.sign(counts[:, 0] - counts[:, 1])
        power.append(_hits(p, direction, better, alpha))
        agree.append(float((direction == better).mean()) if better else float("nan"))
    return {"power": np.array(power), "agreement": np.array(agree)}


def ab_power(
    metric_a: npt.ArrayLike,
    metric_b: npt.ArrayLike,
    sizes: Sequence[int] | npt.NDArray[np.int64],
    better: int,
    rng: np.random.Generator,
    repeats: int = 1000,
    alpha: float = ALPHA,
) -> dict[str, Floats]:
    """Power of Welch's t-test on a per-impression metric; each arm gets half the impressions.

    A larger metric is read as "better", so ``direction`` is +1 when A's mean is higher.
    """
    support = {"A": metric_support(metric_a), "B": metric_support(metric_b)}
    power, agree = [], []
    for n in sizes:
        n_arm = max(int(n) // 2, 1)
        moments = []
        for arm in ("A", "B"):
            vals, freq = support[arm]
            counts = rng.multinomial(n_arm, freq, size=repeats)
            mean = counts @ vals / n_arm
            var = np.maximum(counts @ (vals**2) - n_arm * mean**2, 0.0) / max(n_arm - 1, 1)
            moments.append((mean, var))
        (ma, va), (mb, vb) = moments
        p = welch_p(ma, va, n_arm, mb, vb, n_arm)
        direction = np.sign(ma - mb)
        power.append(_hits(p, direction, better, alpha))
        agree.append(float((direction == better).mean()) if better else float("nan"))
    return {"power": np.array(power), "agreement": np.array(agree)}


def metric_support(metric: npt.ArrayLike) -> tuple[Floats, Floats]:
    """Distinct values of a per-impression metric and their frequencies (for multinomial draws)."""
    values, counts = np.unique(np.asarray(metric, dtype=np.float64), return_counts=True)
    return values, counts / counts.sum()


def _hits(p: Floats, direction: Any, better: int, alpha: float) -> float:
    significant = p < alpha
    if better:
        significant = significant & (direction == better)
    return float(significant.mean())


def needed(sizes: Sequence[int] | npt.NDArray[np.int64], power: Floats, target: float = TARGET) -> int | None:
    """Smallest size on the grid whose power reaches ``target`` (None: not within the grid)."""
    reached = np.flatnonzero(np.asarray(power) >= target)
    return None if reached.size == 0 else int(np.asarray(sizes)[reached[0]])


# --------------------------------------------------------------------------------------------
# Exact and closed-form power: no resampling noise, so the size for 80 % power is found to 1 %.


def sign_test_power(p_a: float, p_b: float, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """(P(significant for A), P(significant for B)) of the exact sign test on ``n`` impressions.

    Each impression is an A win, a B win or a tie with probabilities ``p_a``, ``p_b`` and the
    rest. With m non-tied impressions the two-sided exact test (SciPy's ``binomtest``) is
    significant for A when B's wins k satisfy F(k; m, ½) < α/2, i.e. k ≤ c_m, so
    P(for A | m) = F(c_m; m, θ_B) with θ_B = p_b / (p_a + p_b), and symmetrically for B.
    The sum over m keeps the terms within 12 standard deviations of its mean (the rest is < 1e-30).
    """
    from scipy import stats as st

    q = p_a + p_b
    if n < 1 or q <= 0:
        return 0.0, 0.0
    sd = math.sqrt(n * q * (1 - q))
    lo = max(1, int(n * q - 12 * sd) - 1)
    hi = min(n, int(n * q + 12 * sd) + 1)
    m = np.arange(lo, hi + 1)
    weight = st.binom.pmf(m, n, q)
    c = st.binom.ppf(alpha / 2, m, 0.5) - 1  # largest k with F(k; m, ½) < α/2
    c = np.where(st.binom.cdf(c + 1, m, 0.5) < alpha / 2, c + 1, c)  # guard the quantile's rounding
    theta_b = p_b / q
    for_a = float(weight @ st.binom.cdf(c, m, theta_b))
    for_b = float(weight @ st.binom.cdf(c, m, 1 - theta_b))
    return for_a, for_b


def sign_test_n80(
    p_a: float, p_b: float, better: int, alpha: float = ALPHA, target: float = TARGET, top: int = 10**7
) -> int | None:
    """Fewest impressions at which the sign test is significant for the ``better`` arm with
    probability ``target`` (bisection to 1 %); None when not reached by ``top``."""

    def power(n: int) -> float:
        for_a, for_b = sign_test_power(p_a, p_b, n, alpha)
        return for_a if better > 0 else for_b

    hi = 16
    while power(hi) < target:
        hi *= 2
        if hi > top:
            return None
    lo = hi // 2
    while hi - lo > max(1, lo // 100):
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power(mid) >= target else (mid, hi)
    return hi


def welch_n80(
    mean_a: float,
    var_a: float,
    mean_b: float,
    var_b: float,
    better: int,
    alpha: float = ALPHA,
    target: float = TARGET,
) -> int | None:
    """Total impressions (half per arm) for Welch's test to find the ``better`` arm with ``target``
    power, by the normal approximation n = 2 (σ²_A + σ²_B)(z₁₋α/₂ + z_target)² / Δ². None when the
    metric moves the wrong way (or not at all): more traffic then only makes a wrong call likelier.
    """
    from statistics import NormalDist

    delta = mean_a - mean_b
    if delta == 0 or np.sign(delta) != better:
        return None
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(target)
    return max(2, math.ceil(2 * (var_a + var_b) * z * z / (delta * delta)))

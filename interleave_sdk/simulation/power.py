"""Statistical power against impressions, by resampling simulated per-impression outcomes.

Impressions are independent draws (users sampled uniformly from a large population, fresh draws
and clicks per impression), so an experiment of ``n`` impressions is a multinomial draw from the
per-impression outcome distribution. That makes a power curve over many ``n`` cost milliseconds.
Power counts only significant results in the true direction.
"""

from __future__ import annotations

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

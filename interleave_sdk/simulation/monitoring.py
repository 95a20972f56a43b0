"""Continuous monitoring, vectorised: the sequential tests at every look of many experiments at once.

Measuring the false-positive rate of a test read at 20 looks needs thousands of experiments, too
many for log files. This module replays the analysis's own definitions on arrays: a unit votes
once, with the sign of its first impression with untied credit A − B (``analysis.stats``), and
the decision is ``analysis.sequential``'s mixture test (its ``log_mixture_ratio`` is called, not
copied). A test pins these decisions to ``analyze()`` on the files of the same impressions; the
A/B side uses the same normal-mixture boundary as ΔAB's confidence sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..analysis.sequential import (
    DELTA_MIXTURE_SD,
    SIGN_CONCENTRATION,
    log_mixture_ratio,
    normal_mixture_radius,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# Summed credits closer to zero than this are a tie (as in analysis.stats).
_CREDIT_ATOL = 1e-9


@dataclass(frozen=True)
class Monitoring:
    """Per experiment and look: +1 A decided, −1 B decided, 0 still ``continue``.

    ``decisions`` is ``(experiments, looks)`` and sticky: once decided, later looks keep the first
    decision, as a team that stopped would. ``looks`` are the impression counts of the looks.
    """

    looks: Ints
    decisions: npt.NDArray[np.int8]

    def first_decision(self) -> npt.NDArray[np.int8]:
        """Per experiment, the decision at its last look (sticky, so the first one taken)."""
        out: npt.NDArray[np.int8] = self.decisions[:, -1]
        return out

    def stopped_at(self) -> Floats:
        """Per experiment, impressions at the first deciding look; NaN when it never decided."""
        decided = self.decisions != 0
        first = np.argmax(decided, axis=1)
        out: Floats = np.where(decided.any(axis=1), self.looks[first].astype(np.float64), np.nan)
        return out


def even_looks(impressions: int, looks: int) -> Ints:
    """``looks`` impression counts evenly spread up to ``impressions`` (the last is the total)."""
    cuts: Ints = np.unique(np.ceil(np.linspace(impressions / looks, impressions, looks)).astype(np.int64))
    return cuts


def monitor_interleaving(
    users: npt.ArrayLike,
    credit: npt.ArrayLike,
    looks: Sequence[int] | Ints,
    *,
    alpha: float,
    concentration: float = SIGN_CONCENTRATION,
) -> Monitoring:
    """The user-level sequential test of every experiment at every look.

    ``users`` (dense ids ``0..U-1``) and ``credit`` (credit A − B of each impression, 0 when
    unclicked) are ``(experiments, impressions)`` arrays in time order. A user votes once, with the
    sign of their first impression with non-zero credit; the votes are final, so the test read at
    look ``L`` has decided exactly when its first crossing came from a vote cast before ``L``.
    """
    u = np.asarray(users, dtype=np.int64)
    c = np.asarray(credit, dtype=np.float64)
    n_exp, n_imp = u.shape
    n_users = int(u.max()) + 1 if u.size else 0
    cell = np.arange(n_exp)[:, None] * n_users + u  # (experiment, user) as one index
    informative = np.abs(c) > _CREDIT_ATOL
    cast = np.full(n_exp * n_users, n_imp, dtype=np.int64)  # when each unit voted (n_imp: never)
    np.minimum.at(cast, cell[informative], np.nonzero(informative)[1])
    cast = np.sort(cast.reshape(n_exp, n_users), axis=1)
    voted = cast < n_imp
    rows = np.repeat(np.arange(n_exp), n_users).reshape(n_exp, n_users)
    votes = np.where(voted, np.sign(c[rows, np.minimum(cast, n_imp - 1)]), 0.0)
    wins_b = np.cumsum(votes < 0, axis=1)
    non_tied = np.cumsum(votes != 0, axis=1)
    crossed = (log_mixture_ratio(wins_b, non_tied, concentration) >= math.log(1.0 / alpha)) & voted
    first = np.argmax(crossed, axis=1)
    ever = crossed.any(axis=1)
    when = np.where(ever, cast[np.arange(n_exp), first], n_imp)  # row of the deciding vote
    b_ahead = 2 * wins_b[np.arange(n_exp), first] > non_tied[np.arange(n_exp), first]
    side = np.where(b_ahead, -1, 1).astype(np.int8)
    points = np.asarray(looks, dtype=np.int64)
    decisions = np.where(when[:, None] < points[None, :], side[:, None], 0).astype(np.int8)
    return Monitoring(points, decisions)


def monitor_ab(
    is_b: npt.ArrayLike,
    metric: npt.ArrayLike,
    looks: Sequence[int] | Ints,
    *,
    alpha: float,
    mixture_sd: float = DELTA_MIXTURE_SD,
) -> Monitoring:
    """The A/B sequential test: the normal-mixture confidence sequence of mean B − mean A.

    Decides when the sequence excludes 0 (+1: A's mean higher, −1: B's). ``is_b`` and ``metric``
    are ``(experiments, impressions)`` in time order. The variance is estimated from the data, so
    the guarantee is asymptotic, as for ΔAB's confidence sequence.
    """
    b = np.asarray(is_b, dtype=bool)
    x = np.asarray(metric, dtype=np.float64)
    idx = np.asarray(looks, dtype=np.int64) - 1
    moments = []
    for arm in (~b, b):
        n = np.cumsum(arm, axis=1)[:, idx].astype(np.float64)
        s = np.cumsum(np.where(arm, x, 0.0), axis=1)[:, idx]
        ss = np.cumsum(np.where(arm, x * x, 0.0), axis=1)[:, idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, s / np.maximum(n, 1), 0.0)
            var = np.where(n > 1, (ss - n * mean**2) / np.maximum(n - 1, 1), 0.0)
        moments.append((mean, np.maximum(var, 0.0), n))
    (ma, va, na), (mb, vb, nb) = moments
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where((na > 1) & (nb > 1), va / np.maximum(na, 1) + vb / np.maximum(nb, 1), 0.0)
    diff = mb - ma
    radius = normal_mixture_radius(v, alpha, mixture_sd)
    now = np.where((v > 0) & (np.abs(diff) > radius), np.where(diff > 0, -1, 1), 0).astype(np.int8)
    # Sticky: the first decision stands.
    decided = np.zeros_like(now)
    current = np.zeros(now.shape[0], dtype=np.int8)
    for j in range(now.shape[1]):
        current = np.where(current != 0, current, now[:, j])
        decided[:, j] = current
    return Monitoring(np.asarray(looks, dtype=np.int64), decided)


def fixed_horizon_wins(users: npt.ArrayLike, credit: npt.ArrayLike, size: int) -> tuple[Ints, Ints]:
    """Per experiment, users preferring A and B after ``size`` impressions (fixed-horizon votes).

    A user's vote is the fixed-horizon verdict's: the sign of their summed credit A − B.
    """
    u = np.asarray(users, dtype=np.int64)[:, :size]
    c = np.asarray(credit, dtype=np.float64)[:, :size]
    n_exp = u.shape[0]
    n_users = int(u.max()) + 1 if u.size else 0
    cell = np.arange(n_exp)[:, None] * n_users + u
    summed = np.bincount(cell.ravel(), weights=c.ravel(), minlength=n_exp * n_users)
    summed = summed.reshape(n_exp, n_users)
    wins_a: Ints = (summed > _CREDIT_ATOL).sum(axis=1).astype(np.int64)
    wins_b: Ints = (summed < -_CREDIT_ATOL).sum(axis=1).astype(np.int64)
    return wins_a, wins_b


def fixed_horizon_power(
    users: npt.ArrayLike,
    credit: npt.ArrayLike,
    sizes: Sequence[int] | Ints,
    *,
    better: int,
    alpha: float,
) -> Floats:
    """Power of the fixed-horizon user-level sign test, read once at each of ``sizes`` impressions.

    Power counts significant results in the direction ``better`` (+1: A truly better, −1: B);
    the p-values are ``significance.sign_test_p``, pinned to the analysis's sign test.
    """
    from .significance import sign_test_p

    power = []
    for size in np.asarray(sizes, dtype=np.int64).tolist():
        wins_a, wins_b = fixed_horizon_wins(users, credit, size)
        p = sign_test_p(wins_a, wins_b)
        right = np.sign(wins_a - wins_b) == better
        power.append(float(((p < alpha) & right).mean()))
    out: Floats = np.asarray(power, dtype=np.float64)
    return out

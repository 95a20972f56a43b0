"""Anytime-valid verdicts: a decision that may be read after every impression without inflating α.

Two always-valid statistics on the unit of analysis (users by default), next to the fixed-horizon
verdict of ``stats``:

* **Decision and p-value: a mixture sequential probability ratio test on each unit's vote.** A
  unit votes once, with the sign of its first impression whose credit is not tied (the first
  moment it shows a preference), and the vote is final. Under "no preference" a vote is B with
  probability ½, independently of the votes before it, so the likelihood ratio of the votes,
  mixed over the share θ of B ~ Beta(a, a), is a non-negative martingale with mean 1 (the
  two-outcome case of Lindon & Malek's Dirichlet-multinomial test, NeurIPS 2022). Ville's
  inequality bounds the chance that it *ever* reaches 1/α by α, so ``p = min(1, 1 / the largest
  ratio so far)`` is valid however often it is read. Clustering is respected because the unit
  is the user: one vote per user, whatever their number of impressions. We chose the sign over a
  test on credit magnitudes because it needs no variance estimate, so its guarantee is exact at
  every sample size, not asymptotic; Kharitonov et al. (SIGIR 2015) also found sequential tests
  on interleaving win counts to cut experiment duration most.
* **Confidence sequence for ΔAB: Robbins' normal mixture** on the per-unit linearisation of the
  ratio ΔAB = Σ(wins A − wins B) / 2Σ(clicked impressions), with the variance estimated from the
  data (an asymptotic confidence sequence in the sense of Waudby-Smith et al.). It gives the size
  of the effect with a time-uniform interval; the decision comes from the exact test above.

Late feedback: an impression is scored only once its attribution window has closed (as of the
latest feedback the analysis read; the window bounds every event, id-joined ones too), so its
credit can no longer change and the votes seen at successive looks form one growing sequence:
a decision read at one look is never withdrawn at a later one (``stats.compute_sequential``).

Why a final first vote rather than the fixed-horizon verdict's vote (the sign of *all* a user's
credit): that vote changes as the user returns, so a sequence of such votes is not a martingale
across looks. Measured in the simulator (docs/analysis-statistics.md), reading it at 20 looks
rejected a true A/A in 14–15 % of experiments at α = 0.05; the final first vote, 2.6–3.1 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import OutcomesError

Decision = Literal["A", "B", "continue"]
DECISIONS: tuple[Decision, ...] = ("A", "B", "continue")

#: Beta(a, a) mixing prior on the share of B among voting units; a = 1 is the uniform prior.
#: Chosen by measurement on the sample app (v1 against v1_tweak, navigational users, 300 runs):
#: a = 1 stopped soonest at every gain tried (median 160 impressions at tweak 0.005, against 175
#: for a = 3 and 228 for a = 10); a tighter prior decided slightly more often only with
#: near-random clickers (36 % against 26 % of runs within 20,000 impressions).
SIGN_CONCENTRATION = 1.0
#: Standard deviation of the normal mixing distribution of ΔAB for the confidence sequence: the
#: interval is tightest when |ΔAB| is near this size (typical for small ranker changes).
DELTA_MIXTURE_SD = 0.05
#: The confidence sequence's variance estimate starts from one pseudo-unit of variance ¼, the
#: variance of a one-click unit's z under "no preference" (z = ±½): units that all agree then
#: give a narrow interval, never one point, and the prior's weight fades as 1 / units.
VARIANCE_PRIOR, VARIANCE_PRIOR_UNITS = 0.25, 1.0

_FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SequentialVerdict:
    """The anytime-valid verdict: decide ``A``/``B`` or ``continue``, at any number of looks.

    ``stopped_at`` is where the test first crossed its threshold, in units: how many units (in the
    order of their first exposure) had been exposed when the deciding vote came in;
    ``stopped_at_impressions`` the same point in interleaved impressions. Both ``None`` while it
    has not crossed. ``ci_low``/``ci_high`` bound ΔAB now (``None`` with fewer than two units).
    ``units`` counts the units with a clicked impression.
    """

    decision: str  # a role (A, B) or continue from the test; an arm's name in an analysis result
    p_value: float
    ci_low: float | None
    ci_high: float | None
    stopped_at: int | None
    stopped_at_impressions: int | None
    units: int
    alpha: float

    def as_dict(self) -> dict[str, str | int | float | None]:
        """The five JSON fields of ``--format json``'s ``sequential`` object."""
        return {
            "decision": self.decision,
            "p_value": float(self.p_value),
            "ci_low": None if self.ci_low is None else float(self.ci_low),
            "ci_high": None if self.ci_high is None else float(self.ci_high),
            "stopped_at": self.stopped_at,
        }


def log_mixture_ratio(
    wins_b: npt.ArrayLike, decided: npt.ArrayLike, concentration: float = SIGN_CONCENTRATION
) -> _FloatArray:
    """log of the Beta(a, a)-mixture likelihood ratio against θ = ½ after ``decided`` signs.

    ∫ θ^s (1−θ)^(n−s) dBeta(θ; a, a) / ½^n = B(a + s, a + n − s) / B(a, a) · 2^n, elementwise.
    """
    from scipy.special import betaln  # the analysis extra; imported late to keep import cheap

    s = np.asarray(wins_b, dtype=np.float64)
    n = np.asarray(decided, dtype=np.float64)
    a = float(concentration)
    out: _FloatArray = betaln(a + s, a + n - s) - betaln(a, a) + n * math.log(2.0)
    return out


def sign_sequence(
    votes: npt.ArrayLike, alpha: float, concentration: float = SIGN_CONCENTRATION
) -> tuple[Decision, float, int | None]:
    """(decision, always-valid p-value, 1-based index of the first crossing) of a vote sequence.

    ``votes`` holds +1 (prefers A), −1 (prefers B) or 0 (no vote, skipped) in the order cast.
    The decision names the arm ahead at the first crossing of 1/α; later votes do not undo it.
    """
    v = np.asarray(votes)
    if v.size == 0:
        return "continue", 1.0, None
    wins_b = np.cumsum(v < 0)
    decided = np.cumsum(v != 0)
    log_ratio = log_mixture_ratio(wins_b, decided, concentration)
    peak = float(log_ratio.max())
    p_value = min(1.0, math.exp(-peak)) if peak > 0 else 1.0
    crossed = np.flatnonzero(log_ratio >= math.log(1.0 / alpha))
    if crossed.size == 0:
        return "continue", p_value, None
    first = int(crossed[0])
    ahead_b = 2 * int(wins_b[first]) > int(decided[first])
    return ("B" if ahead_b else "A"), p_value, first + 1


def normal_mixture_radius(
    variance: npt.ArrayLike, alpha: float, mixture_sd: float = DELTA_MIXTURE_SD
) -> _FloatArray:
    """Half-width of the two-sided normal-mixture confidence sequence of an estimate, elementwise.

    For an estimate with variance ``v`` and a N(0, τ²) mixture over the true value, the mixture
    likelihood ratio reaches 1/α exactly when |estimate| exceeds
    √(v (v + τ²) / τ² · (2 log(1/α) + log((v + τ²) / v))). Zero where ``v`` is 0.
    """
    v = np.asarray(variance, dtype=np.float64)
    tau2 = float(mixture_sd) ** 2
    safe = np.where(v > 0, v, 1.0)
    level = 2.0 * math.log(1.0 / alpha) + np.log((safe + tau2) / safe)
    radius = np.sqrt(safe * (safe + tau2) / tau2 * level)
    out: _FloatArray = np.where(v > 0, radius, 0.0)
    return out


def delta_confidence_sequence(
    diff: npt.ArrayLike, size: npt.ArrayLike, alpha: float, mixture_sd: float = DELTA_MIXTURE_SD
) -> tuple[float | None, float | None]:
    """ΔAB's confidence-sequence bounds from per-unit (wins A − wins B, clicked impressions).

    ΔAB = Σd / 2Σn is a ratio of unit sums; its delta-method linearisation per unit,
    z = (d − 2ΔAB·n) / 2n̄, has mean zero and gives the variance var(z)/U of the estimate, var(z)
    shrunk towards ``VARIANCE_PRIOR`` by one pseudo-unit so it is never 0. Bounds are clipped
    to ΔAB's range [−½, ½]; ``(None, None)`` with fewer than two units.
    """
    d = np.asarray(diff, dtype=np.float64)
    n = np.asarray(size, dtype=np.float64)
    units = int(d.size)
    if units < 2 or float(n.sum()) <= 0:
        return None, None
    delta = float(d.sum()) / (2.0 * float(n.sum()))
    z = (d - 2.0 * delta * n) / (2.0 * float(n.mean()))
    spread = float(((z - z.mean()) ** 2).sum()) + VARIANCE_PRIOR_UNITS * VARIANCE_PRIOR
    variance = spread / (units - 1 + VARIANCE_PRIOR_UNITS)
    radius = float(normal_mixture_radius(variance / units, alpha, mixture_sd))
    return max(-0.5, delta - radius), min(0.5, delta + radius)


def sequential_verdict(
    votes: npt.ArrayLike,
    units_seen: npt.ArrayLike,
    impressions_seen: npt.ArrayLike,
    diff: npt.ArrayLike,
    size: npt.ArrayLike,
    *,
    units: int,
    alpha: float,
    concentration: float = SIGN_CONCENTRATION,
    mixture_sd: float = DELTA_MIXTURE_SD,
) -> SequentialVerdict:
    """The sequential verdict from the units' final votes and their ΔAB contributions.

    ``votes`` (+1 A, −1 B) are in the order they were cast; ``units_seen`` and
    ``impressions_seen`` give, for each vote, how many units had been exposed and how many
    impressions served when it was cast (so the crossing vote says where the test could stop).
    ``diff`` and ``size`` are every unit's wins A − B and clicked impressions so far, for the
    confidence sequence; ``units`` counts units with a clicked impression.
    """
    if not 0.0 < alpha < 1.0:
        raise OutcomesError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    decision, p_value, crossing = sign_sequence(votes, alpha, concentration)
    low, high = delta_confidence_sequence(diff, size, alpha, mixture_sd)
    stopped_at = stopped_impressions = None
    if crossing is not None:
        stopped_at = int(np.asarray(units_seen)[crossing - 1])
        stopped_impressions = int(np.asarray(impressions_seen)[crossing - 1])
    return SequentialVerdict(
        decision=decision,
        p_value=p_value,
        ci_low=low,
        ci_high=high,
        stopped_at=stopped_at,
        stopped_at_impressions=stopped_impressions,
        units=int(units),
        alpha=float(alpha),
    )

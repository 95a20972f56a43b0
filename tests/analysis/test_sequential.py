"""The anytime-valid verdict: the mixture test, its votes, its confidence sequence, its fields."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from interleave_sdk.analysis.sequential import (
    SIGN_CONCENTRATION,
    delta_confidence_sequence,
    log_mixture_ratio,
    normal_mixture_radius,
    sign_sequence,
)
from interleave_sdk.analysis.stats import compute_sequential, compute_verdict
from interleave_sdk.errors import OutcomesError

from .outcome_frames import outcomes_frame


def test_mixture_ratio_is_the_beta_mixture_integral() -> None:
    """log_mixture_ratio equals ∫ θ^s (1−θ)^(n−s) dBeta(a, a) / ½^n, computed numerically."""
    def integrand(t: float, s: int, n: int, a: float) -> float:
        return float(t**s * (1 - t) ** (n - s) * stats.beta(a, a).pdf(t))

    for a in (1.0, 3.0):
        for wins_b, n in ((0, 0), (3, 5), (9, 12), (1, 20)):
            value, _ = integrate.quad(integrand, 0, 1, args=(wins_b, n, a))
            expected = math.log(value) + n * math.log(2.0)
            assert float(log_mixture_ratio(wins_b, n, a)) == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_false_positive_rate_over_every_look_is_at_most_alpha_exactly() -> None:
    """Under a fair coin, the chance of ever crossing 1/α in 400 votes (exact recursion) is ≤ α."""
    alpha, n = 0.05, 400
    threshold = math.log(1 / alpha)
    alive = np.zeros(n + 1)  # probability of each count of B votes without having crossed yet
    alive[0] = 1.0
    crossed = 0.0
    for votes in range(1, n + 1):
        step = np.zeros(n + 1)
        step[: votes + 1] += 0.5 * alive[: votes + 1]
        step[1 : votes + 1] += 0.5 * alive[:votes]
        hit = log_mixture_ratio(np.arange(votes + 1), votes, SIGN_CONCENTRATION) >= threshold
        crossed += float(step[: votes + 1][hit].sum())
        step[: votes + 1][hit] = 0.0
        alive = step
    assert 0.01 < crossed <= alpha


def test_unanimous_votes_stop_where_the_ratio_first_reaches_one_over_alpha() -> None:
    """All-B votes: with a uniform prior the ratio is 2^n / (n + 1); 1/0.05 is reached at n = 8."""
    decision, p_value, crossing = sign_sequence([-1] * 12, alpha=0.05, concentration=1.0)
    assert (decision, crossing) == ("B", 8)
    assert p_value == pytest.approx(13 / 2**12)


def test_balanced_votes_continue_with_p_value_one() -> None:
    """Alternating votes never build evidence: continue, and the p-value stays 1."""
    assert sign_sequence([1, -1] * 50, alpha=0.05) == ("continue", 1.0, None)


def test_zero_votes_are_skipped() -> None:
    """Interleaved zeros (no vote) change neither the decision nor the p-value."""
    plain = sign_sequence([-1] * 10, alpha=0.05)
    padded = sign_sequence([0, -1, 0, 0] * 10, alpha=0.05)
    assert (plain[0], plain[1]) == (padded[0], padded[1])


def _sequential_frame(users: list[str], credit_a: list[float], credit_b: list[float]) -> pd.DataFrame:
    return outcomes_frame(users, credit_a, credit_b)


def test_a_user_votes_with_their_first_untied_impression_only() -> None:
    """u0 prefers A first, then B twice: the sequential test counts A; the fixed verdict counts B."""
    frame = _sequential_frame(["u0", "u0", "u0", "u0"], [0, 1, 0, 0], [0, 0, 1, 1])
    assert compute_verdict(frame, n_boot=10).wins_b == 1
    sequential = compute_sequential(frame)
    assert sequential.units == 1
    assert sequential.decision == "continue"
    # A second user voting A too: two A votes in, unanimous A ratio is 4/3 (uniform prior).
    both = _sequential_frame(["u0", "u0", "u0", "u1"], [1, 0, 0, 1], [0, 1, 1, 0])
    assert compute_sequential(both).p_value == pytest.approx(3 / 4)


def test_stopped_at_counts_exposed_units_including_tied_ones() -> None:
    """Ten users prefer B, each after a tied user: the 8th B vote crosses, 16 users exposed then."""
    users, credit_a, credit_b = [], [], []
    for i in range(10):
        users += [f"t{i}", f"b{i}"]
        credit_a += [1.0, 0.0]
        credit_b += [1.0, 1.0]
    sequential = compute_sequential(_sequential_frame(users, credit_a, credit_b))
    assert sequential.decision == "B"
    assert sequential.stopped_at == 16
    assert sequential.stopped_at_impressions == 16
    assert sequential.units == 20


def test_units_enter_in_time_order_whatever_the_row_order() -> None:
    """Shuffling the rows of the outcomes table leaves the sequential verdict unchanged."""
    rng = np.random.default_rng(3)
    users = [f"u{i}" for i in rng.integers(40, size=200)]
    credit_b = rng.integers(0, 2, size=200).astype(float)
    frame = _sequential_frame(users, (1 - credit_b).tolist(), credit_b.tolist())
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert compute_sequential(shuffled) == compute_sequential(frame)


def test_impression_unit_votes_once_per_clicked_impression() -> None:
    """With the impression unit one user's eight B wins are eight votes, and they stop the test."""
    frame = _sequential_frame(["u0"] * 10, [0.0] * 10, [1.0] * 10)
    assert compute_sequential(frame, unit="user").decision == "continue"
    assert compute_sequential(frame, unit="impression").decision == "B"


def test_alpha_sets_the_threshold() -> None:
    """Nine B votes (ratio 51.2) decide at α = 0.05 but not at α = 0.01."""
    frame = _sequential_frame([f"u{i}" for i in range(9)], [0.0] * 9, [1.0] * 9)
    assert compute_sequential(frame, alpha=0.05).decision == "B"
    assert compute_sequential(frame, alpha=0.01).decision == "continue"
    with pytest.raises(OutcomesError, match="alpha"):
        compute_sequential(frame, alpha=1.5)


def test_empty_outcomes_continue() -> None:
    """No impressions: continue, p = 1, no interval, no stopping point."""
    sequential = compute_sequential(pd.DataFrame())
    assert sequential.as_dict() == {
        "decision": "continue",
        "p_value": 1.0,
        "ci_low": None,
        "ci_high": None,
        "stopped_at": None,
    }


def test_radius_is_where_the_normal_mixture_ratio_reaches_one_over_alpha() -> None:
    """At the radius, √(v/(v+τ²))·exp(τ²x²/(2v(v+τ²))) equals 1/α."""
    for v in (1e-5, 1e-3, 0.1):
        tau2 = 0.05**2
        x = float(normal_mixture_radius(v, 0.05, 0.05))
        ratio = math.sqrt(v / (v + tau2)) * math.exp(tau2 * x * x / (2 * v * (v + tau2)))
        assert ratio == pytest.approx(20.0, rel=1e-9)


def test_confidence_sequence_covers_the_true_delta_at_every_look() -> None:
    """Users with a known ΔAB of 0.05: the sequence holds it at all 20 looks in ≥ 95 % of 300 runs."""
    rng = np.random.default_rng(5)
    runs, users, covered = 300, 400, 0
    for _ in range(runs):
        size = 1 + rng.poisson(2, size=users)
        counts = rng.multinomial(size, [0.35, 0.25, 0.4])
        diff = counts[:, 0] - counts[:, 1]
        ok = True
        for look in np.linspace(20, users, 20).astype(int):
            low, high = delta_confidence_sequence(diff[:look], size[:look], 0.05)
            assert low is not None and high is not None
            ok &= low <= 0.05 <= high
        covered += ok
    assert covered / runs >= 0.95


def test_confidence_sequence_is_wider_than_the_one_look_interval() -> None:
    """The sequence pays for its validity at every look: wider than the bootstrap interval."""
    rng = np.random.default_rng(8)
    users = [f"u{i}" for i in rng.integers(300, size=900)]
    credit_b = (rng.random(900) < 0.6).astype(float)
    frame = _sequential_frame(users, (1 - credit_b).tolist(), credit_b.tolist())
    verdict = compute_verdict(frame, n_boot=200)
    sequential = compute_sequential(frame)
    assert sequential.ci_low is not None and sequential.ci_high is not None
    assert verdict.ci_low is not None and verdict.ci_high is not None
    assert sequential.ci_low < verdict.ci_low <= verdict.delta_ab <= verdict.ci_high < sequential.ci_high

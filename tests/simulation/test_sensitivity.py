"""Interleaving against A/B on the fast path: false positives, power, and its vectorised test."""

from __future__ import annotations

import numpy as np
import pytest

from interleave_sdk.analysis.stats import sign_test
from interleave_sdk.simulation.click_models import get_click_model
from interleave_sdk.simulation.fast_path import ab_metrics, build_pool, draw_interleavings
from interleave_sdk.simulation.power import ab_power, interleaving_power, needed, size_grid
from interleave_sdk.simulation.significance import sign_test_p
from samples.video_recsys.handler import VideoScenario, scenario


def test_aa_rejection_rate_is_five_percent(small_world_scenario: VideoScenario) -> None:
    """v1 against itself, team_draft credit: the analysis's sign test rejects 5 % ± 2 % of 400 runs.

    Outcomes come from the fast path (real Team Draft draws through the public API, the analysis's
    credit rule, a real click model) because 400 runs through the decorator would take minutes;
    test_end_to_end checks that the fast path counts wins exactly as analyze() does on real logs.
    """
    same = VideoScenario(small_world_scenario.world, a="v1", b="v1")
    pool = build_pool(same, 400, seed=1)
    draws = draw_interleavings(pool, 400 * 200, seed=2)
    codes = draws.codes(get_click_model("navigational"), np.random.default_rng(3), "team_draft")
    per_run = codes.reshape(400, 200)
    p = [sign_test(int((run > 0).sum()), int((run < 0).sum())) for run in per_run]
    assert 0.03 <= float(np.mean(np.asarray(p) < 0.05)) <= 0.07


@pytest.mark.parametrize("n", [0, 1, 7, 40, 500, 5000])
def test_vectorised_sign_test_equals_the_analysis_sign_test(n: int) -> None:
    """The power curves' vectorised sign test gives the analysis's p-value for every split of n."""
    wins_a = np.arange(n + 1)
    fast = sign_test_p(wins_a, n - wins_a)
    exact = np.array([sign_test(int(a), n - int(a)) for a in wins_a])
    np.testing.assert_allclose(fast, exact, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize(
    ("b", "gap", "click_model"),
    [("v1_tweak", 0.2, "navigational"), ("v2", 0.1, "informational")],
)
def test_clear_gap_needs_fewer_impressions_with_interleaving(
    b: str, gap: float, click_model: str
) -> None:
    """The better version wins, and interleaving reaches 80 % power before either A/B metric."""
    better_world = scenario(seed=7, b=b, gap=gap, n_videos=1200, n_users=300, n_candidates=600)
    quality = better_world.true_quality(500)
    assert quality["B"] > quality["A"]
    pool = build_pool(better_world, 1000, seed=4)
    draws = draw_interleavings(pool, 20000, seed=5)
    model = get_click_model(click_model)
    rng = np.random.default_rng(6)
    sizes = size_grid(20, 50_000, 30)
    codes = draws.codes(model, rng, "competitive")
    assert (codes < 0).sum() > (codes > 0).sum()  # B wins more impressions
    n_il = needed(sizes, interleaving_power(codes, sizes, -1, rng, 400)["power"])
    metrics = ab_metrics(pool, model, rng, repeats=10)
    n_ab = [
        needed(sizes, ab_power(metrics["A"][m], metrics["B"][m], sizes, -1, rng, 400)["power"])
        for m in ("clicks", "rr")
    ]
    assert n_il is not None
    assert all(n is None or n > n_il for n in n_ab), (n_il, n_ab)

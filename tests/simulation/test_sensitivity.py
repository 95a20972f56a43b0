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
    """The power curves' vectorised sign test gives the analysis's p-value across the splits of n."""
    wins_a = np.unique(np.linspace(0, n, 201).round().astype(np.int64))  # every split for n ≤ 200
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


def test_exact_sign_test_power_matches_simulated_experiments() -> None:
    """sign_test_power at n equals the share of 4,000 simulated experiments significant each way."""
    from interleave_sdk.simulation.power import sign_test_power

    rng = np.random.default_rng(12)
    for n in (60, 200, 400):
        counts = rng.multinomial(n, [0.3, 0.2, 0.5], size=4000)
        p = sign_test_p(counts[:, 0], counts[:, 1])
        for_a = float(((p < 0.05) & (counts[:, 0] > counts[:, 1])).mean())
        exact_a, exact_b = sign_test_power(0.3, 0.2, n)
        se = np.sqrt(exact_a * (1 - exact_a) / 4000)
        assert abs(for_a - exact_a) <= 4 * se + 1e-9, (n, for_a, exact_a)
        assert exact_b < 0.01


def test_n80_is_the_smallest_size_with_eighty_percent_power_to_one_percent() -> None:
    """sign_test_n80 gives power ≥ 0.8 there, and < 0.8 one percent below."""
    from interleave_sdk.simulation.power import sign_test_n80, sign_test_power

    n80 = sign_test_n80(0.12, 0.10, better=1)
    assert n80 is not None
    assert sign_test_power(0.12, 0.10, n80)[0] >= 0.8
    assert sign_test_power(0.12, 0.10, int(n80 * 0.98))[0] < 0.8


def test_an_ab_metric_moving_the_wrong_way_never_reaches_power() -> None:
    """welch_n80 is None when the better arm has the lower mean: more traffic cannot help."""
    from interleave_sdk.simulation.power import welch_n80

    assert welch_n80(1.30, 1.0, 1.35, 1.0, better=1) is None
    assert welch_n80(1.35, 1.0, 1.30, 1.0, better=1) == pytest.approx(2 * 2 * 2.8016**2 / 0.05**2, rel=1e-3)


def test_ratio_interval_is_over_independent_replicates() -> None:
    """summarise gives the median and a geometric-mean interval; a missing replicate is counted."""
    from interleave_sdk.simulation.sensitivity import summarise

    out = summarise([10.0, 12.0, 8.0, 11.0, 9.0])
    assert out["median"] == 10.0
    assert out["low"] < 10.0 < out["high"]
    partial = summarise([10.0, None, 8.0])
    assert (partial["missing"], partial["low"]) == (1, None)
    assert summarise([None, None, 3.0])["median"] is None


def test_replicate_rows_use_independent_streams(small_world_scenario: VideoScenario) -> None:
    """Two rows of one comparison with different streams draw different clicks; equal streams agree."""
    from interleave_sdk.simulation.sensitivity import StudySettings, replicate_row

    tweak = VideoScenario(small_world_scenario.world, a="v1", b="v1_tweak")
    pool = build_pool(tweak, 200, seed=1)
    draws = draw_interleavings(pool, 3000, seed=2)
    settings = StudySettings(ab_repeats=2)
    one = replicate_row(pool, draws, "navigational", -1, settings, stream=1)
    again = replicate_row(pool, draws, "navigational", -1, settings, stream=1)
    other = replicate_row(pool, draws, "navigational", -1, settings, stream=2)
    assert one == again
    assert one != other
    assert one["il_competitive_right"] and one["il_competitive_n80"] is not None

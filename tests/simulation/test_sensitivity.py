"""Interleaving against A/B on simulated users: false positives, power, and path agreement."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from interleave_sdk.simulation.click_models import get_click_model
from interleave_sdk.simulation.fast_path import ab_metrics, build_pool, draw_interleavings
from interleave_sdk.simulation.power import ab_power, interleaving_power, needed, size_grid
from interleave_sdk.simulation.significance import sign_test_p
from interleave_sdk.simulation.simulator import SimulationSettings, simulate
from samples.video_recsys.handler import VideoScenario, scenario


def test_aa_rejection_rate_is_five_percent(small_world_scenario: VideoScenario) -> None:
    """v1 against itself, team_draft credit: 400 experiments reject at 5 % ± 2 %.

    Uses the fast path (real Team Draft draws through the public API, real click model, a sign
    test per experiment of 200 impressions) because 400 runs through the decorator would take
    minutes; test_fast_path_agrees_with_the_decorated_handler ties the two paths together.
    """
    same = VideoScenario(small_world_scenario.world, a="v1", b="v1")
    pool = build_pool(same, 400, seed=1)
    draws = draw_interleavings(pool, 400 * 200, seed=2)
    codes = draws.codes(get_click_model("navigational"), np.random.default_rng(3), "team_draft")
    per_run = codes.reshape(400, 200)
    p = sign_test_p((per_run > 0).sum(axis=1), (per_run < 0).sum(axis=1))
    assert 0.03 <= float((p < 0.05).mean()) <= 0.07


def test_identical_rankers_never_reject_under_competitive_credit(
    small_world_scenario: VideoScenario,
) -> None:
    """With competitive credit identical lists always tie, so an A/A can never be significant."""
    same = VideoScenario(small_world_scenario.world, a="v1", b="v1")
    draws = draw_interleavings(build_pool(same, 100, seed=1), 2000, seed=2)
    codes = draws.codes(get_click_model("informational"), np.random.default_rng(3), "competitive")
    assert not codes.any()


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


def test_fast_path_agrees_with_the_decorated_handler(
    small_world_scenario: VideoScenario, tmp_path: Path
) -> None:
    """B's win share per impression is the same through the real handler and the fast path."""
    settings = SimulationSettings(requests=1000, click_model="navigational", seed=8, ab=False)
    real = simulate(small_world_scenario, settings, tmp_path, analysis=False).interleaving
    draws = draw_interleavings(build_pool(small_world_scenario, 1000, seed=9), 20000, seed=10)
    codes = draws.codes(get_click_model("navigational"), np.random.default_rng(11), "competitive")
    for key, fast_share in (("wins_b", (codes < 0).mean()), ("wins_a", (codes > 0).mean())):
        real_share = real[key] / settings.requests
        se = math.sqrt(fast_share * (1 - fast_share) * (1 / settings.requests + 1 / 20000))
        assert abs(real_share - fast_share) <= 4.5 * se, (key, real_share, fast_share)


def test_real_path_detects_a_clear_gap_before_ab(tmp_path: Path) -> None:
    """Through the decorated handler, v1_tweak beats v1 and interleaving settles before A/B."""
    tweak = scenario(seed=7, b="v1_tweak", n_videos=1200, n_users=300, n_candidates=600)
    settings = SimulationSettings(requests=1000, click_model="navigational", seed=12)
    result = simulate(tweak, settings, tmp_path, analysis=False)
    il, ab = result.interleaving, result.ab
    assert ab is not None
    assert il["winner"] == "B"
    assert il["settled_at"] is not None
    for metric in ("clicks", "rr"):
        assert ab[metric]["settled_at"] is None or ab[metric]["settled_at"] > il["settled_at"]

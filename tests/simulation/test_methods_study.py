"""The methods study's fast path: pinned to the full analysis, right on known quality, calibrated."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.interleaving.optimized import OptimizedInterleaver, warm_up
from interleave_sdk.simulation.click_models import get_click_model
from interleave_sdk.simulation.methods_study import (
    ArmPool,
    add_versions,
    as_logs,
    build_arm_pool,
    draw,
    experiment,
    family_power,
    rejection_rates,
)
from interleave_sdk.simulation.video_recsys import build_world

START = datetime(2026, 11, 23, tzinfo=timezone.utc)
KNOWN = {"q30": 0.3, "q55": 0.55, "q80": 0.8}


@pytest.fixture(scope="module")
def pool() -> ArmPool:
    world = build_world(7, n_videos=1200, n_users=300, n_candidates=600)
    add_versions(world, KNOWN)
    return build_arm_pool(world, tuple(KNOWN), 300, seed=3)


def full_analysis(tmp_path, run, credit: str):
    """The experiment written as log lines and click events, read back by ``analyze()``."""
    records, feedback = as_logs(run, START)
    path = write_json_lines(tmp_path / "log.jsonl", records)
    return analyze(path, feedback, credit=credit, n_boot=10).preference


@pytest.mark.parametrize(
    ("arms", "method", "credit"),
    [
        (("q30", "q55", "q80"), "team_draft_v1", "team_draft"),
        (("q30", "q55", "q80"), "team_draft_v1", "competitive"),
        pytest.param(("q55", "q80"), "optimized_v1", "team_draft", marks=pytest.mark.slow),
        (("q55", "q80"), "team_draft_v1", "competitive"),
    ],
)
def test_fast_path_equals_the_full_analysis(tmp_path, pool, arms, method, credit):
    """Counts and p-values of every pair agree with analyze() on the same impressions and clicks."""
    few = ArmPool(pool.versions, pool.users[:60], pool.lists[:60], pool.grades[:60])  # LPs cost
    assert warm_up()  # the solver loaded before serving, as a Lambda's init phase would
    patient = OptimizedInterleaver("optimized_v1", "linear", time_budget_ms=10_000)
    d = draw(few, arms, 200, seed=1, method=method, merge=patient if method == "optimized_v1" else None)
    run = experiment(d, get_click_model("navigational"), np.random.default_rng(5), size=150, credit=credit)
    slow = full_analysis(tmp_path, run, credit)
    assert slow.arms == tuple(sorted(arms))
    for row in arms:
        for col, cell in slow.matrix[row].items():
            fast = run.preference.matrix[row][col]  # the fast path has no sequential test
            assert (cell.wins, cell.losses, cell.ties, cell.p_value, cell.p_holm) == (
                fast.wins,
                fast.losses,
                fast.ties,
                fast.p_value,
                fast.p_holm,
            )
    assert run.clicks.any(axis=1).sum() > 50
    if method == "optimized_v1":
        assert set(d.methods) == {"optimized_v1"}


@pytest.mark.slow
def test_three_arms_of_known_quality_are_ranked_in_order(tmp_path, pool):
    """Multileaving q30, q55 and q80 through the full analysis finds q80 > q55 > q30, q80 best."""
    d = draw(pool, ("q55", "q30", "q80"), 1000, seed=2, method="team_draft_v1")
    run = experiment(d, get_click_model("navigational"), np.random.default_rng(6), size=1000)
    pref = full_analysis(tmp_path, run, "competitive")
    assert pref.ranking() == ["q80", "q55", "q30"]
    assert pref.best_arm == "q80"
    assert pref.matrix["q55"]["q30"].p_holm < 0.05


@pytest.mark.slow
def test_a_a_a_rejects_five_percent_per_pair(pool):
    """Three copies of one version: each pair's uncorrected sign test rejects 5 % ± 2 % of 1,000.

    Each experiment draws its team labels afresh (``relabel``), so experiments are independent.
    """
    same = ArmPool(
        ("x", "y", "z"),
        pool.users,
        tuple({"x": ls["q55"], "y": ls["q55"], "z": ls["q55"]} for ls in pool.lists),
        pool.grades,
    )
    d = draw(same, ("x", "y", "z"), 3000, seed=4, method="team_draft_v1")
    model = get_click_model("navigational")
    rates = rejection_rates(d, model, experiments=1000, size=600, seed=9, relabel=True)
    assert len(rates) == 3
    for pair, rate in rates.items():
        assert 0.03 <= rate <= 0.07, (pair, rate)


def test_family_power_needs_every_pair_right():
    """A family with one undecidable pair never reaches power; a clear family does."""
    rng = np.random.default_rng(0)
    clear = np.array([1] * 70 + [-1] * 30, dtype=np.int8)
    coin = np.array([1] * 50 + [-1] * 50, dtype=np.int8)
    sizes = [2000]
    assert family_power([clear, clear], [1, 1], sizes, rng, repeats=200, split=False)[0] > 0.99
    assert family_power([clear, coin], [1, 1], sizes, rng, repeats=200, split=True)[0] < 0.2

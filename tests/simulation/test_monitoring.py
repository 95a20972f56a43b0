"""Continuous monitoring: the sequential test read at every look keeps α and stops early on a real gap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from interleave_sdk.analysis import analyze
from interleave_sdk.simulation.click_models import get_click_model
from interleave_sdk.simulation.fast_path import build_pool, draw_interleavings, resample_experiments
from interleave_sdk.simulation.monitoring import (
    Monitoring,
    even_looks,
    fixed_horizon_power,
    fixed_horizon_wins,
    monitor_interleaving,
)
from interleave_sdk.simulation.simulator import SimulationSettings, run_interleaving, traffic
from samples.video_recsys.handler import VideoScenario, scenario

ALPHA = 0.05
CODES = {1: "A", -1: "B", 0: "continue"}


def _truncated(path: Path, lines: int, out: Path) -> Path:
    """The first ``lines`` log lines: the log as it stood at that look."""
    with path.open("rb") as source:
        out.write_bytes(b"".join(line for _, line in zip(range(lines), source, strict=False)))
    return out


@pytest.mark.parametrize(
    ("arms", "credit"), [(("v1", "v1_tweak"), "competitive"), (("v1", "v1"), "team_draft")]
)
def test_fast_path_decides_as_analyze_does_at_every_look(
    small_world_scenario: VideoScenario, tmp_path: Path, arms: tuple[str, str], credit: str
) -> None:
    """Decorated handler → log files → analyze() at each of 8 looks = the vectorised monitor.

    Both the sequential decisions and the fixed-horizon user votes (which the power curves use)
    are the analysis's, look by look.
    """
    world = VideoScenario(small_world_scenario.world, a=arms[0], b=arms[1])
    settings = SimulationSettings(requests=240, seed=21, credit=credit)
    requests = traffic(world.user_ids(), settings.requests, settings.seed)
    run = run_interleaving(world, requests, settings, tmp_path, get_click_model("navigational"))
    _, users = np.unique([r.user_id for r in requests], return_inverse=True)
    diff = run.impressions.credit(run.clicks, credit)
    looks = even_looks(settings.requests, 8)
    fast = monitor_interleaving(users[None, :], diff[None, :], looks, alpha=ALPHA)
    full = []
    for look in looks.tolist():
        log = _truncated(run.exposures, look, tmp_path / f"look{look}.jsonl")
        # The simulated clicks are written as their impressions are served: every window closed.
        result = analyze(
            log, run.feedback, credit=credit, n_boot=1, series_points=0, as_of="2100-01-01"
        )
        full.append(result.sequential.decision)
        wins_a, wins_b = fixed_horizon_wins(users[None, :], diff[None, :], look)
        assert (int(wins_a[0]), int(wins_b[0])) == (result.verdict.wins_a, result.verdict.wins_b)
    assert full == [CODES[int(code)] for code in fast.decisions[0]]
    if arms[1] == "v1_tweak":
        assert full[0] == "continue" and full[-1] == "B"  # the pin covers both states


def assert_rejections_within_alpha(watched: Monitoring, label: str) -> int:
    """A/A runs that decided at any look are at most α + 1 %; returns how many decided."""
    runs = len(watched.decisions)
    rejected = int((watched.first_decision() != 0).sum())
    ci = stats.binomtest(rejected, runs).proportion_ci(0.95)
    share = f"{rejected}/{runs} = {rejected / runs:.3f}"
    message = f"{label} rejected {share}, 95 % CI [{ci.low:.3f}, {ci.high:.3f}]"
    assert rejected / runs <= ALPHA + 0.01, message
    return rejected


@pytest.fixture(scope="module")
def aa_draws(small_world_scenario: VideoScenario) -> tuple[object, object]:
    same = VideoScenario(small_world_scenario.world, a="v1", b="v1")
    pool = build_pool(same, 600, seed=1)
    return pool, draw_interleavings(pool, 4000, seed=2)


@pytest.mark.slow
def test_aa_rejection_at_twenty_looks_stays_within_alpha(aa_draws: tuple[object, object]) -> None:
    """A/A, 600 experiments × 1,000 impressions, read at 20 looks: rejections ≤ α + 1 %."""
    pool, draws = aa_draws
    exps = resample_experiments(
        pool,  # type: ignore[arg-type]
        draws,  # type: ignore[arg-type]
        get_click_model("navigational"),
        experiments=600,
        impressions=1000,
        credit="team_draft",
        rng=np.random.default_rng(30),
    )
    watched = monitor_interleaving(exps.users, exps.credit, even_looks(1000, 20), alpha=ALPHA)
    rejected = assert_rejections_within_alpha(watched, "A/A")
    assert rejected > 0  # the test is live: team_draft credit gives A/A real coin flips


@pytest.mark.slow
def test_b_better_is_found_and_sooner_than_the_fixed_horizon(
    small_world_scenario: VideoScenario,
) -> None:
    """v1_tweak over v1: sequential decides B in ≥ 95 % of 300 runs, median stop < fixed N80."""
    better = VideoScenario(
        scenario(seed=7, b="v1_tweak", tweak=0.005, n_videos=1200, n_users=300, n_candidates=600).world,
        a="v1",
        b="v1_tweak",
    )
    quality = better.true_quality(500)
    assert quality["B"] > quality["A"]
    pool = build_pool(better, 600, seed=3)
    draws = draw_interleavings(pool, 4000, seed=4)
    exps = resample_experiments(
        pool,
        draws,
        get_click_model("navigational"),
        experiments=300,
        impressions=1500,
        credit="competitive",
        rng=np.random.default_rng(31),
    )
    watched = monitor_interleaving(exps.users, exps.credit, np.arange(5, 1501, 5), alpha=ALPHA)
    decisions = watched.first_decision()
    assert (decisions == -1).mean() >= 0.95
    stops = np.where(np.isnan(watched.stopped_at()), np.inf, watched.stopped_at())
    sizes = np.unique(np.round(np.geomspace(20, 1500, 90)).astype(np.int64))  # steps < 5 %
    power = fixed_horizon_power(exps.users, exps.credit, sizes, better=-1, alpha=ALPHA)
    n80 = int(sizes[np.argmax(power >= 0.8)])
    assert power.max() >= 0.8
    assert float(np.median(stops)) < n80, (float(np.median(stops)), n80)


@pytest.mark.slow
def test_ab_sequential_test_keeps_alpha_at_twenty_looks(aa_draws: tuple[object, object]) -> None:
    """The A/B side's sequential test on reciprocal rank, A/A, 400 runs × 2,000 impressions."""
    from interleave_sdk.simulation.fast_path import resample_ab
    from interleave_sdk.simulation.monitoring import monitor_ab

    pool, _ = aa_draws
    runs = resample_ab(
        pool,  # type: ignore[arg-type]
        get_click_model("navigational"),
        experiments=400,
        impressions=2000,
        rng=np.random.default_rng(32),
    )
    watched = monitor_ab(runs.is_b, runs.rr, even_looks(2000, 20), alpha=ALPHA)
    assert_rejections_within_alpha(watched, "A/B A/A")

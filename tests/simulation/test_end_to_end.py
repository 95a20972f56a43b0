"""The full path: decorated handler, log and feedback files on disk, the real ``analyze()``."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.credit import available_credit_rules
from interleave_sdk.simulation.click_models import get_click_model
from interleave_sdk.simulation.fast_path import build_pool, draw_interleavings
from interleave_sdk.simulation.simulator import SimulationResult, SimulationSettings, simulate
from samples.video_recsys.handler import VideoScenario, scenario

ROOT = Path(__file__).resolve().parents[2]
GAP = SimulationSettings(requests=600, click_model="navigational", seed=8, ab=False, n_boot=200)


@pytest.fixture(scope="module")
def gap_run(
    small_world_scenario: VideoScenario, tmp_path_factory: pytest.TempPathFactory
) -> SimulationResult:
    """v1 (A) against the clearly better v2 (B), served through the decorated handler."""
    return simulate(small_world_scenario, GAP, tmp_path_factory.mktemp("gap"))


def test_verdict_from_the_files_names_the_truly_better_version(
    small_world_scenario: VideoScenario, gap_run: SimulationResult
) -> None:
    """analyze() on the written logs finds B significantly preferred, and B is truly better."""
    truth = small_world_scenario.true_quality(500)
    assert truth["B"] > truth["A"]
    assert gap_run.verdict["winner"] == "B"
    assert gap_run.verdict["p_value"] < 0.05
    assert gap_run.verdict["impressions_total"] == GAP.requests


@pytest.mark.parametrize("credit", available_credit_rules())
def test_analysis_counts_the_same_wins_and_ties_as_the_fast_path(
    gap_run: SimulationResult, credit: str
) -> None:
    """On the same impressions and clicks, analyze() and the fast path's credit code agree exactly."""
    files = gap_run.files
    verdict = analyze(files["exposures"], files["feedback"], credit=credit, n_boot=1).verdict
    simulated = gap_run.interleaving["simulated"][credit]
    unclicked = verdict.impressions_total - verdict.impressions  # ties for both, by definition
    assert (verdict.impression_wins_a, verdict.impression_wins_b, verdict.impression_ties + unclicked) == (
        simulated["wins_a"],
        simulated["wins_b"],
        simulated["ties"],
    )
    assert simulated["wins_a"] + simulated["wins_b"] > 0


def test_fast_path_draws_behave_like_the_decorated_handler(
    small_world_scenario: VideoScenario, gap_run: SimulationResult
) -> None:
    """B's and A's win shares per impression match between the real run and fast-path draws."""
    draws = draw_interleavings(build_pool(small_world_scenario, 1000, seed=9), 20000, seed=10)
    codes = draws.codes(get_click_model(GAP.click_model), np.random.default_rng(11), GAP.credit)
    real = gap_run.interleaving["simulated"][GAP.credit]
    for key, fast_share in (("wins_b", (codes < 0).mean()), ("wins_a", (codes > 0).mean())):
        real_share = real[key] / GAP.requests
        se = math.sqrt(fast_share * (1 - fast_share) * (1 / GAP.requests + 1 / 20000))
        assert abs(real_share - fast_share) <= 4.5 * se, (key, real_share, fast_share)


def test_identical_versions_always_tie_through_the_full_path(
    small_world_scenario: VideoScenario, tmp_path: Path
) -> None:
    """v1 against itself: competitive credit leaves every impression tied, so no winner."""
    same = VideoScenario(small_world_scenario.world, a="v1", b="v1")
    settings = SimulationSettings(requests=150, click_model="informational", seed=3, ab=False, n_boot=50)
    verdict = simulate(same, settings, tmp_path).verdict
    assert verdict["impressions"] > 100  # informational users click, yet ...
    assert (verdict["impression_wins_a"], verdict["impression_wins_b"]) == (0, 0)
    assert verdict["winner"] == "none"


def test_clear_gap_is_detected_with_fewer_impressions_than_ab(tmp_path: Path) -> None:
    """v1_tweak beats v1 through the full path; interleaving's sequential test decides B first."""
    tweak = scenario(seed=7, b="v1_tweak", n_videos=1200, n_users=300, n_candidates=600)
    truth = tweak.true_quality(500)
    assert truth["B"] > truth["A"]
    settings = SimulationSettings(requests=1000, click_model="navigational", seed=12, n_boot=200)
    result = simulate(tweak, settings, tmp_path)
    il, ab = result.interleaving, result.ab
    assert ab is not None
    assert result.verdict["winner"] == "B"
    assert (il["decision"], il["sequential"]["decision"]) == ("B", "B")
    assert il["decided_at"] is not None
    assert ab["decision"] in ("B", "continue")  # never the worse arm
    assert ab["decided_at"] is None or ab["decided_at"] > il["decided_at"]


def test_demo_runs_and_writes_its_report(tmp_path: Path) -> None:
    """``samples/demo.py`` (what ``make demo`` runs) exits 0, prints the story, writes the report."""
    out = tmp_path / "demo"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "samples" / "demo.py"),
            *("--out", str(out), "--requests", "200", "--seeds", "3", "--horizon", "2000"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Interleaving verdict" in done.stdout
    assert "sequential test" in done.stdout
    assert "A/B" in done.stdout
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Interleaving report")
    for plot in ("cumulative_delta_ab.png", "p_value.png", "click_share_by_position.png"):
        assert (out / plot).stat().st_size > 0
    assert (out / "exposures.jsonl").is_file()

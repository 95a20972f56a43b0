"""The holdout section: positive feedback per impression, interleaved vs holdout users."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.holdout import holdout_effect, read_impressions
from interleave_sdk.analysis.report import write_report
from interleave_sdk.analysis.testing import EPOCH, iso, ranking_record, write_json_lines


def simulated_rows(
    seed: int, users: int, effect: float = -0.10, holdout_share: float = 0.2
) -> tuple[list[tuple[str, str, str, int]], pd.DataFrame]:
    """Impressions (ranking, user, group, seconds) and clicks of an experiment where interleaving
    multiplies clicks by ``1 + effect``.

    Users differ (a click propensity from a Beta, 1 to 8 impressions), so the user-clustered
    interval has real clustering to account for.
    """
    rng = random.Random(seed)
    rows, clicks = [], []
    for u in range(users):
        user = f"user-{u}"
        group = "holdout" if rng.random() < holdout_share else "interleaved"
        propensity = rng.betavariate(2, 6)
        for n in range(rng.randint(1, 8)):
            ranking, seconds = f"{user}-{n}", u * 10 + n
            rows.append((ranking, user, group, seconds))
            if rng.random() < propensity * (1 + effect if group == "interleaved" else 1.0):
                ts = iso(EPOCH + timedelta(seconds=seconds + 2))
                clicks.append((user, "i1", ts, "click", ranking))
    feedback = pd.DataFrame(clicks, columns=["user_id", "item_id", "ts", "kind", "ranking_id"])
    return rows, feedback


def simulated(
    seed: int, users: int = 3000, effect: float = -0.10, holdout_share: float = 0.2
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The same experiment as real log lines (holdout lines list the baseline's items alone)."""
    rows, feedback = simulated_rows(seed, users, effect, holdout_share)
    records = []
    for ranking, user, group, seconds in rows:
        items = [(f"i{j}", "A" if j % 2 == 0 else "B", j + 1, j + 1) for j in range(4)]
        if group == "holdout":
            items = [(item, "A", rank, None) for item, _, rank, _ in items]
        ts = EPOCH + timedelta(seconds=seconds)
        records.append(ranking_record(ranking, user, ts, items, served=group))
    return records, feedback


def normalised(feedback: pd.DataFrame) -> pd.DataFrame:
    from interleave_sdk.analysis.sources import normalize_feedback

    return normalize_feedback(feedback)[0]


def test_a_ten_percent_loss_is_found_with_the_truth_inside_the_interval(tmp_path: Path) -> None:
    """Interleaving lowers clicks by 10 %: the section's interval holds -10 % and excludes 0."""
    records, feedback = simulated(seed=1, users=6000)
    logs = write_json_lines(tmp_path / "logs.jsonl", records)
    result = analyze(str(logs), feedback, n_boot=50, series_points=0)
    section = result.as_dict()["holdout"]
    assert section["ci_low"] < -0.10 < section["ci_high"] < 0
    assert section["users_interleaved"] + section["users_holdout"] == 6000
    assert set(section) >= {"effect", "ci_low", "ci_high", "users_interleaved", "users_holdout"}


@pytest.mark.slow
def test_interval_covers_the_truth_at_its_level() -> None:
    """Over 100 simulated experiments the 95 % interval holds the true -10 % in 88 or more."""
    covered = 0
    for seed in range(100):
        rows, feedback = simulated_rows(seed=seed, users=1000)
        impressions = pd.DataFrame(
            [(ranking, user, group, ("i0", "i1", "i2", "i3")) for ranking, user, group, _ in rows],
            columns=["ranking_id", "user_id", "group", "item_ids"],
        )
        section = holdout_effect(impressions, normalised(feedback))
        assert section.ci_low is not None and section.ci_high is not None
        covered += section.ci_low <= -0.10 <= section.ci_high
    assert covered >= 88


def test_no_effect_interval_holds_zero(tmp_path: Path) -> None:
    """When interleaving changes nothing, the interval holds 0."""
    records, feedback = simulated(seed=3, users=4000, effect=0.0)
    logs = write_json_lines(tmp_path / "logs.jsonl", records)
    impressions = read_impressions(str(logs))
    section = holdout_effect(impressions, normalised(feedback))
    assert section.ci_low is not None and section.ci_high is not None
    assert section.ci_low < 0 < section.ci_high


def test_logs_without_holdout_have_a_null_section(tmp_path: Path) -> None:
    """No holdout lines: the JSON's holdout is null and nothing is reparsed."""
    records, feedback = simulated(seed=2, users=200, holdout_share=0.0)
    logs = write_json_lines(tmp_path / "logs.jsonl", records)
    assert analyze(str(logs), feedback, n_boot=20, series_points=0).as_dict()["holdout"] is None


def test_clicks_on_items_not_shown_or_without_a_ranking_are_not_counted() -> None:
    """A click whose item was not in the list, or which carries no ranking id, is unmatched."""
    impressions = pd.DataFrame(
        [("r1", "u1", "interleaved", ("a",)), ("r2", "u2", "holdout", ("a",))],
        columns=["ranking_id", "user_id", "group", "item_ids"],
    )
    ts = iso(EPOCH)
    feedback = pd.DataFrame(
        [("u1", "a", ts, "click", "r1"), ("u1", "zz", ts, "click", "r1"), ("u2", "a", ts, "click", None)],
        columns=["user_id", "item_id", "ts", "kind", "ranking_id"],
    )
    section = holdout_effect(impressions, normalised(feedback))
    assert (section.positive_interleaved, section.positive_holdout, section.unmatched_feedback) == (1, 0, 2)
    assert section.effect is None


def test_report_states_the_effect(tmp_path: Path) -> None:
    """The Markdown report says "interleaving itself changed engagement by x % [ci]"."""
    records, feedback = simulated(seed=4, users=1500)
    logs = write_json_lines(tmp_path / "logs.jsonl", records)
    result = analyze(str(logs), feedback, n_boot=20, series_points=0)
    text = write_report(result, tmp_path / "report").read_text(encoding="utf-8")
    assert "interleaving itself changed engagement by " in text and "95% CI" in text

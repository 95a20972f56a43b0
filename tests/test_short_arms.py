"""Short arms: an arm that runs out of items cannot win (or lose) by its length alone."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from interleave_sdk import StaticConfig, interleaved, replay
from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.testing import ranking_record, write_json_lines
from interleave_sdk.interleaving import interleave
from interleave_sdk.interleaving.optimized import OptimizedInterleaver

from .conftest import StepClock

START = datetime(2026, 11, 23, tzinfo=timezone.utc)
LONG = [f"a{i}" for i in range(8)]
SHORT = [f"b{i}" for i in range(3)]


def serve(method: str, requests: int, seed: int = 0) -> list[dict]:
    """``requests`` interleaved lists of A (8 items) and B (3 items), k=8: their log lines."""
    lines: list[dict] = []
    ids = random.Random(seed)
    clock = StepClock(START)

    @interleaved(
        rankers={"B": lambda user_id: pd.DataFrame({"item_id": SHORT})},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, interleave_method=method),
        sink=lines.append,
        k=8,
        clock=clock,
        id_factory=lambda: f"{ids.getrandbits(64):016x}",
        metrics=False,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": LONG})

    for n in range(requests):
        clock.current = START + timedelta(seconds=10 * n)
        recommend(f"u{n}")
    return lines


def clicks(lines: list[dict], click, seed: int) -> pd.DataFrame:
    """Clicks on the served lists, each item with probability ``click(position, item)``."""
    rng = random.Random(seed)
    feedback = []
    for line in lines:
        shown = datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
        for item in line["items"]:
            position, item_id = item["position"], item["item_id"]
            if rng.random() < click(position, item_id):
                ts = (shown + timedelta(seconds=position)).isoformat()
                feedback.append(
                    {
                        "user_id": line["user_id"],
                        "item_id": item_id,
                        "ts": ts,
                        "kind": "click",
                        "ranking_id": line["ranking_id"],
                    }
                )
    return pd.DataFrame(feedback)


@pytest.fixture(scope="module", params=["team_draft_v1", "optimized_v1"])
def served(request) -> list[dict]:
    """4,000 requests of each method (optimized falls back, short_arm, on every one)."""
    return serve(request.param, 4000)


def uniform(position: int, item: str) -> float:
    return 0.1


def by_position(position: int, item: str) -> float:
    return 0.5 / position


def short_is_better(position: int, item: str) -> float:
    return (0.3 if item.startswith("b") else 0.1) / position**0.5


def verdict(tmp_path, lines, feedback, engine="duckdb"):
    path = write_json_lines(tmp_path / "log.jsonl", lines)
    return analyze(path, feedback, engine=engine, n_boot=20, series_points=0).verdict


@pytest.mark.parametrize(
    ("items", "depth"),
    [
        ((LONG, SHORT), 6),  # B's three picks, then A fills the rest: three complete rounds
        ((LONG, LONG[::-1]), 8),  # nobody runs out
        ((LONG[:3], LONG[:3]), 3),  # both run out together: no pick was made short-handed
        ((LONG[:4], ["a0", "a1", "x"]), 6),  # B's items taken by A can exhaust it too
    ],
)
def test_team_draft_records_where_the_contest_ended(items, depth):
    """Team Draft's contest ends with the last round in which both arms still drafted."""
    for seed in range(20):
        result = interleave("team_draft_v1", {"A": items[0], "B": items[1]}, 8, random.Random(seed))
        if depth == 6 and items[1] is not SHORT:
            assert result.contest in (4, 6)  # who drafted first decides whether B ran out mid-round
            continue
        assert result.contest == min(depth, len(result.items))


def test_three_teams_contest_is_complete_rounds():
    """With three teams the contest is three times the fewest picks once one ran out."""
    result = interleave("team_draft_v1", {"A": LONG, "B": SHORT, "C": ["c0"]}, 8, random.Random(1))
    assert result.contest == 3


def test_optimized_falls_back_with_a_reason_on_a_short_arm():
    """optimized_v1 serves Team Draft, saying short_arm, when an arm cannot fill the list."""
    method = OptimizedInterleaver("short_probe", background=False)
    result = method({"A": LONG, "B": SHORT}, 8, random.Random(3))
    assert result.method == "team_draft_v1"
    assert result.detail is not None and result.detail["fallback"] == "short_arm"
    assert result.detail["lengths"] == [8, 3]
    assert result.contest == 6


def test_the_line_records_the_contest_and_replay_agrees():
    """Every interleaved line carries contest_depth; replay draws the same list."""
    for line in serve("team_draft_v1", 5):
        assert line["contest_depth"] == 6
        assert [i["item_id"] for i in line["items"]] == list(replay(line).items)


@pytest.mark.slow
@pytest.mark.parametrize("click", [uniform, by_position], ids=["uniform", "position_only"])
def test_item_blind_clicks_give_no_verdict_with_a_short_arm(tmp_path, served, click):
    """A with 8 items, B with 3, k=8, clicks that ignore the items: no preference (p > 0.001)."""
    assert {line["method_detail"]["fallback"] for line in served if line["method_detail"]} <= {"short_arm"}
    result = verdict(tmp_path, served, clicks(served, click, seed=1))
    assert result.p_value > 0.001, result


@pytest.mark.slow
def test_a_short_but_better_arm_still_wins(tmp_path, served):
    """B returns only 3 items but users prefer them: B wins."""
    result = verdict(tmp_path, served, clicks(served, short_is_better, seed=2))
    assert result.winner == "B" and result.p_value < 1e-6, result


@pytest.mark.slow
def test_lines_written_before_the_contest_was_logged_derive_it(tmp_path, served):
    """Lines without contest_depth get it from their teams: still no verdict from length alone."""
    old = [{key: value for key, value in line.items() if key != "contest_depth"} for line in served]
    result = verdict(tmp_path, old, clicks(old, uniform, seed=3))
    assert result.p_value > 0.001, result


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
@pytest.mark.parametrize(
    ("teams", "depth"),
    [
        ("ABBAAAA", 4),  # A drafts twice more after the second round: B had run out
        ("ABBAABB", 7),  # an ordinary draft: the whole list
        ("BAABAA", 4),  # B ran out mid-round (A completes it), then A's third pick shows it
    ],
)
def test_the_contest_of_an_old_line_is_derived_alike_on_every_engine(tmp_path, engine, teams, depth):
    """Without a logged contest_depth, a click past the derived contest credits no one."""
    items = [(f"i{p}", team, None, None) for p, team in enumerate(teams, start=1)]
    line = ranking_record("r1", "u1", START, items)
    del line["contest_depth"]
    feedback = pd.DataFrame(
        [
            {
                "user_id": "u1",
                "item_id": f"i{p}",
                "ts": (START + timedelta(seconds=p)).isoformat(),
                "kind": "click",
                "ranking_id": "r1",
            }
            for p in range(1, len(teams) + 1)
        ]
    )
    path = write_json_lines(tmp_path / "log.jsonl", [line])
    outcomes = analyze(path, feedback, engine=engine, n_boot=10, series_points=0).outcomes
    expected_a = teams[:depth].count("A")
    assert (outcomes["credit_a"].iloc[0], outcomes["credit_b"].iloc[0]) == (expected_a, depth - expected_a)

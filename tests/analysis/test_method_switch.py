"""End to end: flipping interleave_method in the config, without a redeploy, and one analysis of both."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from interleave_sdk import EnvConfig, interleaved, last_ranking_id
from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.rank_credit import RANK_CREDITS
from interleave_sdk.analysis.testing import write_json_lines

from ..conftest import StepClock

pytestmark = pytest.mark.slow  # the served log costs a few seconds of LP solving and serving

START = datetime(2026, 11, 23, tzinfo=timezone.utc)
CATALOG = [f"v{i}" for i in range(12)]


def ranked(user_id: str, salt: int) -> pd.DataFrame:
    """A user's top 5: a few overlap patterns between the arms, so the LP cache warms up."""
    rng = random.Random(f"{salt}:{int(user_id[1:]) % 4}")
    return pd.DataFrame({"item_id": rng.sample(CATALOG, 5)})


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """200 requests; the environment switches team_draft_v1 <-> optimized_v1 every 50."""
    env = {
        "INTERLEAVE_SDK_MODE": "INTERLEAVE",
        "INTERLEAVE_SDK_SAMPLING_RATE": "1",
        "INTERLEAVE_SDK_TIMEOUT_MS": "30000",
        "INTERLEAVE_SDK_INTERLEAVE_METHOD": "team_draft_v1",
    }
    lines: list[dict] = []
    ids = random.Random(1)
    clock = StepClock(START)

    @interleaved(
        rankers={"B": lambda user_id: ranked(user_id, 2)},
        config=EnvConfig(environ=env),
        sink=lines.append,
        k=5,
        clock=clock,
        id_factory=lambda: f"{ids.getrandbits(64):016x}",
        metrics=False,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return ranked(user_id, 1)

    clicks = random.Random(7)
    feedback = []
    for n in range(200):
        env["INTERLEAVE_SDK_INTERLEAVE_METHOD"] = ("team_draft_v1", "optimized_v1")[n // 50 % 2]
        clock.current = START + timedelta(seconds=10 * n)
        user = f"u{n % 40}"
        frame = recommend(user)
        rid = last_ranking_id()
        a_top = set(ranked(user, 1)["item_id"][:2])
        for position, item in enumerate(frame["item_id"], start=1):
            if clicks.random() < (0.5 if item in a_top else 0.1):
                feedback.append(
                    {
                        "user_id": user,
                        "item_id": item,
                        "ts": (clock.current + timedelta(seconds=position)).isoformat(),
                        "kind": "click",
                        "ranking_id": rid,
                    }
                )
    folder = tmp_path_factory.mktemp("switch")
    path = write_json_lines(folder / "log.jsonl", lines)
    return lines, path, pd.DataFrame(feedback)


def test_the_switch_takes_effect_without_a_new_decorator(served):
    """The requested method follows the environment call by call; optimized lists are served."""
    lines, _, _ = served
    requested = [line["method_requested"] for line in lines]
    assert requested == ["team_draft_v1"] * 50 + ["optimized_v1"] * 50 + ["team_draft_v1"] * 50 + [
        "optimized_v1"
    ] * 50
    methods = [line["method"] for line in lines]
    assert methods.count("optimized_v1") >= 1
    for line in lines:
        assert line["served"] == "interleaved"
        if line["method"] != line["method_requested"]:  # a cold LP over budget, or SciPy loading
            assert line["method"] == "team_draft_v1"
            assert line["method_detail"]["fallback"] in ("time_budget", "solver_loading")


def capped(rank: int | None, cap: int) -> int:
    return cap if rank is None else min(rank, cap)


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_one_analysis_credits_each_line_by_its_method(served, engine):
    """Every line is analysed; optimized lines by rank difference, Team Draft lines by team."""
    lines, path, feedback = served
    result = analyze(path, feedback, engine=engine, credit="team_draft", n_boot=50)
    outcomes = result.outcomes.set_index("ranking_id")
    assert len(outcomes) == 200
    by_id = {line["ranking_id"]: line for line in lines}
    clicked = feedback.groupby("ranking_id")["item_id"].apply(set)
    for rid, items in clicked.items():
        line = by_id[rid]
        shown = [i for i in line["items"] if i["item_id"] in items]
        if line["method"] in RANK_CREDITS:
            cap = line["k"] + 1
            expected = sum(
                capped(i["ranks"]["B"], cap) - capped(i["ranks"]["A"], cap) for i in shown
            )
        else:
            expected = sum((i["source_ranker"] == "A") - (i["source_ranker"] == "B") for i in shown)
        row = outcomes.loc[rid]
        assert row["credit_a"] - row["credit_b"] == pytest.approx(expected)
    assert result.verdict.winner == "A"
    assert result.as_dict()["best_arm"] == "A"

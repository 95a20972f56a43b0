"""Three or more arms multileave through the same procedure; the log and replay handle N arms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved, replay
from interleave_sdk.testing import CapturingSink

from .conftest import CountingRanker, frame


@pytest.fixture
def pool() -> Iterator[ArmExecutor]:
    executor = ArmExecutor(max_workers=4, thread_name_prefix="multi")
    yield executor
    executor.shutdown()


def build(
    pool: ArmExecutor, sink: CapturingSink, *, mode: str = "INTERLEAVE", parallel: bool = True, c: Any = None
) -> tuple[Any, dict[str, CountingRanker]]:
    arms = {
        "A": CountingRanker(frame([f"v{i}" for i in range(8)], "A")),
        "B": CountingRanker(frame([f"v{i}" for i in (3, 1, 9, 10, 0, 11, 12, 13)], "B")),
        "C": CountingRanker(
            c if c is not None else frame([f"v{i}" for i in (20, 3, 21, 2, 22, 23, 24, 25)], "C")
        ),
        "v2-large": CountingRanker(frame([f"v{i}" for i in (30, 31, 1, 32, 0, 33, 34, 35)], "D")),
    }
    config = StaticConfig(mode=mode, sampling_rate=1.0, parallel_enabled=parallel)
    handler = arms["A"]

    @interleaved(
        rankers={n: r for n, r in arms.items() if n != "A"}, config=config, sink=sink, executor=pool, k=8
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return handler(user_id)

    return recommend, arms


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_four_arms_are_multileaved_and_replay_from_the_line(
    pool: ArmExecutor, sink: CapturingSink, parallel: bool
) -> None:
    """Each arm runs once; the list has no duplicates, credits every arm and replays exactly."""
    recommend, arms = build(pool, sink, parallel=parallel)
    for i in range(30):
        result = recommend(f"u{i}")
        assert result["item_id"].is_unique and len(result) == 8
    assert all(r.calls == 30 for r in arms.values())
    teams = set()
    for record in sink.records:
        assert record["served"] == "interleaved" and sorted(record["arms"]) == ["A", "B", "C", "v2-large"]
        again = replay(record)
        assert list(again.items) == [i["item_id"] for i in record["items"]]
        assert list(again.teams) == [i["source_ranker"] for i in record["items"]]
        assert all(set(i["ranks"]) == {"A", "B", "C", "v2-large"} for i in record["items"])
        teams |= set(again.teams)
    assert teams == {"A", "B", "C", "v2-large"}


@pytest.mark.parametrize("arm", ["C", "v2-large"])
def test_a_single_arm_mode_can_name_any_arm(pool: ArmExecutor, sink: CapturingSink, arm: str) -> None:
    """mode=<arm> serves that arm alone, whatever its name."""
    recommend, arms = build(pool, sink, mode=arm)
    result = recommend("u1")
    assert arms[arm].calls == 1 and sum(r.calls for r in arms.values()) == 1
    assert sink.last["served"] == arm and result["meta"].iloc[0] == arms[arm].result["meta"].iloc[0]


def test_one_failing_arm_of_three_serves_the_baseline(pool: ArmExecutor, sink: CapturingSink) -> None:
    """Any arm unusable: the request is not interleaved (no partial multileave), the reason says which."""
    recommend, _ = build(pool, sink, c=RuntimeError("C is down"))
    assert "source_ranker" not in recommend("u1").columns
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "arm_error")
    assert record["arms"]["C"]["status"] == "error" and record["arms"]["B"]["status"] == "ok"
    assert "C is down" in record["error"]


def test_the_kill_switch_serves_the_baseline_with_many_arms(pool: ArmExecutor, sink: CapturingSink) -> None:
    """mode=A stops every arm."""
    recommend, arms = build(pool, sink, mode="A")
    recommend("u1")
    assert [r.calls for r in arms.values()] == [1, 0, 0, 0]

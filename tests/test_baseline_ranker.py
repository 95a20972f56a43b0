"""rankers={"A": rank_a, "B": rank_b} around a body calling rank_a: A is computed once per request."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink

from .conftest import CountingRanker, frame

FAILURES = {
    "B raises": lambda user_id: (_ for _ in ()).throw(ConnectionError("B down")),
    "B invalid": lambda user_id: "not a frame",
}


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failing_b_serves_as_own_frame_computing_a_once(
    pool: ArmExecutor, sink: CapturingSink, failure: str, parallel: bool
) -> None:
    """B failing: rank_a runs once and its very frame is served, with B's reason logged."""
    a_frame = frame(["a1", "a2", "a3"], "A")
    rank_a = CountingRanker(a_frame)

    @interleaved(
        rankers={"A": rank_a, "B": FAILURES[failure]},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=parallel),
        sink=sink,
        executor=pool,
    )
    def recommend(user_id: str) -> Any:
        return rank_a(user_id)

    served = recommend("u1")
    assert rank_a.calls == 1
    pd.testing.assert_frame_equal(served, a_frame)
    record = sink.last
    assert record["served"] == "A" and record["fallback_reason"] in ("arm_error", "invalid_output")
    assert [item["item_id"] for item in record["items"]] == ["a1", "a2", "a3"]


def test_a_failing_a_calls_the_decorated_function(pool: ArmExecutor, sink: CapturingSink) -> None:
    """Nothing usable computed (A itself raised): the decorated function serves, once."""
    calls: list[str] = []

    def rank_a(user_id: str) -> pd.DataFrame:
        raise ValueError("A down")

    @interleaved(
        rankers={"A": rank_a, "B": lambda user_id: frame(["b1"])},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0),
        sink=sink,
        executor=pool,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        calls.append(user_id)
        return frame(["own"])

    assert recommend("u1")["item_id"].tolist() == ["own"]
    assert calls == ["u1"] and sink.last["fallback_reason"] == "arm_error"

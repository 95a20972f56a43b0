"""The measurement holdout: a stable share of would-be-interleaved users served the baseline alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from interleave_sdk import Settings, StaticConfig, interleaved, log_schema
from interleave_sdk.allocation import allocate, held_out
from interleave_sdk.bucketing import bucket
from interleave_sdk.testing import CapturingSink

from .conftest import CountingRanker, frame

MakeRecommender = Callable[..., tuple[Callable[..., Any], CountingRanker, CountingRanker]]


@pytest.mark.slow
def test_a_fifth_of_in_sample_users_are_held_out_the_same_every_call(
    make_recommender: MakeRecommender, sink: CapturingSink
) -> None:
    """holdout_rate=0.2: 20 % +- 2 % of in-sample users served holdout, the same users on a second call."""
    recommend, _, _ = make_recommender(sampling_rate=0.8, holdout_rate=0.2, timeout_ms=60000)
    users = [f"u{n}" for n in range(3000)]
    for _ in range(2):
        for user in users:
            recommend(user)
    first, second = sink.records[: len(users)], sink.records[len(users) :]
    in_sample = [r for r in first if r["in_sample"]]
    held = {r["user_id"] for r in first if r["served"] == "holdout"}
    assert abs(len(held) / len(in_sample) - 0.2) <= 0.02
    assert held == {r["user_id"] for r in second if r["served"] == "holdout"}
    assert {r["served"] for r in in_sample if r["user_id"] not in held} == {"interleaved"}


def test_holdout_user_gets_the_baseline_list_and_a_valid_line(
    make_recommender: MakeRecommender, sink: CapturingSink
) -> None:
    """A held-out user receives the decorated function's list, logged as served holdout with its items."""
    recommend, _, rank_b = make_recommender(holdout_rate=1.0)
    result = recommend("u1")
    assert list(result["item_id"]) == ["a", "b", "c", "d"] and rank_b.calls == 0
    [record] = sink.records
    jsonschema.Draft202012Validator(log_schema()).validate(record)
    assert (record["served"], record["in_sample"], record["fallback_reason"]) == ("holdout", True, None)
    assert [item["item_id"] for item in record["items"]] == ["a", "b", "c", "d"]


def test_holdout_applies_only_to_would_be_interleaved_requests(
    make_recommender: MakeRecommender, sink: CapturingSink
) -> None:
    """Out of sample, or mode naming an arm, a holdout_rate of 1 changes nothing."""
    recommend, _, _ = make_recommender(sampling_rate=0.0, holdout_rate=1.0)
    recommend("u1")
    recommend_b, _, _ = make_recommender(mode="B", holdout_rate=1.0)
    recommend_b("u1")
    assert [r["served"] for r in sink.records] == ["A", "B"]


def test_holdout_hash_is_independent_of_the_sampling_bucket() -> None:
    """Users in the low and the high half of the sampling bucket are held out at the same rate."""
    users = [f"user-{n}" for n in range(20000)]
    low = [u for u in users if bucket("exp", u) < 0.5]
    high = [u for u in users if bucket("exp", u) >= 0.5]
    share = [sum(held_out("exp", u, 0.2) for u in half) / len(half) for half in (low, high)]
    assert abs(share[0] - 0.2) < 0.015 and abs(share[1] - 0.2) < 0.015


def test_raising_the_rate_only_adds_users() -> None:
    """Everybody held out at 10 % is still held out at 20 %."""
    users = [f"user-{n}" for n in range(5000)]
    at_10 = {u for u in users if held_out("exp", u, 0.1)}
    at_20 = {u for u in users if held_out("exp", u, 0.2)}
    assert at_10 < at_20


def test_an_anonymous_request_is_held_out_by_its_request() -> None:
    """Without a user the ranking id is the key, as for sampling; the allocation is still valid."""
    allocation = allocate("exp", "ranking-1", Settings(mode="INTERLEAVE", holdout_rate=1.0), None)
    assert allocation.in_sample and allocation.holdout and not allocation.interleaved


def test_handler_error_in_holdout_is_a_baseline_error(sink: CapturingSink) -> None:
    """A held-out call whose handler raises is logged as the baseline's error, not a holdout impression."""

    @interleaved(
        rankers={"B": lambda user_id: frame(["x"])},
        config=StaticConfig(mode="INTERLEAVE", holdout_rate=1.0),
        sink=sink,
    )
    def recommend(user_id: str) -> Any:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        recommend("u1")
    assert (sink.records[-1]["served"], sink.records[-1]["fallback_reason"]) == ("A", "baseline_error")

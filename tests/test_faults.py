"""Fault injection: whatever the non-baseline arm, the config or the sink does, the caller gets the
documented result and the log line says why — in parallel and in sequential mode alike.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, ConfigSnapshot, Settings, StaticConfig, interleave
from interleave_sdk.decorator import interleaved
from interleave_sdk.errors import ConfigUnavailable
from interleave_sdk.testing import CapturingSink

PARALLEL = pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
SHORT_MS = 60.0  # deadline for the slow-arm cases; the slow arm takes several times longer


def frame(ids: list[Any], tag: str = "a") -> pd.DataFrame:
    """A ranked frame with the item column, a score and a meta column."""
    return pd.DataFrame(
        {"item_id": ids, "score": np.linspace(1.0, 0.1, len(ids)), "meta": [tag] * len(ids)}
    )


class SwitchableConfig:
    """A config provider whose settings a test can change between calls."""

    def __init__(self, **settings: Any) -> None:
        self.settings = Settings(**settings)

    def get(self) -> ConfigSnapshot:
        return ConfigSnapshot(self.settings, "override")


@pytest.fixture
def executor() -> Iterator[ArmExecutor]:
    """A pool of two workers, shut down (waiting for its threads) after the test."""
    pool = ArmExecutor(max_workers=2, thread_name_prefix="faults")
    yield pool
    pool.shutdown(wait=True)


def serve(
    b: Callable[..., Any],
    executor: ArmExecutor,
    *,
    parallel: bool,
    a_ids: list[Any] | None = None,
    timeout_ms: float = 2000.0,
    config: Any = None,
    sink: Any = None,
) -> tuple[Callable[..., pd.DataFrame], CapturingSink, pd.DataFrame]:
    """A decorated recommender whose baseline returns one fixed frame, and B is ``b``."""
    base = frame(a_ids if a_ids is not None else [f"a{i}" for i in range(10)])
    captured = CapturingSink()
    cfg = config or StaticConfig(
        mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=parallel, timeout_ms=timeout_ms
    )

    @interleaved(
        rankers={"B": b}, config=cfg, executor=executor, sink=sink or captured, experiment="faults"
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return base

    return recommend, captured, base


def raising(user_id: str) -> pd.DataFrame:
    raise RuntimeError("ranker B is down")


#: name -> (what B returns, a phrase the logged error must contain)
BAD_OUTPUTS: dict[str, tuple[Any, str]] = {
    "none": (None, "returned NoneType"),
    "list": (["b1", "b2"], "returned list"),
    "empty_frame": (frame([]), "empty DataFrame"),
    "no_item_column": (pd.DataFrame({"id": ["b1"], "score": [1.0]}), "no column 'item_id'"),
    "duplicate_ids": (frame(["b1", "b2", "b1"]), "duplicate item ids"),
    "nan_ids": (frame([1.0, float("nan"), 3.0]), "1 null item ids"),
}


@PARALLEL
def test_b_raising_serves_the_baseline_with_arm_error(
    parallel: bool, executor: ArmExecutor
) -> None:
    """B raising: the baseline frame itself is served, logged as arm_error with the message."""
    recommend, sink, base = serve(raising, executor, parallel=parallel)
    assert recommend("u1") is base
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "arm_error")
    assert record["arms"]["B"]["status"] == "error"
    assert "ranker B is down" in record["error"]


@PARALLEL
@pytest.mark.parametrize("bad", sorted(BAD_OUTPUTS))
def test_b_returning_garbage_serves_the_baseline_with_invalid_output(
    parallel: bool, bad: str, executor: ArmExecutor
) -> None:
    """B returning something that is not a usable ranking: baseline served, invalid_output."""
    value, phrase = BAD_OUTPUTS[bad]
    recommend, sink, base = serve(lambda user_id: value, executor, parallel=parallel)
    assert recommend("u1") is base
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "invalid_output")
    assert record["arms"]["B"]["status"] == "invalid"
    assert record["error"].startswith("RankerOutputError: ranker 'B' ")
    assert phrase in record["error"]


@PARALLEL
def test_b_past_the_deadline_serves_the_baseline_with_timeout(
    parallel: bool, executor: ArmExecutor, gate: threading.Event
) -> None:
    """B finishing after timeout_ms: the baseline is served alone and the log says timeout."""

    def slow(user_id: str) -> pd.DataFrame:
        gate.wait(timeout=5 * SHORT_MS / 1e3)
        return frame(["b1", "b2"], "b")

    recommend, sink, base = serve(slow, executor, parallel=parallel, timeout_ms=SHORT_MS)
    assert recommend("u1") is base
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "timeout")
    assert record["arms"]["B"]["status"] == "timeout"


def expected_draw(
    record: dict[str, Any], a: list[Any], b: list[Any]
) -> tuple[list[Any], list[str]]:
    """The Team Draft the SDK must have drawn, recomputed from the logged seed and k."""
    seed = record["seed"]["value"]
    result = interleave("team_draft_v1", {"A": a, "B": b}, record["k"], random.Random(seed))
    return list(result.items), list(result.teams)


@PARALLEL
def test_disjoint_arms_are_interleaved_by_team_draft(parallel: bool, executor: ArmExecutor) -> None:
    """A and B disjoint: len(A) items, exactly the Team Draft of the logged seed, rows intact."""
    a_ids = [f"a{i}" for i in range(10)]
    b_ids = [f"b{i}" for i in range(12)]
    recommend, sink, _ = serve(
        lambda user_id: frame(b_ids, "b"), executor, parallel=parallel, a_ids=a_ids
    )
    result = recommend("u1")
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("interleaved", None)
    items, teams = expected_draw(record, a_ids, b_ids)
    assert result["item_id"].tolist() == items
    assert result["source_ranker"].tolist() == teams
    assert result["meta"].tolist() == [team.lower() for team in teams]
    assert sorted(teams) == ["A"] * 5 + ["B"] * 5


@PARALLEL
def test_identical_arms_keep_the_baseline_order(parallel: bool, executor: ArmExecutor) -> None:
    """A and B identical: the interleaving is the shared list in its own order, credited to both."""
    ids = [f"v{i}" for i in range(8)]
    recommend, sink, _ = serve(
        lambda user_id: frame(ids, "b"), executor, parallel=parallel, a_ids=ids
    )
    result = recommend("u1")
    record = sink.last
    assert record["served"] == "interleaved"
    assert result["item_id"].tolist() == ids
    assert result["source_ranker"].tolist() == expected_draw(record, ids, ids)[1]
    assert [item["ranks"] for item in record["items"]] == [{"A": i, "B": i} for i in range(1, 9)]


@PARALLEL
def test_a_saturated_pool_skips_interleaving_only_in_parallel_mode(
    parallel: bool, executor: ArmExecutor, gate: threading.Event
) -> None:
    """Stragglers on every worker: parallel requests get pool_saturated, sequential ones do not."""
    calls: list[str] = []

    def b(user_id: str) -> pd.DataFrame:
        calls.append(user_id)
        if user_id.startswith("straggler"):
            gate.wait(timeout=10)
        return frame(["b1", "b2", "b3"], "b")

    config = SwitchableConfig(
        mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=True, timeout_ms=20.0
    )
    recommend, sink, base = serve(b, executor, parallel=True, config=config)
    for i in range(executor.max_stragglers):
        assert recommend(f"straggler{i}") is base
        assert sink.last["fallback_reason"] == "timeout"
    assert executor.stragglers == executor.max_stragglers

    config.settings = config.settings.replace(parallel_enabled=parallel, timeout_ms=2000.0)
    result = recommend("next")
    record = sink.last
    if parallel:
        assert result is base
        assert (record["fallback_reason"], record["arms"]["B"]["status"]) == (
            "pool_saturated",
            "skipped",
        )
        assert "next" not in calls
    else:
        assert record["served"] == "interleaved"
        assert calls.count("next") == 1


def test_config_provider_raising_serves_the_baseline(executor: ArmExecutor) -> None:
    """A config provider that raises: baseline only (B never called), logged as config_error."""
    calls: list[str] = []

    class Broken:
        def get(self) -> ConfigSnapshot:
            raise ConfigUnavailable("parameter store throttled")

    recommend, sink, base = serve(
        lambda user_id: calls.append(user_id), executor, parallel=True, config=Broken()
    )
    assert recommend("u1") is base
    assert calls == []
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "config_error")
    assert "throttled" in record["error"]


@PARALLEL
def test_sink_raising_does_not_cost_the_caller_its_answer(
    parallel: bool, executor: ArmExecutor
) -> None:
    """A sink that raises: the interleaved frame is still returned, nothing propagates."""

    def broken_sink(record: dict[str, Any]) -> None:
        raise OSError("stdout closed")

    recommend, _, _ = serve(
        lambda user_id: frame(["b1", "b2"], "b"), executor, parallel=parallel, sink=broken_sink
    )
    result = recommend("u1")
    assert "source_ranker" in result.columns
    assert len(result) == 10


@PARALLEL
def test_baseline_raising_propagates_unchanged_and_is_logged(
    parallel: bool, executor: ArmExecutor
) -> None:
    """The baseline's own exception reaches the caller as the same object; the log says so."""
    boom = LookupError("feature store miss")
    captured = CapturingSink()
    config = StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=parallel)

    @interleaved(
        rankers={"B": lambda user_id: frame(["b1"])},
        config=config,
        executor=executor,
        sink=captured,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        raise boom

    with pytest.raises(LookupError) as info:
        recommend("u1")
    assert info.value is boom
    assert captured.last["fallback_reason"] == "baseline_error"
    assert captured.last["arms"]["A"]["status"] == "error"


def handler(executor: ArmExecutor, sink: CapturingSink, parallel: bool, b_name: str) -> Any:
    """An instance of a handler class whose decorated method names its B arm by method name."""
    config = StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=parallel)

    class Recommender:
        def __init__(self) -> None:
            self.b_calls = 0

        @interleaved(rankers={"B": b_name}, config=config, executor=executor, sink=sink)
        def recommend(self, user_id: str) -> pd.DataFrame:
            return frame([f"a{i}" for i in range(4)])

        def rank_b(self, user_id: str) -> pd.DataFrame:
            self.b_calls += 1
            return frame([f"b{i}" for i in range(4)], "b")

    return Recommender()


@PARALLEL
def test_a_ranker_given_as_a_method_name_is_called_on_the_instance(
    parallel: bool, executor: ArmExecutor
) -> None:
    """rankers={"B": "rank_b"} on a method: B is the instance's method, called once."""
    sink = CapturingSink()
    instance = handler(executor, sink, parallel, "rank_b")
    result = instance.recommend("u1")
    assert instance.b_calls == 1
    assert sink.last["served"] == "interleaved"
    assert set(result["source_ranker"]) == {"A", "B"}


@PARALLEL
def test_a_missing_method_name_is_an_arm_error(parallel: bool, executor: ArmExecutor) -> None:
    """A method name the instance lacks: the baseline is served and the log says arm_error."""
    sink = CapturingSink()
    result = handler(executor, sink, parallel, "rank_c").recommend("u1")
    assert "source_ranker" not in result.columns
    assert (sink.last["fallback_reason"], sink.last["arms"]["B"]["status"]) == (
        "arm_error",
        "error",
    )

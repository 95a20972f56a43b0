"""The arms contract: which callable serves each arm in each mode, and options refused at decoration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink

from .conftest import CountingRanker, frame


def build(
    mode: str,
    pool: ArmExecutor,
    sink: CapturingSink,
    *,
    baseline: str = "A",
    rankers: dict[str, Any] | None = None,
    parallel: bool = True,
) -> tuple[Any, CountingRanker]:
    handler = CountingRanker(frame(["h1", "h2", "h3"], "handler"))
    config = StaticConfig(mode=mode, sampling_rate=1.0, parallel_enabled=parallel)

    @interleaved(rankers=rankers or {}, config=config, sink=sink, executor=pool, baseline=baseline)
    def recommend(user_id: str) -> Any:
        return handler(user_id)

    return recommend, handler


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_a_distinct_baseline_ranker_serves_the_baseline_arm_when_interleaving(
    pool: ArmExecutor, sink: CapturingSink, parallel: bool
) -> None:
    """rankers={"A": new_model, ...}: interleaved requests use new_model, not the handler's body."""
    new_a = CountingRanker(frame(["n1", "n2", "n3"], "newA"))
    b = CountingRanker(frame(["b1", "b2", "b3"], "B"))
    recommend, handler = build("INTERLEAVE", pool, sink, rankers={"A": new_a, "B": b}, parallel=parallel)
    result = recommend("u1")
    assert (handler.calls, new_a.calls, b.calls) == (0, 1, 1)
    assert set(result.loc[result.source_ranker == "A", "meta"]) == {"newA"}
    assert sink.last["served"] == "interleaved"


def test_the_kill_switch_serves_the_handler_not_the_baseline_ranker(
    pool: ArmExecutor, sink: CapturingSink
) -> None:
    """mode == baseline: the decorated function serves (the undecorated answer), rankers untouched."""
    new_a = CountingRanker(frame(["n1"], "newA"))
    recommend, handler = build("A", pool, sink, rankers={"A": new_a, "B": CountingRanker(frame(["b"]))})
    assert recommend("u1")["meta"].tolist() == ["handler"] * 3
    assert (handler.calls, new_a.calls) == (1, 0)


def test_a_failing_distinct_baseline_ranker_calls_the_handler_once(
    pool: ArmExecutor, sink: CapturingSink
) -> None:
    """The baseline arm failing in an interleaved request: the handler serves, called once."""
    broken_a = CountingRanker(RuntimeError("new A is down"))
    recommend, handler = build(
        "INTERLEAVE", pool, sink, rankers={"A": broken_a, "B": CountingRanker(frame(["b"]))}
    )
    assert recommend("u1")["meta"].tolist() == ["handler"] * 3
    assert (handler.calls, broken_a.calls) == (1, 1)
    assert sink.last["fallback_reason"] == "arm_error" and "new A is down" in sink.last["error"]
    assert sink.last["served"] == "A"


def test_baseline_b_serves_the_handler_in_mode_b_and_rankers_a_in_mode_a(
    pool: ArmExecutor, sink: CapturingSink
) -> None:
    """baseline="B": mode B is the kill switch (handler), mode A runs rankers["A"] alone."""
    a = CountingRanker(frame(["a1", "a2"], "A"))
    recommend, _ = build("B", pool, sink, baseline="B", rankers={"A": a})
    assert recommend("u")["meta"].iloc[0] == "handler" and sink.last["served"] == "B"
    recommend_a, handler_a = build("A", pool, sink, baseline="B", rankers={"A": a})
    assert recommend_a("u")["meta"].tolist() == ["A", "A"]
    assert (handler_a.calls, a.calls) == (0, 1) and sink.last["served"] == "A"


def test_baseline_b_interleaves_with_the_handler_as_b(pool: ArmExecutor, sink: CapturingSink) -> None:
    """baseline="B" interleaved: the handler is arm B, rankers["A"] is arm A, arms logged by name."""
    a = CountingRanker(frame(["a1", "a2"], "A"))
    recommend, handler = build("INTERLEAVE", pool, sink, baseline="B", rankers={"A": a})
    result = recommend("u")
    assert (handler.calls, a.calls) == (1, 1)
    assert set(result["source_ranker"]) == {"A", "B"}
    assert set(result.loc[result.source_ranker == "B", "meta"]) == {"handler"}
    assert sorted(sink.last["arms"]) == ["A", "B"]


@pytest.mark.parametrize(
    ("rankers", "options", "message"),
    [
        ({}, {}, "at least one arm besides the baseline 'A'"),
        ({"A": lambda user_id: None}, {}, "at least one arm besides the baseline 'A'"),
        ({"INTERLEAVE": lambda user_id: None}, {}, "arm name 'INTERLEAVE' is not valid"),
        ({"b c": lambda user_id: None}, {}, "arm name 'b c' is not valid"),
        ({1: lambda user_id: None}, {}, "arm name 1 is not valid"),
        ({"B": 42}, {}, "ranker 'B' must be a callable or a method name"),
        ({"B": "not a name"}, {}, "ranker 'B' must be a callable or a method name"),
        ([("B", print)], {}, "rankers must be a mapping"),
        ({"B": print}, {"baseline": "INTERLEAVE"}, "baseline must be an arm name"),
        ({"B": print}, {"k": True}, "k must be a positive int"),
        ({"B": print}, {"k": 0}, "k must be a positive int"),
        ({"B": print}, {"experiment": 7}, "experiment must be a non-empty str"),
        ({"B": print}, {"id_factory": lambda: 12345}, "id_factory must return a non-empty str"),
        ({"B": print}, {"metrics": "yes"}, "metrics must be True, False or an EmfMetrics"),
        ({"B": print}, {"processors": print}, "processors must be a list of callables"),
        ({"B": print}, {"processors": [42]}, "each processor must be a callable"),
        ({"B": print}, {"sink": "stdout"}, "sink must be a callable"),
        ({"B": print}, {"config": {"mode": "A"}}, "config must be a provider with a get() method"),
        ({"B": print}, {"executor": 4}, "executor must be an ArmExecutor"),
        ({"B": print}, {"item_col": 3}, "item_col must be the name"),
        ({"B": print}, {"enabled": "no"}, "enabled must be True or False"),
    ],
)
def test_wrong_options_fail_at_decoration_naming_the_fix(
    rankers: Any, options: dict[str, Any], message: str
) -> None:
    """Every option is checked once, when decorating, with a message that says what to do."""
    with pytest.raises((TypeError, ValueError)) as info:
        interleaved(rankers=rankers, **{"config": StaticConfig(), **options})
    assert message in str(info.value)


def test_a_method_name_ranker_on_a_staticmethod_is_refused() -> None:
    """A method name needs an instance; a staticmethod (or plain function) has none."""
    with pytest.raises(TypeError, match="not a method"):

        class Service:
            @staticmethod
            @interleaved(rankers={"B": "rank_b"}, config=StaticConfig())
            def recommend(user_id: str) -> pd.DataFrame:
                return frame(["a"])


def test_generator_handlers_are_refused() -> None:
    """A generator as the decorated function is refused: streaming belongs in rankers."""
    with pytest.raises(TypeError, match="generator function"):

        @interleaved(rankers={"B": print}, config=StaticConfig())
        def recommend(user_id: str) -> Iterator[str]:
            yield "a"


def test_candidates_need_a_parameter_on_the_handler() -> None:
    """candidates= with a handler that cannot take candidates= is refused at decoration."""
    with pytest.raises(TypeError, match="candidates=None"):

        @interleaved(
            rankers={"B": lambda user_id, candidates=None: None}, candidates=print, config=StaticConfig()
        )
        def recommend(user_id: str) -> pd.DataFrame:
            return frame(["a"])


def test_mode_naming_an_arm_this_decorator_lacks_serves_the_handler(
    pool: ArmExecutor, sink: CapturingSink
) -> None:
    """mode="C" with arms A and B: the handler serves, logged as unknown_arm."""
    b = CountingRanker(frame(["b"]))
    recommend, handler = build("C", pool, sink, rankers={"B": b})
    assert recommend("u")["meta"].iloc[0] == "handler"
    assert (handler.calls, b.calls) == (1, 0)
    assert (sink.last["mode"], sink.last["fallback_reason"]) == ("C", "unknown_arm")

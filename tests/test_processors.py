"""Processors: ``record -> record`` callables between the engine and the sink."""

from __future__ import annotations

from typing import Any

import pandas as pd

from interleave_sdk import StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink

from .conftest import frame


def build(sink: CapturingSink, *processors: Any, mode: str = "INTERLEAVE") -> Any:
    @interleaved(
        rankers={"B": lambda user_id: frame(["b"])},
        config=StaticConfig(mode=mode),
        sink=sink,
        processors=list(processors),
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a", "c"])

    return recommend


def test_processors_run_in_order_on_the_finished_record(sink: CapturingSink) -> None:
    """Each processor gets what the previous returned; the sink gets the last."""

    def tag(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "team": "reco"}

    def upper(record: dict[str, Any]) -> dict[str, Any]:
        record["team"] = record["team"].upper()
        return record

    build(sink, tag, upper)("u1")
    assert sink.last["team"] == "RECO" and sink.last["served"] == "interleaved"


def test_a_processor_returning_none_drops_the_line(sink: CapturingSink) -> None:
    """Returning None is an explicit choice: no line for this request, the caller still served."""
    recommend = build(sink, lambda record: None if record["served"] == "A" else record, mode="A")
    assert recommend("u1")["item_id"].tolist() == ["a", "c"]
    assert sink.records == []


def test_a_failing_processor_is_skipped_and_noted(sink: CapturingSink) -> None:
    """A processor that raises (or returns a non-dict) is skipped; the line notes it and goes out."""

    def broken(record: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("no such field")

    def tag(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "team": "reco"}

    build(sink, broken, lambda record: "oops", tag)("u1")
    record = sink.last
    assert record["team"] == "reco" and len(record["processor_errors"]) == 2
    assert "KeyError" in record["processor_errors"][0]
    assert "returned str" in record["processor_errors"][1]


def test_a_processor_changing_an_items_ranks_does_not_reach_the_next_line(sink: CapturingSink) -> None:
    """One-arm items are built from a cached skeleton; what a processor writes into one stays in it."""

    def scribble(record: dict[str, Any]) -> dict[str, Any]:
        for item in record["items"]:
            item["ranks"]["A"] = -1
        return record

    recommend = build(sink, scribble, mode="A")
    recommend("u1")
    build(sink, mode="A")("u2")
    assert [item["ranks"] for item in sink.last["items"]] == [{"A": 1}, {"A": 2}]


def test_a_user_sink_changing_an_items_ranks_does_not_reach_the_next_line() -> None:
    """Records handed to a user's sink are its own: what it writes into one stays in it."""
    seen: list[dict[str, Any]] = []

    def scribbling_sink(record: dict[str, Any]) -> None:
        if not seen:
            for item in record["items"]:
                item["ranks"]["A"] = -1
        seen.append(record)

    config = StaticConfig(mode="A")

    @interleaved(rankers={"B": lambda user_id: frame(["b"])}, config=config, sink=scribbling_sink)
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a", "c"])

    recommend("u1")
    recommend("u2")
    assert [item["ranks"] for item in seen[1]["items"]] == [{"A": 1}, {"A": 2}]

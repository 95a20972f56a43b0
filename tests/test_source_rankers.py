"""``source_rankers(frame)``: the arm of every served row, whatever was served, never written on."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from interleave_sdk import StaticConfig, interleaved, pinned, source_rankers
from interleave_sdk.testing import CapturingSink


def rank_a(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ["a1", "a2", "a3"], "score": [3.0, 2.0, 1.0]})


def rank_b(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ["b1", "b2", "b3"], "score": [3.0, 2.0, 1.0]})


def make(mode: str, b=rank_b):  # type: ignore[no-untyped-def]
    sink = CapturingSink()

    @interleaved(rankers={"B": b}, config=StaticConfig(mode=mode), sink=sink, metrics=False)
    def recommend(user_id: str) -> pd.DataFrame:
        return rank_a(user_id)

    return recommend, sink


def test_interleaved_rows_carry_their_credited_arm() -> None:
    """An interleaved frame: each row's arm is the logged ``source_ranker`` of that item."""
    recommend, sink = make("INTERLEAVE")
    frame = recommend("u1")
    sources = source_rankers(frame)
    logged = {item["item_id"]: item["source_ranker"] for item in sink.records[0]["items"]}
    assert sink.records[0]["served"] == "interleaved"
    assert list(sources) == [logged[i] for i in frame["item_id"]]
    assert set(sources) == {"A", "B"} and list(sources.index) == list(frame.index)


@pytest.mark.parametrize("mode", ["A", "B"])
def test_one_arm_serving_gives_that_arm_on_every_row(mode: str) -> None:
    """Mode A (the decorated function) and mode B (arm B alone): every row names the served arm."""
    recommend, sink = make(mode)
    frame = recommend("u1")
    assert "source_ranker" not in frame.columns
    assert list(source_rankers(frame)) == [mode] * 3 == [sink.records[0]["served"]] * 3


def test_fail_open_names_the_baseline() -> None:
    """B raises while interleaving: the handler's list is served and every row names A."""

    def broken(user_id: str) -> pd.DataFrame:
        raise RuntimeError("model down")

    recommend, sink = make("INTERLEAVE", b=broken)
    frame = recommend("u1")
    assert sink.records[0]["fallback_reason"] == "arm_error"
    assert list(source_rankers(frame)) == ["A"] * 3


def test_pinned_call_names_the_pinned_arm() -> None:
    """A call pinned to B names B on every row."""
    recommend, _ = make("INTERLEAVE")
    with pinned("B"):
        frame = recommend("u1")
    assert list(source_rankers(frame)) == ["B"] * 3


def test_the_frame_is_never_written_on() -> None:
    """The caller's frame keeps its columns and values; the result is a separate Series."""
    recommend, _ = make("B")
    frame = recommend("u1")
    before = frame.copy()
    sources = source_rankers(frame)
    sources[:] = "X"
    pd.testing.assert_frame_equal(frame, before)
    interleaved_frame = make("INTERLEAVE")[0]("u1")
    kept = interleaved_frame.copy()
    merged_sources = source_rankers(interleaved_frame)
    merged_sources[:] = "X"
    pd.testing.assert_frame_equal(interleaved_frame, kept)


def test_a_filtered_frame_keeps_its_rows_sources() -> None:
    """Filtering the frame first (head, a mask) gives the sources of the rows kept."""
    recommend, _ = make("INTERLEAVE")
    frame = recommend("u1")
    head = frame.head(2)
    assert list(source_rankers(head)) == list(frame["source_ranker"].head(2))


def test_an_interleaved_frame_of_an_earlier_call_is_refused() -> None:
    """After another call, an older interleaved frame is refused rather than mislabelled."""
    recommend, _ = make("INTERLEAVE")
    first = recommend("u1")
    recommend("u2")
    with pytest.raises(ValueError, match="not the interleaved list of the last call"):
        source_rankers(first)


def test_no_call_in_this_context_is_a_lookup_error() -> None:
    """In a fresh context (no decorated call yet) it says to call it right after the call."""
    with pytest.raises(LookupError, match="right after the call"):
        asyncio.run(_in_task())


async def _in_task() -> pd.Series:
    import contextvars

    return contextvars.Context().run(source_rankers, pd.DataFrame({"item_id": [1]}))


def test_not_a_frame_is_a_type_error() -> None:
    """A list or None is refused with the expected type named."""
    with pytest.raises(TypeError, match="DataFrame"):
        source_rankers([1, 2])

"""Pinning: a call made inside ``pinned(arm)`` is served by that arm alone; the kill switch wins."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved, pinned
from interleave_sdk.testing import CapturingSink

from .conftest import CountingRanker, frame


def build(mode: str, pool: ArmExecutor, sink: CapturingSink) -> tuple[Any, CountingRanker, CountingRanker]:
    handler = CountingRanker(frame(["a1", "a2"], "A"))
    b = CountingRanker(frame(["b1", "b2"], "B"))

    @interleaved(
        rankers={"B": b}, config=StaticConfig(mode=mode, sampling_rate=1.0), sink=sink, executor=pool
    )
    def recommend(user_id: str) -> Any:
        return handler(user_id)

    return recommend, handler, b


def test_a_pin_to_b_serves_b_alone_even_when_interleaving_everybody(
    pool: ArmExecutor, sink: CapturingSink
) -> None:
    """mode=INTERLEAVE at rate 1: pinned("B") serves B alone, logged pinned and not in sample."""
    recommend, handler, b = build("INTERLEAVE", pool, sink)
    with pinned("B"):
        result = recommend("u1")
    assert result["meta"].tolist() == ["B", "B"] and (handler.calls, b.calls) == (0, 1)
    record = sink.last
    assert (record["served"], record["pinned"], record["fallback_reason"]) == ("B", "B", None)
    assert record["in_sample"] is None and record["method"] is None


def test_a_pin_to_the_baseline_serves_the_handler(pool: ArmExecutor, sink: CapturingSink) -> None:
    """pinned("A") is the decorated function alone."""
    recommend, handler, b = build("INTERLEAVE", pool, sink)
    with pinned("A"):
        recommend("u1")
    assert (handler.calls, b.calls) == (1, 0)
    assert (sink.last["served"], sink.last["pinned"]) == ("A", "A")


def test_the_kill_switch_overrides_every_pin(pool: ArmExecutor, sink: CapturingSink) -> None:
    """mode == baseline: a pin to B is ignored, the handler serves."""
    recommend, handler, b = build("A", pool, sink)
    with pinned("B"):
        recommend("u1")
    assert (handler.calls, b.calls) == (1, 0)
    assert sink.last["served"] == "A" and sink.last["fallback_reason"] is None
    assert sink.last["pinned"] == "B"  # the line shows the pin the kill switch overrode


@pytest.mark.parametrize("pin", ["C", 7, "", "INTERLEAVE"])
def test_an_unknown_pin_fails_open_with_invalid_pin(pool: ArmExecutor, sink: CapturingSink, pin: Any) -> None:
    """A pin naming no arm (from request data, say): the handler serves, reason invalid_pin."""
    recommend, handler, b = build("INTERLEAVE", pool, sink)
    with pinned(pin):
        result = recommend("u1")
    assert result["meta"].tolist() == ["A", "A"] and (handler.calls, b.calls) == (1, 0)
    assert sink.last["fallback_reason"] == "invalid_pin"


def test_the_pin_ends_with_the_block_and_stays_in_its_thread(pool: ArmExecutor, sink: CapturingSink) -> None:
    """Outside the block, and in another thread meanwhile, requests are decided as usual."""
    recommend, _, _ = build("INTERLEAVE", pool, sink)
    seen: list[str] = []
    with pinned("B"):
        worker = threading.Thread(target=lambda: seen.append(recommend("u2") is not None))
        worker.start()
        worker.join()
    recommend("u3")
    served = {r["user_id"]: (r["served"], r["pinned"]) for r in sink.records}
    assert served == {"u2": ("interleaved", None), "u3": ("interleaved", None)}

"""The request deadline (``timeout_ms``, measured from the start of the request) is honoured: in
parallel mode the caller stops waiting for a hung arm; in sequential mode the second arm is skipped
when the budget is spent, and a result that arrives late is not used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig
from interleave_sdk.decorator import interleaved
from interleave_sdk.testing import CapturingSink

from .conftest import ManualClock

DEADLINE_MS = 150.0
SLACK_S = 0.15  # scheduling noise on a busy 2-core machine; far below the hang it guards against


@pytest.fixture
def executor() -> Iterator[ArmExecutor]:
    pool = ArmExecutor(max_workers=2, thread_name_prefix="deadline")
    yield pool
    pool.shutdown(wait=True)


def frame(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids, "score": range(len(ids), 0, -1)})


def decorate(
    a: Callable[[str], pd.DataFrame],
    b: Callable[[str], pd.DataFrame],
    executor: ArmExecutor,
    *,
    parallel: bool,
    clock: Any = None,
) -> tuple[Callable[[str], pd.DataFrame], CapturingSink]:
    sink = CapturingSink()
    config = StaticConfig(
        mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=parallel, timeout_ms=DEADLINE_MS
    )
    wrapped = interleaved(
        rankers={"B": b}, config=config, executor=executor, sink=sink, clock=clock
    )(a)
    return wrapped, sink


def wait_idle(executor: ArmExecutor) -> None:
    """Wait (bounded) until every submitted arm has finished."""
    limit = time.monotonic() + 5
    while executor.in_flight and time.monotonic() < limit:
        time.sleep(0.005)
    assert executor.in_flight == 0


def test_a_hung_arm_does_not_hold_the_request_past_the_deadline(
    executor: ArmExecutor, gate: threading.Event
) -> None:
    """Parallel, B hangs: the baseline comes back within the deadline plus a small slack."""

    def hung(user_id: str) -> pd.DataFrame:
        gate.wait()
        return frame(["b1"])

    base = frame(["a1", "a2"])
    recommend, sink = decorate(lambda user_id: base, hung, executor, parallel=True)
    start = time.perf_counter()
    result = recommend("u1")
    elapsed = time.perf_counter() - start
    assert result is base
    assert sink.last["fallback_reason"] == "timeout"
    assert DEADLINE_MS / 1e3 <= elapsed < DEADLINE_MS / 1e3 + SLACK_S
    gate.set()
    wait_idle(executor)


def test_the_deadline_counts_from_the_start_of_the_request(
    executor: ArmExecutor, gate: threading.Event
) -> None:
    """Time the baseline spends is part of the budget: the wait for B is what is left of it."""

    def slow_base(user_id: str) -> pd.DataFrame:
        time.sleep(DEADLINE_MS / 2e3)
        return frame(["a1"])

    def hung(user_id: str) -> pd.DataFrame:
        gate.wait()
        return frame(["b1"])

    recommend, sink = decorate(slow_base, hung, executor, parallel=True)
    start = time.perf_counter()
    recommend("u1")
    elapsed = time.perf_counter() - start
    assert sink.last["fallback_reason"] == "timeout"
    assert elapsed < DEADLINE_MS / 1e3 + SLACK_S


def test_a_late_arm_that_fails_is_logged_after_its_request_returned(
    executor: ArmExecutor, gate: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception raised by an arm after its request timed out is still reported."""

    def late_failure(user_id: str) -> pd.DataFrame:
        gate.wait()
        raise RuntimeError("failed after the deadline")

    recommend, sink = decorate(lambda user_id: frame(["a1"]), late_failure, executor, parallel=True)
    with caplog.at_level(logging.WARNING, logger="interleave_sdk"):
        recommend("u1")
        assert sink.last["fallback_reason"] == "timeout"
        gate.set()
        wait_idle(executor)
        executor.shutdown(wait=True)  # done callbacks have run once the pool is down
    assert any("failed after the deadline" in r.getMessage() for r in caplog.records)


def test_sequential_mode_skips_the_second_arm_when_the_budget_is_spent(
    executor: ArmExecutor,
) -> None:
    """Sequential, the baseline uses the whole budget: B is never called; budget_exhausted."""
    clock = ManualClock()
    b_calls: list[str] = []

    def slow_base(user_id: str) -> pd.DataFrame:
        clock.advance(DEADLINE_MS / 1e3)
        return frame(["a1"])

    def b(user_id: str) -> pd.DataFrame:
        b_calls.append(user_id)
        return frame(["b1"])

    recommend, sink = decorate(slow_base, b, executor, parallel=False, clock=clock)
    recommend("u1")
    assert b_calls == []
    assert (sink.last["fallback_reason"], sink.last["arms"]["B"]["status"]) == (
        "budget_exhausted",
        "skipped",
    )


def test_sequential_mode_does_not_use_a_result_that_arrives_late(executor: ArmExecutor) -> None:
    """Sequential, B returns after the deadline: baseline served, timeout with B's latency."""
    clock = ManualClock()

    def late_b(user_id: str) -> pd.DataFrame:
        clock.advance(2 * DEADLINE_MS / 1e3)
        return frame(["b1"])

    base = frame(["a1", "a2"])
    recommend, sink = decorate(lambda user_id: base, late_b, executor, parallel=False, clock=clock)
    assert recommend("u1") is base
    arm_b = sink.last["arms"]["B"]
    assert (sink.last["fallback_reason"], arm_b["status"]) == ("timeout", "timeout")
    assert arm_b["latency_ms"] == pytest.approx(2 * DEADLINE_MS)


def test_sequential_mode_within_budget_interleaves(executor: ArmExecutor) -> None:
    """Sequential, both arms inside the budget: interleaved, and no worker thread is started."""
    clock = ManualClock()
    recommend, sink = decorate(
        lambda user_id: frame(["a1", "a2"]),
        lambda user_id: frame(["b1", "b2"]),
        executor,
        parallel=False,
        clock=clock,
    )
    recommend("u1")
    assert sink.last["served"] == "interleaved"
    assert not any(t.name.startswith("deadline") for t in threading.enumerate())


def test_parallel_mode_does_not_use_a_result_ready_after_the_deadline(
    executor: ArmExecutor,
) -> None:
    """Parallel, B done past the deadline before the caller looks: still a timeout, not merged."""
    clock = ManualClock()
    b_done = threading.Event()

    def late_b(user_id: str) -> pd.DataFrame:
        clock.advance(2 * DEADLINE_MS / 1e3)
        b_done.set()
        return frame(["b1"])

    def base(user_id: str) -> pd.DataFrame:
        assert b_done.wait(5)  # the caller only looks once B has already finished
        return frame(["a1", "a2"])

    recommend, sink = decorate(base, late_b, executor, parallel=True, clock=clock)
    result = recommend("u1")
    assert "source_ranker" not in result.columns
    assert (sink.last["fallback_reason"], sink.last["arms"]["B"]["status"]) == (
        "timeout",
        "timeout",
    )

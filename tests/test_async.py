"""``async def`` handlers: the same procedure, arms awaited concurrently under the same deadline."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import StaticConfig, interleaved, last_ranking_id, pinned
from interleave_sdk.testing import CapturingSink

from .conftest import frame

PARALLEL = pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])


def config(mode: str = "INTERLEAVE", *, parallel: bool = True, timeout_ms: float = 2000.0) -> StaticConfig:
    return StaticConfig(mode=mode, sampling_rate=1.0, parallel_enabled=parallel, timeout_ms=timeout_ms)


def test_the_decorated_coroutine_function_stays_one() -> None:
    """Frameworks that check iscoroutinefunction see the decorated handler as async."""

    @interleaved(rankers={"B": lambda user_id: frame(["b"])}, config=config(), sink=CapturingSink())
    async def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    assert inspect.iscoroutinefunction(recommend)


def test_arms_are_awaited_concurrently(sink: CapturingSink) -> None:
    """The handler waits for an event only B sets: it completes only if both run at once."""

    async def main() -> pd.DataFrame:
        b_started = asyncio.Event()

        async def rank_b(user_id: str) -> pd.DataFrame:
            b_started.set()
            return frame(["b1", "b2"], "B")

        @interleaved(rankers={"B": rank_b}, config=config(), sink=sink)
        async def recommend(user_id: str) -> pd.DataFrame:
            await asyncio.wait_for(b_started.wait(), 2)
            return frame(["a1", "a2"], "A")

        return await recommend("u1")

    result = asyncio.run(main())
    assert sink.last["served"] == "interleaved" and set(result["source_ranker"]) == {"A", "B"}
    assert result.attrs["ranking_id"] == sink.last["ranking_id"]


@PARALLEL
def test_a_sync_ranker_runs_in_a_worker_thread(sink: CapturingSink, parallel: bool) -> None:
    """A plain-function ranker next to an async handler runs off the event loop's thread."""
    threads: list[str] = []

    def rank_b(user_id: str) -> pd.DataFrame:
        threads.append(threading.current_thread().name)
        return frame(["b1"], "B")

    @interleaved(rankers={"B": rank_b}, config=config(parallel=parallel), sink=sink)
    async def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a1"], "A")

    asyncio.run(recommend("u1"))
    assert sink.last["served"] == "interleaved"
    assert threads and threads[0] != threading.main_thread().name


def test_a_late_async_arm_is_cancelled_and_the_handler_served(sink: CapturingSink) -> None:
    """B past the deadline: cancelled (unlike a thread), the handler's very object served, timeout."""
    cancelled: list[bool] = []
    served = frame(["a1", "a2"], "A")

    async def rank_b(user_id: str) -> pd.DataFrame:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return frame(["b"])

    @interleaved(rankers={"B": rank_b}, config=config(timeout_ms=30), sink=sink)
    async def recommend(user_id: str) -> pd.DataFrame:
        return served

    assert asyncio.run(recommend("u1")) is served
    assert cancelled == [True]
    assert (sink.last["fallback_reason"], sink.last["arms"]["B"]["status"]) == ("timeout", "timeout")


@PARALLEL
def test_the_handlers_exception_propagates_unchanged(sink: CapturingSink, parallel: bool) -> None:
    """The async handler's own exception reaches the awaiting caller as the same object."""
    boom = LookupError("no such user")
    calls: list[str] = []

    @interleaved(rankers={"B": lambda user_id: frame(["b"])}, config=config(parallel=parallel), sink=sink)
    async def recommend(user_id: str) -> pd.DataFrame:
        calls.append(user_id)
        raise boom

    with pytest.raises(LookupError) as info:
        asyncio.run(recommend("u1"))
    assert info.value is boom and calls == ["u1"]
    assert len(sink.records) == 1 and sink.last["fallback_reason"] == "baseline_error"


@PARALLEL
def test_a_base_exception_from_b_is_contained(sink: CapturingSink, parallel: bool) -> None:
    """SystemExit from an async B is B's error: the handler serves once, arm_error."""
    served = frame(["a1"], "A")
    calls: list[str] = []

    async def rank_b(user_id: str) -> pd.DataFrame:
        raise SystemExit(3)

    @interleaved(rankers={"B": rank_b}, config=config(parallel=parallel), sink=sink)
    async def recommend(user_id: str) -> pd.DataFrame:
        calls.append(user_id)
        return served

    assert asyncio.run(recommend("u1")) is served and calls == ["u1"]
    assert sink.last["fallback_reason"] == "arm_error"


@pytest.mark.parametrize("how", ["mode B", "pinned B"])
def test_a_single_arm_serves_alone(sink: CapturingSink, how: str) -> None:
    """mode B or a pin to B: B's object alone, the handler never awaited."""
    b_frame = frame(["b1"], "B")
    calls: list[str] = []

    async def rank_b(user_id: str) -> pd.DataFrame:
        return b_frame

    @interleaved(rankers={"B": rank_b}, config=config("B" if how == "mode B" else "INTERLEAVE"), sink=sink)
    async def recommend(user_id: str) -> pd.DataFrame:
        calls.append(user_id)
        return frame(["a"])

    async def main() -> Any:
        if how == "pinned B":
            with pinned("B"):
                return await recommend("u1"), last_ranking_id()
        return await recommend("u1"), last_ranking_id()

    result, ranking_id = asyncio.run(main())
    assert result is b_frame and calls == []
    assert sink.last["served"] == "B" and ranking_id == sink.last["ranking_id"]


def test_an_async_candidate_stage_runs_once(sink: CapturingSink) -> None:
    """candidates= may be a coroutine function too; each arm gets its result."""
    stage_calls: list[str] = []
    seen: list[Any] = []

    async def stage(user_id: str) -> list[str]:
        stage_calls.append(user_id)
        return ["c1", "c2"]

    async def rank_b(user_id: str, candidates: Any = None) -> pd.DataFrame:
        seen.append(candidates)
        return frame(list(reversed(candidates)), "B")

    @interleaved(rankers={"B": rank_b}, candidates=stage, config=config(), sink=sink)
    async def recommend(user_id: str, candidates: Any = None) -> pd.DataFrame:
        seen.append(candidates)
        return frame(candidates, "A")

    asyncio.run(recommend("u1"))
    assert stage_calls == ["u1"] and seen == [["c1", "c2"], ["c1", "c2"]]
    assert sink.last["served"] == "interleaved"

"""Plain-function rankers inside async handlers run on the SDK's own bounded executor."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink

from .conftest import frame


def decorated(
    rank_b: Callable[[str], pd.DataFrame], pool: ArmExecutor, sink: CapturingSink, timeout_ms: float
) -> Any:
    """An async handler serving [a1, a2] next to a plain-function ranker B."""

    @interleaved(
        rankers={"B": rank_b},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, timeout_ms=timeout_ms),
        sink=sink,
        executor=pool,
    )
    async def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a1", "a2"])

    return recommend


def test_asyncio_run_returns_by_the_deadline_with_a_slow_sync_ranker(sink: CapturingSink) -> None:
    """asyncio.run(recommend(u)) with a 3 s sync ranker and timeout_ms=100 returns within 1.5 s."""
    release = threading.Event()
    pool = ArmExecutor(max_workers=1)

    def slow_b(user_id: str) -> pd.DataFrame:
        release.wait(3.0)
        return frame(["b"])

    recommend = decorated(slow_b, pool, sink, timeout_ms=100.0)

    try:
        start = time.perf_counter()
        served = asyncio.run(recommend("u1"))
        elapsed = time.perf_counter() - start
    finally:
        release.set()
        pool.shutdown()
    assert elapsed < 1.5
    assert served["item_id"].tolist() == ["a1", "a2"]
    assert sink.last["fallback_reason"] == "timeout"


def test_hung_sync_rankers_leave_the_loops_default_executor_free(sink: CapturingSink) -> None:
    """16 calls with a hung sync ranker: the loop's own run_in_executor(None, ...) still runs at once,
    and once the straggler bound is reached later calls are refused the pool (pool_saturated)."""
    release = threading.Event()
    pool = ArmExecutor(max_workers=2, max_stragglers=2)

    def hung_b(user_id: str) -> pd.DataFrame:
        release.wait(30)
        return frame(["b"])

    recommend = decorated(hung_b, pool, sink, timeout_ms=20.0)

    async def main() -> float:
        for i in range(16):
            await recommend(f"u{i}")
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        await asyncio.wait_for(loop.run_in_executor(None, time.sleep, 0), 2.0)
        return time.perf_counter() - start

    try:
        waited = asyncio.run(main())
    finally:
        release.set()
        pool.shutdown()
    assert waited < 1.0
    reasons = [r["fallback_reason"] for r in sink.records]
    assert set(reasons) <= {"timeout", "pool_saturated"} and "pool_saturated" in reasons


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_a_cancelled_async_call_is_logged_as_cancelled(sink: CapturingSink, parallel: bool) -> None:
    """Cancelling the caller's task mid-call writes one line with fallback_reason cancelled."""

    async def slow_b(user_id: str) -> pd.DataFrame:
        await asyncio.sleep(10)
        return frame(["b"])

    @interleaved(
        rankers={"B": slow_b},
        config=StaticConfig(
            mode="INTERLEAVE", sampling_rate=1.0, timeout_ms=5000.0, parallel_enabled=parallel
        ),
        sink=sink,
    )
    async def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a1", "a2"])

    async def main() -> None:
        task = asyncio.ensure_future(recommend("u1"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert len(sink.records) == 1
    assert sink.last["fallback_reason"] == "cancelled" and sink.last["served"] == "A"

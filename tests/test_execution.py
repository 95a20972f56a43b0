"""How arms run: one lazily started pool reused by every request, contextvars carried into it,
and every outcome of a worker — even ``SystemExit`` — turned into a value.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig
from interleave_sdk.clock import SYSTEM_CLOCK
from interleave_sdk.decorator import interleaved
from interleave_sdk.testing import CapturingSink

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


@pytest.fixture
def executor() -> Iterator[ArmExecutor]:
    pool = ArmExecutor(max_workers=3, thread_name_prefix="exec-test")
    yield pool
    pool.shutdown(wait=True)


def pool_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("exec-test")}


def frame(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids})


def test_no_thread_starts_before_the_first_interleaved_request(executor: ArmExecutor) -> None:
    """Decorating and serving non-interleaved requests start no worker thread."""
    recommend = interleaved(
        rankers={"B": lambda user_id: frame(["b"])},
        config=StaticConfig(mode="A"),
        executor=executor,
        sink=CapturingSink(),
    )(lambda user_id: frame(["a"]))
    recommend("u1")
    assert pool_threads() == set()


def test_requests_reuse_the_same_bounded_pool(executor: ArmExecutor) -> None:
    """Fifty interleaved requests run B on at most max_workers threads, and nothing stays busy."""
    seen: set[int] = set()

    def b(user_id: str) -> pd.DataFrame:
        seen.add(threading.get_ident())
        return frame(["b1", "b2"])

    recommend = interleaved(
        rankers={"B": b},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0),
        executor=executor,
        sink=CapturingSink(),
    )(lambda user_id: frame(["a1", "a2"]))
    for i in range(50):
        recommend(f"u{i}")
        assert executor.in_flight == 0
    assert threading.get_ident() not in seen
    assert 1 <= len(seen) <= executor.max_workers
    assert len(pool_threads()) <= executor.max_workers


def test_the_callers_contextvars_are_visible_in_the_worker(executor: ArmExecutor) -> None:
    """A contextvar set by the handler (say, a trace id) is seen by B running in the pool."""
    seen: list[str] = []

    def b(user_id: str) -> pd.DataFrame:
        seen.append(REQUEST_ID.get())
        return frame(["b1"])

    recommend = interleaved(
        rankers={"B": b},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=True),
        executor=executor,
        sink=CapturingSink(),
    )(lambda user_id: frame(["a1"]))
    token = REQUEST_ID.set("trace-42")
    try:
        recommend("u1")
    finally:
        REQUEST_ID.reset(token)
    assert seen == ["trace-42"]


def test_system_exit_in_a_worker_becomes_an_error_outcome(executor: ArmExecutor) -> None:
    """Even a BaseException raised by an arm in a worker comes back as a value, not a raise."""

    def b() -> pd.DataFrame:
        raise SystemExit(3)

    future = executor.submit("B", b, (), {}, SYSTEM_CLOCK)
    assert future is not None
    outcome = future.result(timeout=5)
    assert outcome.status == "error"
    assert isinstance(outcome.error, SystemExit)
    assert executor.in_flight == 0


def test_submit_refuses_rather_than_queues_when_every_worker_is_busy(
    executor: ArmExecutor,
) -> None:
    """With max_workers arms in flight, submit returns None instead of queueing."""
    release = threading.Event()
    futures = [
        executor.submit("B", release.wait, (5,), {}, SYSTEM_CLOCK)
        for _ in range(executor.max_workers)
    ]
    try:
        assert all(f is not None for f in futures)
        assert executor.submit("B", frame, (["x"],), {}, SYSTEM_CLOCK) is None
    finally:
        release.set()
    for f in futures:
        assert f is not None
        f.result(timeout=5)
    assert executor.in_flight == 0


def test_a_pool_that_refuses_work_is_the_arms_error() -> None:
    """submit() raising (a pool shut down under us) serves the baseline as arm_error, with why."""

    class BrokenExecutor(ArmExecutor):
        def submit(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
            raise RuntimeError("cannot schedule new futures after shutdown")

    sink = CapturingSink()
    recommend = interleaved(
        rankers={"B": lambda user_id: frame(["b"])},
        config=StaticConfig(mode="INTERLEAVE"),
        executor=BrokenExecutor(),
        sink=sink,
    )(lambda user_id: frame(["a"]))
    assert recommend("u").item_id.tolist() == ["a"]
    assert sink.last["fallback_reason"] == "arm_error"
    assert "after shutdown" in sink.last["error"]
    assert sink.last["arms"]["B"]["status"] == "error"

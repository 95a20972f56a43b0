"""How arms run: one lazily started pool reused by every request, contextvars carried into it,
and every outcome of a worker — even ``SystemExit`` — turned into a value.
"""

from __future__ import annotations

import contextvars
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig
from interleave_sdk.clock import SYSTEM_CLOCK
from interleave_sdk.decorator import interleaved
from interleave_sdk.execution import ArmRun, run_arms
from interleave_sdk.testing import CapturingSink

from .conftest import ManualClock, concurrently, in_forked_child

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


def test_work_on_time_is_never_refused_however_busy_the_workers(
    executor: ArmExecutor,
) -> None:
    """More arms in flight than threads, all within their deadline: every one is accepted."""
    release = threading.Event()
    futures = [
        executor.submit("B", release.wait, (5,), {}, SYSTEM_CLOCK) for _ in range(3 * executor.max_workers)
    ]
    release.set()
    assert all(f is not None for f in futures)
    for f in futures:
        assert f is not None
        assert f.result(timeout=5).status == "ok"
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


# -- run_arms: N arms, the deadline, stragglers, fork, BaseException --------------------------------


def returning(value: object) -> Callable[..., object]:
    return lambda *args, **kwargs: value


def raising(exc: BaseException) -> Callable[..., object]:
    def arm(*args: object, **kwargs: object) -> object:
        raise exc

    return arm


def run(
    executor: ArmExecutor,
    parallel: bool,
    others: list[tuple[str, Callable[..., object]]],
    base: Callable[..., object] | None = None,
    deadline_s: float = 5.0,
) -> ArmRun:
    """run_arms with the system clock, a deadline ``deadline_s`` away and baseline "A"."""
    clock = SYSTEM_CLOCK
    baseline = ("A", base if base is not None else returning("a"))
    deadline = clock.monotonic() + deadline_s
    return run_arms(executor, parallel, deadline, clock, baseline, others, (), {})


MODES = pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])


@MODES
def test_every_other_arm_runs_once_and_comes_back_in_the_given_order(
    executor: ArmExecutor, parallel: bool
) -> None:
    """Three other arms: each one's value, keyed by name, in the order they were given."""
    result = run(executor, parallel, [("C", returning("c")), ("B", returning("b")), ("D", returning("d"))])
    assert result.baseline.value == "a"
    assert list(result.others) == ["C", "B", "D"]
    assert [o.value for o in result.others.values()] == ["c", "b", "d"]
    assert all(o.status == "ok" for o in result.others.values())


@MODES
@pytest.mark.parametrize(
    "exc", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()], ids=lambda e: type(e).__name__
)
def test_a_base_exception_from_another_arm_is_an_error_outcome(
    executor: ArmExecutor, parallel: bool, exc: BaseException
) -> None:
    """SystemExit, KeyboardInterrupt or GeneratorExit from a ranker never reaches the caller."""
    result = run(executor, parallel, [("B", raising(exc)), ("C", returning("c"))])
    assert result.others["B"].status == "error"
    assert result.others["B"].error is exc
    assert result.others["C"].value == "c"


@MODES
def test_the_baselines_own_base_exception_propagates_unchanged(executor: ArmExecutor, parallel: bool) -> None:
    """The handler's KeyboardInterrupt is the handler's: run_arms lets it through as it is."""
    exc = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt) as caught:
        run(executor, parallel, [("B", returning("b"))], base=raising(exc))
    assert caught.value is exc


@MODES
def test_a_contained_baselines_base_exception_is_its_error_outcome(
    executor: ArmExecutor, parallel: bool
) -> None:
    """contain_baseline (a baseline ranker, not the handler): its SystemExit is data, others skipped."""
    exc = SystemExit(3)
    clock = SYSTEM_CLOCK
    result = run_arms(
        executor, parallel, clock.monotonic() + 5.0, clock, ("A", raising(exc)), [("B", returning("b"))],
        (), {}, contain_baseline=True,
    )  # fmt: skip
    assert result.baseline.status == "error" and result.baseline.error is exc
    assert result.others["B"].status == "skipped" and result.others["B"].reason == "baseline_failed"


@MODES
def test_a_failed_baseline_skips_the_other_arms(executor: ArmExecutor, parallel: bool) -> None:
    """The baseline raising: its exception is in its outcome, the others are baseline_failed."""
    exc = ValueError("handler bug")
    result = run(executor, parallel, [("B", returning("b"))], base=raising(exc))
    assert result.baseline.error is exc
    assert (result.others["B"].status, result.others["B"].reason) == ("skipped", "baseline_failed")


def test_sequential_arms_past_the_budget_are_skipped(executor: ArmExecutor) -> None:
    """Sequential: B uses up the budget, so C is not called and says budget_exhausted."""
    clock = ManualClock()
    calls: list[str] = []

    def slow_b() -> str:
        calls.append("B")
        clock.advance(0.6)
        return "b"

    def c() -> str:
        calls.append("C")
        return "c"

    result = run_arms(
        executor,
        False,
        clock.monotonic() + 1.0,
        clock,
        ("A", returning("a")),
        [("B", slow_b), ("C", slow_b), ("D", c)],
        (),
        {},
    )
    assert calls == ["B", "B"]
    assert result.others["B"].status == "ok"
    assert result.others["C"].status == "timeout"  # started in time, ready only after it
    assert (result.others["D"].status, result.others["D"].reason) == ("skipped", "budget_exhausted")


class HungArm:
    """An arm that says it started (one release of ``started`` per call), then hangs until the
    test sets ``release``."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self) -> str:
        self.started.release()
        self.release.wait(10)
        return "late"


def test_only_work_past_its_deadline_counts_against_the_straggler_bound() -> None:
    """Arms running on time fill no bound; once past their deadline they do, and refuse new work."""
    clock = ManualClock()
    pool = ArmExecutor(max_workers=1, max_stragglers=2, thread_name_prefix="exec-test")
    hang = HungArm()
    try:
        futures = [pool.submit("B", hang, (), {}, clock, clock.monotonic() + 1.0) for _ in range(2)]
        assert all(f is not None for f in futures)
        assert hang.started.acquire(timeout=5) and hang.started.acquire(timeout=5)
        assert pool.stragglers == 0
        assert pool.submit("B", returning("on time"), (), {}, clock, clock.monotonic() + 1.0) is not None
        clock.advance(2.0)  # both hung arms are now past their deadline
        assert pool.stragglers == 2
        assert pool.submit("B", returning("x"), (), {}, clock, clock.monotonic() + 1.0) is None
        hang.release.set()
        for f in futures:
            assert f is not None
            f.result(timeout=5)
        assert pool.stragglers == 0
        assert pool.submit("B", returning("x"), (), {}, clock, clock.monotonic() + 1.0) is not None
    finally:
        hang.release.set()
        pool.shutdown(wait=True)


def test_a_saturated_pool_skips_the_arm_with_its_reason() -> None:
    """run_arms with every straggler slot held past its deadline: pool_saturated, baseline served."""
    clock = ManualClock()
    pool = ArmExecutor(max_workers=1, max_stragglers=1, thread_name_prefix="exec-test")
    hang = HungArm()
    try:
        assert pool.submit("B", hang, (), {}, clock, clock.monotonic()) is not None
        assert hang.started.acquire(timeout=5)
        clock.advance(1.0)
        deadline = clock.monotonic() + 1.0
        result = run_arms(pool, True, deadline, clock, ("A", returning("a")), [("B", hang)], (), {})
        assert result.baseline.value == "a"
        assert (result.others["B"].status, result.others["B"].reason) == ("skipped", "pool_saturated")
    finally:
        hang.release.set()
        pool.shutdown(wait=True)


def test_work_not_started_by_its_deadline_is_never_run() -> None:
    """An arm that waited in the queue past its request's deadline is dropped, not run late."""
    clock = ManualClock()
    pool = ArmExecutor(max_workers=1, max_stragglers=1, thread_name_prefix="exec-test")
    gate = threading.Event()
    ran: list[str] = []
    try:
        blockers = [pool.submit("B", gate.wait, (10,), {}, clock) for _ in range(2)]
        queued = pool.submit("C", lambda: ran.append("C"), (), {}, clock, clock.monotonic() + 1.0)
        assert queued is not None
        clock.advance(2.0)
        gate.set()
        assert queued.result(timeout=5).status == "timeout"
        assert ran == []
        for b in blockers:
            assert b is not None
            b.result(timeout=5)
    finally:
        gate.set()
        pool.shutdown(wait=True)


@pytest.mark.slow
def test_concurrent_callers_with_healthy_arms_are_all_served() -> None:
    """32 callers x 500 calls, 1-2 ms arms in parallel mode: at least 99 % of other arms ok."""
    pool = ArmExecutor(thread_name_prefix="exec-test")
    statuses: list[str] = []
    lock = threading.Lock()

    def caller(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[str] = []
        for _ in range(500):
            pause_a, pause_b = rng.uniform(0.001, 0.002), rng.uniform(0.001, 0.002)
            result = run_arms(
                pool,
                True,
                time.monotonic() + 0.3,
                SYSTEM_CLOCK,
                ("A", lambda p=pause_a: time.sleep(p)),
                [("B", lambda p=pause_b: time.sleep(p))],
                (),
                {},
            )
            mine.append(result.others["B"].status)
        with lock:
            statuses.extend(mine)

    try:
        concurrently(caller, 32, timeout=60)
    finally:
        pool.shutdown(wait=True)
    assert len(statuses) == 32 * 500
    assert statuses.count("ok") / len(statuses) >= 0.99, Counter(statuses)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_childs_first_parallel_request_is_served() -> None:
    """After fork() (gunicorn --preload), the child's first parallel run gets B ok, not a timeout."""
    pool = ArmExecutor(max_workers=2, thread_name_prefix="exec-test")
    try:
        assert run(pool, True, [("B", returning("b"))]).others["B"].status == "ok"  # pool started

        def child() -> bytes:
            return run(pool, True, [("B", returning("b"))], deadline_s=2.0).others["B"].status.encode()

        assert in_forked_child(child) == b"ok"
    finally:
        pool.shutdown(wait=True)

"""TTLCache: expiry on the monotonic clock, jitter bounds, single-flight, backoff after failure."""

from __future__ import annotations

import random
import threading

import pytest
from freezegun import freeze_time

from interleave_sdk.config.cache import TTLCache

from .conftest import CountingSource, ManualClock

TTL = 60.0


def test_first_get_loads_and_says_so(source: CountingSource) -> None:
    """The first get calls the source once and marks the lookup as loaded."""
    cache = TTLCache(source, TTL)
    lookup = cache.get()
    assert (lookup.value, lookup.loaded, lookup.age_s, source.calls) == ("value-1", True, 0.0, 1)


@freeze_time("2026-03-01 12:00:00")
def test_served_from_cache_before_expiry(source: CountingSource) -> None:
    """Until the TTL has passed every get is a cache hit with a growing age."""
    cache = TTLCache(source, TTL)
    cache.get()
    with freeze_time("2026-03-01 12:00:59.999"):
        lookup = cache.get()
    assert (lookup.value, lookup.loaded, source.calls) == ("value-1", False, 1)
    assert lookup.age_s == pytest.approx(59.999)


@pytest.mark.parametrize("after", [TTL, TTL + 0.001, 5 * TTL])
def test_refreshed_at_and_after_expiry(source: CountingSource, after: float) -> None:
    """At exactly the TTL, and any time later, the next get calls the source again."""
    with freeze_time("2026-03-01 12:00:00") as frozen:
        cache = TTLCache(source, TTL)
        cache.get()
        frozen.tick(after)
        lookup = cache.get()
    assert (lookup.value, lookup.loaded, source.calls) == ("value-2", True, 2)


def test_one_source_call_per_ttl_window(source: CountingSource) -> None:
    """Ten gets a second for ten TTL windows cost exactly ten source calls."""
    with freeze_time("2026-03-01 12:00:00") as frozen:
        cache = TTLCache(source, TTL)
        for _ in range(10 * int(TTL)):
            for _ in range(10):
                cache.get()
            frozen.tick(1.0)
    assert source.calls == 10


def test_wall_clock_jump_does_not_expire(source: CountingSource, clock: ManualClock) -> None:
    """The cache reads only the monotonic clock, so a changed wall clock changes nothing."""
    cache = TTLCache(source, TTL, clock=clock)
    cache.get()
    with freeze_time("2031-01-01"):  # the wall clock moves five years; the injected one does not
        lookup = cache.get()
    assert (lookup.loaded, source.calls) == (False, 1)


@pytest.mark.parametrize("seed", range(200))
def test_jitter_stays_within_bound(source: CountingSource, clock: ManualClock, seed: int) -> None:
    """Each entry lives between ttl and ttl + jitter, and is served until the drawn moment."""
    jitter = 6.0
    cache = TTLCache(source, TTL, jitter=jitter, rng=random.Random(seed), clock=clock)
    drawn = cache.get().ttl_s
    assert TTL <= drawn <= TTL + jitter
    clock.advance(drawn - 1e-6)
    assert cache.get().loaded is False
    clock.advance(1e-6)
    assert cache.get().loaded is True


def test_jitter_spreads_over_the_bound(source: CountingSource, clock: ManualClock) -> None:
    """Differently seeded processes draw TTLs across the whole jitter range, not one value."""
    jitter = 6.0
    drawn = [
        TTLCache(source, TTL, jitter=jitter, rng=random.Random(seed), clock=clock).get().ttl_s
        for seed in range(200)
    ]
    assert min(drawn) < TTL + 0.1 * jitter
    assert max(drawn) > TTL + 0.9 * jitter


def test_jitter_without_rng_is_refused(source: CountingSource) -> None:
    """Jitter must come from a seeded generator the caller controls."""
    with pytest.raises(ValueError, match="rng"):
        TTLCache(source, TTL, jitter=1.0)


# -- single-flight --------------------------------------------------------------------------------

THREADS = 50


class GatedSource:
    """The first call returns at once; later calls block until the test opens the gate."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self) -> str:
        with self.lock:
            self.calls += 1
            call = self.calls
        if call > 1:
            self.entered.set()
            assert self.gate.wait(timeout=10), "the test never opened the gate"
        return f"value-{call}"


def run_threads(target: object, count: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=target) for _ in range(count)]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    return threads


def test_single_flight_on_expiry(clock: ManualClock) -> None:
    """50 threads hitting an expired entry: one calls the source, 49 serve the previous value."""
    slow = GatedSource()
    cache = TTLCache(slow, TTL, clock=clock)
    cache.get()
    clock.advance(TTL)
    barrier = threading.Barrier(THREADS)
    results: list[str | None] = []
    done = threading.Condition()

    def worker() -> None:
        barrier.wait(timeout=10)
        value = cache.get().value
        with done:
            results.append(value)
            done.notify_all()

    threads = run_threads(worker, THREADS)
    with done:  # 49 threads come back while the refresh is still blocked in the source
        assert done.wait_for(lambda: len(results) == THREADS - 1, timeout=10), results
    assert slow.entered.is_set()
    assert set(results) == {"value-1"}
    slow.gate.set()
    for thread in threads:
        thread.join(timeout=10)
    assert slow.calls == 2
    assert sorted(results) == ["value-1"] * (THREADS - 1) + ["value-2"]
    assert cache.get().value == "value-2"


def test_first_load_blocks_everyone_once(clock: ManualClock) -> None:
    """With nothing cached yet, 50 concurrent callers wait for a single load and all get it."""
    calls = []
    gate = threading.Event()

    def slow_first() -> str:
        calls.append(1)
        assert gate.wait(timeout=10)
        return "first"

    cache = TTLCache(slow_first, TTL, clock=clock)
    barrier = threading.Barrier(THREADS + 1)
    results: list[str | None] = []

    def worker() -> None:
        barrier.wait(timeout=10)
        results.append(cache.get().value)

    threads = run_threads(worker, THREADS)
    barrier.wait(timeout=10)
    gate.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(calls) == 1
    assert results == ["first"] * THREADS


# -- failures and backoff -------------------------------------------------------------------------


def test_failure_is_reported_with_last_good_value(
    source: CountingSource, clock: ManualClock
) -> None:
    """A failed refresh hands back the error and the last good value with its true age."""
    cache = TTLCache(source, TTL, failure_backoff=5.0, clock=clock)
    cache.get()
    clock.advance(TTL)
    source.fail = True
    lookup = cache.get()
    assert isinstance(lookup.error, RuntimeError)
    assert (lookup.value, lookup.fresh, lookup.age_s, lookup.retry_in_s) == (
        "value-1",
        False,
        TTL,
        5.0,
    )


def test_no_source_call_within_backoff(source: CountingSource, clock: ManualClock) -> None:
    """After a failure the source is left alone for the backoff, then tried again once."""
    source.fail = True
    cache = TTLCache(source, TTL, failure_backoff=5.0, clock=clock)
    cache.get()
    for _ in range(49):
        clock.advance(0.1)
        assert cache.get().error is not None
    assert source.calls == 1
    clock.advance(0.1)  # 5.0 s after the failure
    source.fail = False
    lookup = cache.get()
    assert (lookup.value, lookup.error, source.calls) == ("value-2", None, 2)


def test_backoff_doubles_per_failure_up_to_the_cap(
    source: CountingSource, clock: ManualClock
) -> None:
    """Consecutive failures wait 5, 10, 20, 40, then the 60 s cap between source calls."""
    source.fail = True
    cache = TTLCache(source, TTL, failure_backoff=5.0, clock=clock)
    waits = []
    for _ in range(6):
        waits.append(cache.get().retry_in_s)
        clock.advance(waits[-1] - 0.01)
        calls = source.calls
        cache.get()
        assert source.calls == calls  # still inside the window
        clock.advance(0.01)
    assert waits == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_success_resets_the_backoff(source: CountingSource, clock: ManualClock) -> None:
    """After a good load the next failure waits the initial backoff again."""
    source.fail = True
    cache = TTLCache(source, TTL, failure_backoff=5.0, clock=clock)
    cache.get()
    clock.advance(5.0)
    cache.get()
    clock.advance(10.0)
    source.fail = False
    cache.get()
    source.fail = True
    clock.advance(TTL)
    assert cache.get().retry_in_s == 5.0


def test_success_clears_the_error(source: CountingSource, clock: ManualClock) -> None:
    """Once the source answers again the cache serves fresh values with no error attached."""
    cache = TTLCache(source, TTL, failure_backoff=5.0, clock=clock)
    source.fail = True
    cache.get()
    clock.advance(5.0)
    source.fail = False
    cache.get()
    lookup = cache.get()
    assert (lookup.value, lookup.error, lookup.loaded) == ("value-2", None, False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl": -1.0},
        {"ttl": 1.0, "jitter": -1.0},
        {"ttl": 1.0, "failure_backoff": -1.0},
        {"ttl": 1.0, "max_backoff": -1.0},
    ],
)
def test_negative_durations_are_refused(source: CountingSource, kwargs: dict[str, float]) -> None:
    """A negative duration is a programming error caught at construction."""
    with pytest.raises(ValueError, match=">= 0"):
        TTLCache(source, **kwargs)  # type: ignore[arg-type]

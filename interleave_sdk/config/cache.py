"""A single-value TTL cache on a monotonic clock: thread-safe, single-flight, jittered, backing off.

It owns *when* to call a source and what to hand out meanwhile; it knows nothing about SSM or
settings. The provider on top decides what a failure means (baseline or last known good).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Generic, TypeVar

from ..clock import SYSTEM_CLOCK, Clock
from ..forking import FORK_RESETS

T = TypeVar("T")


@dataclass(frozen=True)
class Lookup(Generic[T]):
    """What one :meth:`TTLCache.get` saw.

    ``value`` is the newest value the source ever returned (``None`` before the first success),
    fresh or not; ``error`` is set when the newest attempt failed and is still within its backoff,
    in which case ``value`` is the last good one, if any. ``loaded`` is true for the one call that
    ran the source successfully.
    """

    value: T | None
    age_s: float
    loaded: bool = False
    fresh: bool = True
    ttl_s: float = 0.0
    error: BaseException | None = None
    retry_in_s: float = 0.0


class TTLCache(Generic[T]):
    """Caches the result of ``load()`` for ``ttl`` seconds plus a jitter drawn per load.

    * **Monotonic**: ages come from ``clock.monotonic()`` so wall-clock jumps never expire or pin
      an entry; freezegun moves ``time.perf_counter``, which the default clock reads.
    * **Single-flight**: when the entry expires, exactly one caller runs ``load()``; concurrent
      callers keep the previous value instead of queueing behind the source. Only the very first
      load, when there is nothing to serve, makes everyone wait for it.
    * **Jitter**: each entry lives ``ttl + U(0, jitter)`` seconds, drawn from ``rng``, so a fleet of
      processes started together does not refresh in lockstep.
    * **Backoff**: after ``load()`` raises, the source is not called again for ``failure_backoff``
      seconds, doubling with each consecutive failure up to ``max_backoff`` (default: the larger of
      ``ttl`` and ``failure_backoff``), so a fleet in an outage calls the source no more often than
      it does when healthy; callers get the failure (and the last good value) meanwhile.
    """

    def __init__(
        self,
        load: Callable[[], T],
        ttl: float,
        *,
        jitter: float = 0.0,
        failure_backoff: float = 5.0,
        max_backoff: float | None = None,
        rng: Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        if ttl < 0 or jitter < 0 or failure_backoff < 0 or (max_backoff or 0) < 0:
            raise ValueError(
                f"ttl, jitter, failure_backoff and max_backoff must be >= 0, got {ttl}, {jitter}, "
                f"{failure_backoff}, {max_backoff}"
            )
        if jitter > 0 and rng is None:
            raise ValueError("jitter needs a seeded random.Random passed as rng=")
        self._load = load
        self._ttl = float(ttl)
        self._jitter = float(jitter)
        self._backoff = float(failure_backoff)
        self._max_backoff = float(max(ttl, failure_backoff) if max_backoff is None else max_backoff)
        self._failures = 0  # consecutive
        self._rng = rng
        self._clock = clock if clock is not None else SYSTEM_CLOCK
        self._cond = threading.Condition(threading.Lock())
        self._value: T | None = None
        self._has_value = False
        self._loaded_at = 0.0
        self._expires_at = 0.0
        self._entry_ttl = 0.0
        self._error: BaseException | None = None
        self._retry_at = 0.0
        self._loading = False
        self._attempted = False
        FORK_RESETS.add(self, TTLCache._forget_in_flight)

    def _forget_in_flight(self) -> None:
        """In a forked child: the thread loading (and holding the lock) does not exist here, so
        the lock is new and no load is in flight; the child's next get() loads for itself."""
        self._cond = threading.Condition(threading.Lock())
        self._loading = False

    @property
    def ttl(self) -> float:
        return self._ttl

    @property
    def jitter(self) -> float:
        return self._jitter

    def get(self) -> Lookup[T]:
        """The cached value, refreshing it first if it expired and nobody else is doing so."""
        with self._cond:
            while True:
                now = self._clock.monotonic()
                if self._has_value and self._error is None and now < self._expires_at:
                    return self._lookup(now)
                if self._error is not None and now < self._retry_at:
                    return self._lookup(now)
                if not self._loading:
                    self._loading = True
                    break
                if self._attempted:  # a refresh is in flight: serve what we have meanwhile
                    return self._lookup(now)
                self._cond.wait()  # the first load: there is nothing to serve yet
        return self._refresh()

    def _refresh(self) -> Lookup[T]:
        try:
            value = self._load()
        except Exception as exc:
            with self._cond:
                now = self._clock.monotonic()
                self._error = exc
                self._failures += 1
                wait = min(self._backoff * 2 ** min(self._failures - 1, 30), self._max_backoff)
                self._retry_at = now + wait
                self._loading = False
                self._attempted = True
                self._cond.notify_all()
                return self._lookup(now)
        except BaseException:  # KeyboardInterrupt and friends: do not leave waiters hanging
            with self._cond:
                self._loading = False
                self._cond.notify_all()
            raise
        with self._cond:
            now = self._clock.monotonic()
            extra = self._rng.uniform(0.0, self._jitter) if self._rng and self._jitter else 0.0
            self._value, self._has_value = value, True
            self._loaded_at = now
            self._entry_ttl = self._ttl + extra
            self._expires_at = now + self._entry_ttl
            self._error = None
            self._failures = 0
            self._loading = False
            self._attempted = True
            self._cond.notify_all()
            return Lookup(value, 0.0, loaded=True, fresh=True, ttl_s=self._entry_ttl)

    def _lookup(self, now: float) -> Lookup[T]:
        # Called with the lock held.
        age = max(0.0, now - self._loaded_at) if self._has_value else 0.0
        return Lookup(
            self._value,
            age,
            fresh=self._has_value and now < self._expires_at,
            ttl_s=self._entry_ttl,
            error=self._error,
            retry_in_s=max(0.0, self._retry_at - now) if self._error is not None else 0.0,
        )

"""Running the arms: the baseline on the calling thread, the other arm on a reused thread pool.

Outcomes are values (:class:`ArmOutcome`): a result or the exception, plus latency, so nothing
raised in a worker goes unseen. Python cannot kill a thread, so a straggler is bounded instead: the
pool has a fixed number of workers, and when all of them are still busy with late work the request
is not interleaved (``pool_saturated``) rather than queueing behind them.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from .clock import Clock


@dataclass(frozen=True)
class ArmOutcome:
    """What one arm produced: ``status`` is ok, error, timeout or skipped."""

    arm: str
    status: str
    value: Any = None
    error: BaseException | None = None
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def call_arm(
    arm: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    clock: Clock,
) -> ArmOutcome:
    """Call ``fn`` and capture its result or exception together with its latency."""
    start = clock.monotonic()
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # an arm's failure is data, examined by the caller
        return ArmOutcome(arm, "error", error=exc, latency_ms=(clock.monotonic() - start) * 1e3)
    return ArmOutcome(arm, "ok", value=value, latency_ms=(clock.monotonic() - start) * 1e3)


class ArmExecutor:
    """A small, lazily started thread pool with a bound on work in flight.

    One executor serves every call of one decorated function; its threads start on the first
    interleaved request, never at import or decoration. ``in_flight`` counts submitted arms that
    have not finished, including ones whose request already gave up on them (timeouts).
    """

    def __init__(self, max_workers: int = 4, thread_name_prefix: str = "interleave-sdk") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._prefix = thread_name_prefix
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(
        self,
        arm: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        clock: Clock,
    ) -> Future[ArmOutcome] | None:
        """Start the arm in a worker, or return ``None`` when every worker is busy."""
        with self._lock:
            if self._in_flight >= self.max_workers:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix=self._prefix)
            self._in_flight += 1
            pool = self._pool
        # Worker threads do not inherit contextvars; copy the caller's so tracing ids, request
        # scoped settings and the like are visible inside the arm.
        context = contextvars.copy_context()
        try:
            future = pool.submit(context.run, call_arm, arm, fn, args, kwargs, clock)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())
        return future

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers (tests, or a clean process exit); the next submit starts a new pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait)


def wait_for(future: Future[ArmOutcome], arm: str, timeout_s: float) -> ArmOutcome:
    """The arm's outcome, or a ``timeout`` outcome when it is not done within ``timeout_s``."""
    try:
        return future.result(timeout=max(0.0, timeout_s))
    except FutureTimeout:
        return ArmOutcome(arm, "timeout")

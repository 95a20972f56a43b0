"""Running the arms: the baseline on the calling thread, the other arm on a reused thread pool.

Outcomes are values (:class:`ArmOutcome`): a result or the exception, plus latency, so nothing
raised in a worker goes unseen. Python cannot kill a thread, so a straggler is bounded instead: the
pool has a fixed number of workers, and when all of them are still busy the request is not
interleaved (``pool_saturated``) rather than queueing behind them. :func:`run_arms` is the one place
that applies the request deadline, in parallel and in sequential mode alike.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from .clock import Clock

logger = logging.getLogger("interleave_sdk")


@dataclass(frozen=True)
class ArmOutcome:
    """What one arm produced: ``status`` is ok, error, invalid, timeout or skipped."""

    arm: str
    status: str
    value: Any = None
    error: BaseException | None = None
    latency_ms: float | None = None
    finished: float | None = None  # clock.monotonic() when the arm returned (deadline checks)
    reason: str | None = None  # for skipped: pool_saturated | budget_exhausted | baseline_failed

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def call_arm(
    arm: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    clock: Clock,
    *,
    contain_base_exceptions: bool = False,
) -> ArmOutcome:
    """Call ``fn`` and capture its result or exception together with its latency."""
    start = clock.monotonic()
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # an arm's failure is data, examined by the caller
        end = clock.monotonic()
        return ArmOutcome(arm, "error", error=exc, latency_ms=(end - start) * 1e3, finished=end)
    except BaseException as exc:
        if not contain_base_exceptions:
            raise
        end = clock.monotonic()
        return ArmOutcome(arm, "error", error=exc, latency_ms=(end - start) * 1e3, finished=end)
    end = clock.monotonic()
    return ArmOutcome(arm, "ok", value=value, latency_ms=(end - start) * 1e3, finished=end)


class ArmExecutor:
    """A small, lazily started thread pool with a bound on work in flight.

    One executor serves every call of one decorated function (or several, if passed to each); its
    threads start on the first interleaved request, never at import or decoration. ``in_flight``
    counts submitted arms that have not finished, including ones whose request already gave up on
    them (timeouts), so stragglers can occupy at most ``max_workers`` threads.

    ``blas_threads``: when set, the BLAS libraries loaded in the process (OpenBLAS, MKL, BLIS) are
    limited to that many threads when the pool starts, so that numpy inside two concurrent arms does
    not oversubscribe the cores. The limit is process-wide (OpenBLAS has no per-thread setting) and
    needs the optional ``threadpoolctl`` package; see docs/performance.md.
    """

    def __init__(
        self,
        max_workers: int = 4,
        thread_name_prefix: str = "interleave-sdk",
        *,
        blas_threads: int | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if blas_threads is not None and blas_threads < 1:
            raise ValueError("blas_threads must be at least 1 or None")
        self.max_workers = max_workers
        self.blas_threads = blas_threads
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
                if self.blas_threads is not None:
                    from .blas import limit_blas_threads  # optional dependency, imported late

                    limit_blas_threads(self.blas_threads)
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix=self._prefix)
            self._in_flight += 1
            pool = self._pool
        # Worker threads do not inherit contextvars; copy the caller's so tracing ids, request
        # scoped settings and the like are visible inside the arm.
        context = contextvars.copy_context()
        try:
            return pool.submit(self._work, context, arm, fn, args, kwargs, clock)
        except BaseException:
            self._release()
            raise

    def _work(
        self,
        context: contextvars.Context,
        arm: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        clock: Clock,
    ) -> ArmOutcome:
        # The slot is released before the future completes, so a caller that wakes up on the
        # result and immediately serves its next request never sees its own finished arm as busy.
        try:
            return context.run(call_arm, arm, fn, args, kwargs, clock)
        except BaseException as exc:  # SystemExit and the like from a ranker: still a value
            return ArmOutcome(arm, "error", error=exc)
        finally:
            self._release()

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
    """The arm's outcome, or a ``timeout`` outcome when it is not done within ``timeout_s``.

    A late arm keeps running (threads cannot be stopped); when it eventually finishes with an
    error, that error is logged, so no exception raised in a worker goes unseen.
    """
    try:
        return future.result(timeout=max(0.0, timeout_s))
    except FutureTimeout:
        future.add_done_callback(_report_late)
        return ArmOutcome(arm, "timeout")
    except CancelledError as exc:  # the pool was shut down before the arm started
        return ArmOutcome(arm, "error", error=exc)


def _report_late(future: Future[ArmOutcome]) -> None:
    if future.cancelled():
        return
    outcome = future.result()
    if outcome.error is not None:
        logger.warning(
            "interleave-sdk: late ranker %r failed after its request timed out: %r",
            outcome.arm,
            outcome.error,
        )


@dataclass(frozen=True)
class ArmRun:
    baseline: ArmOutcome
    others: dict[str, ArmOutcome]


def run_arms(
    executor: ArmExecutor,
    parallel: bool,
    deadline: float,
    clock: Clock,
    baseline: tuple[str, Callable[..., Any]],
    others: Any,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> ArmRun:
    """INTERIM shim until engine-parts lands the N-arm runner."""
    base_arm, base_fn = baseline
    if parallel:
        futures: dict[str, Any] = {}
        for arm, fn in others:
            try:
                futures[arm] = executor.submit(arm, fn, args, kwargs, clock)
            except Exception as exc:
                futures[arm] = ArmOutcome(arm, "error", error=exc)
        base = call_arm(base_arm, base_fn, args, kwargs, clock)
        out = {}
        for arm, f in futures.items():
            if isinstance(f, ArmOutcome):
                out[arm] = f
            elif f is None:
                out[arm] = ArmOutcome(arm, "skipped", reason="pool_saturated")
            else:
                out[arm] = _on_time(wait_for(f, arm, deadline - clock.monotonic()), deadline)
        return ArmRun(base, out)
    base = call_arm(base_arm, base_fn, args, kwargs, clock)
    out = {}
    for arm, fn in others:
        if base.error is not None:
            out[arm] = ArmOutcome(arm, "skipped", reason="baseline_failed")
        elif clock.monotonic() >= deadline:
            out[arm] = ArmOutcome(arm, "skipped", reason="budget_exhausted")
        else:
            outcome = call_arm(arm, fn, args, kwargs, clock, contain_base_exceptions=True)
            out[arm] = _on_time(outcome, deadline)
    return ArmRun(base, out)


def _on_time(outcome: ArmOutcome, deadline: float) -> ArmOutcome:
    """A result ready after the deadline becomes ``timeout``; a late error stays an error."""
    if outcome.ok and outcome.finished is not None and outcome.finished > deadline:
        return ArmOutcome(outcome.arm, "timeout", latency_ms=outcome.latency_ms)
    return outcome

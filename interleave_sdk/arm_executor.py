"""The SDK's own thread pool for arms: lazily started, bounded against abandoned work, fork-safe.

Python cannot kill a thread, so stragglers are bounded instead: only work still running past its
request's deadline counts against the bound, so any number of concurrent callers with healthy arms
is served, and a request is refused the pool (``pool_saturated``) only when abandoned work piles
up. Both drivers of :mod:`interleave_sdk.execution` (threads and the event loop) use it, so a hung
plain-function ranker inside an ``async def`` handler is bounded exactly like one in a sync handler
and never occupies the event loop's default executor. A forked child starts a fresh pool.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from .arm_outcome import ArmOutcome, call_arm
from .clock import Clock
from .forking import FORK_RESETS

logger = logging.getLogger("interleave_sdk")


class ArmExecutor:
    """A small, lazily started thread pool with a bound on abandoned work.

    One executor serves every call of one decorated function (or several, if passed to each); its
    threads start on the first interleaved request, never at import or decoration. Work on time is
    never refused: it queues for a worker like in any pool (and is dropped unstarted if its
    deadline passes in the queue). Only work still *running past its deadline* (a straggler, whose
    request gave up on it) counts against ``max_stragglers``; when that many stragglers hold
    threads, new work is refused (``pool_saturated``) instead of queueing behind them. The pool
    has ``max_workers + max_stragglers`` threads, so ``max_workers`` are always left for work on
    time however many stragglers there are.

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
        max_stragglers: int | None = None,
        blas_threads: int | None = None,
    ) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be an int of at least 1, got {max_workers!r}")
        if max_stragglers is not None and (
            isinstance(max_stragglers, bool) or not isinstance(max_stragglers, int) or max_stragglers < 1
        ):
            raise ValueError(f"max_stragglers must be an int of at least 1, got {max_stragglers!r}")
        if blas_threads is not None and blas_threads < 1:
            raise ValueError("blas_threads must be at least 1 or None")
        self.max_workers = max_workers
        self.max_stragglers = max_workers if max_stragglers is None else max_stragglers
        self.blas_threads = blas_threads
        self._prefix = thread_name_prefix
        self._tokens = itertools.count()
        self._forget_pool()
        FORK_RESETS.add(self, ArmExecutor._forget_pool)

    def _forget_pool(self) -> None:
        """Fresh state: no pool, nothing in flight. At construction, and in a forked child, where
        the parent's worker threads do not exist and its lock may have been held mid-fork.
        """
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._running: dict[int, tuple[float, Clock]] = {}  # started work: its deadline and clock

    @property
    def in_flight(self) -> int:
        """Submitted arms that have not finished (queued, running on time, or stragglers)."""
        return self._in_flight

    @property
    def stragglers(self) -> int:
        """Arms still running past their request's deadline."""
        with self._lock:
            return self._count_stragglers()

    def _count_stragglers(self) -> int:
        return sum(1 for deadline, clock in self._running.values() if clock.monotonic() > deadline)

    def submit(
        self,
        arm: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        clock: Clock,
        deadline: float = float("inf"),
    ) -> Future[ArmOutcome] | None:
        """Start the arm in a worker, or return ``None`` when stragglers fill the bound.

        ``deadline`` (``clock.monotonic()`` seconds) is when the request stops waiting: work still
        running after it counts as a straggler, work not started by then is not started at all.
        """
        with self._lock:
            if self._running and self._count_stragglers() >= self.max_stragglers:
                return None
            if self._pool is None:
                if self.blas_threads is not None:
                    from .blas import limit_blas_threads  # optional dependency, imported late

                    limit_blas_threads(self.blas_threads)
                self._pool = ThreadPoolExecutor(
                    self.max_workers + self.max_stragglers, thread_name_prefix=self._prefix
                )
            self._in_flight += 1
            pool = self._pool
        # Worker threads do not inherit contextvars; copy the caller's so tracing ids, request
        # scoped settings and the like are visible inside the arm.
        context = contextvars.copy_context()
        try:
            return pool.submit(self._work, context, arm, fn, args, kwargs, clock, deadline)
        except BaseException:
            self._release(None)
            raise

    def _work(
        self,
        context: contextvars.Context,
        arm: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        clock: Clock,
        deadline: float,
    ) -> ArmOutcome:
        token = next(self._tokens)
        with self._lock:
            self._running[token] = (deadline, clock)
        # The slot is released before the future completes, so a caller that wakes up on the
        # result and immediately serves its next request never sees its own finished arm as busy.
        try:
            if clock.monotonic() > deadline:  # waited in the queue past its request: nobody waits
                return ArmOutcome(arm, "timeout")
            return context.run(call_arm, arm, fn, args, kwargs, clock, contain_base_exceptions=True)
        except BaseException as exc:  # a failing clock or context: still a value
            return ArmOutcome(arm, "error", error=exc)
        finally:
            self._release(token)

    def _release(self, token: int | None) -> None:
        with self._lock:
            self._in_flight -= 1
            if token is not None:
                self._running.pop(token, None)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers (tests, or a clean process exit); the next submit starts a new pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait)


def wait_for(future: Future[ArmOutcome], arm: str, timeout_s: float) -> ArmOutcome:
    """The arm's outcome, or a ``timeout`` outcome when it is not done within ``timeout_s``.

    Work not started yet is cancelled; a late arm keeps running (threads cannot be stopped), and
    when it eventually finishes with an error, that error is logged, so no exception raised in a
    worker goes unseen.
    """
    try:
        return future.result(timeout=max(0.0, timeout_s))
    except FutureTimeout:
        abandon(future)
        return ArmOutcome(arm, "timeout")
    except CancelledError as exc:  # the pool was shut down before the arm started
        return ArmOutcome(arm, "error", error=exc)


def abandon(future: Future[ArmOutcome]) -> None:
    """Nobody waits for this arm any more: drop it if unstarted, else report a late failure."""
    if not future.cancel():
        future.add_done_callback(_report_late)


def _report_late(future: Future[ArmOutcome]) -> None:
    if future.cancelled():
        return
    outcome = future.result()
    if outcome.error is not None:
        logger.warning(
            "interleave-sdk: late ranker %r failed after its request stopped waiting: %r",
            outcome.arm,
            outcome.error,
        )

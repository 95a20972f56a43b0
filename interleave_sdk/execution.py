"""Running the arms: the baseline on the calling thread, the other arms on a reused thread pool.

Outcomes are values (:class:`ArmOutcome`): a result or the exception, plus latency, so nothing
raised by an arm goes unseen and no exception of a non-baseline arm (not even ``SystemExit``)
reaches the caller, whichever the execution mode. Python cannot kill a thread, so stragglers are
bounded instead: only work still running past its request's deadline counts against the bound, so
any number of concurrent callers with healthy arms is served, and a request is refused the pool
(``pool_saturated``) only when abandoned work piles up. :func:`run_arms` is the one place that
applies the request deadline, in parallel and in sequential mode alike. The pool is fork-safe: a
forked child (gunicorn ``--preload``, multiprocessing) starts a fresh one on its first request.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .forking import ForkResetRegistry

logger = logging.getLogger("interleave_sdk")


@dataclass(frozen=True)
class ArmOutcome:
    """What one arm produced: ``status`` is ok, error, invalid, timeout or skipped.

    ``reason`` says why a ``skipped`` arm was not run: ``pool_saturated`` (too much abandoned
    work in the pool), ``budget_exhausted`` (sequential mode, no time left) or
    ``baseline_failed`` (the baseline raised, so the request is not interleaved).
    """

    arm: str
    status: str
    value: Any = None
    error: BaseException | None = None
    latency_ms: float | None = None
    finished: float | None = None  # clock.monotonic() when the arm returned (deadline checks)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class ArmRun:
    """Every arm's outcome for one request: the baseline's, and the others' in the order given."""

    baseline: ArmOutcome
    others: dict[str, ArmOutcome]


def call_arm(
    arm: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    clock: Clock,
    *,
    contain_base_exceptions: bool = False,
) -> ArmOutcome:
    """Call ``fn`` and capture its result or exception together with its latency.

    The baseline is called with ``Exception`` caught only, so the handler's own ``BaseException``
    (``KeyboardInterrupt``, ``SystemExit``) propagates unchanged; every other arm is called with
    ``contain_base_exceptions=True``, since a ranker's ``SystemExit`` must not end the handler.
    """
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
            isinstance(max_stragglers, bool)
            or not isinstance(max_stragglers, int)
            or max_stragglers < 1
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
        _EXECUTORS.add(self)

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
            return context.run(
                call_arm, arm, fn, args, kwargs, clock, contain_base_exceptions=True
            )
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


#: Every executor alive in the process, so a forked child can reset them all.
_EXECUTORS: ForkResetRegistry[ArmExecutor] = ForkResetRegistry(lambda executor: executor._forget_pool())


def wait_for(future: Future[ArmOutcome], arm: str, timeout_s: float) -> ArmOutcome:
    """The arm's outcome, or a ``timeout`` outcome when it is not done within ``timeout_s``.

    Work not started yet is cancelled; a late arm keeps running (threads cannot be stopped), and
    when it eventually finishes with an error, that error is logged, so no exception raised in a
    worker goes unseen.
    """
    try:
        return future.result(timeout=max(0.0, timeout_s))
    except FutureTimeout:
        _abandon(future)
        return ArmOutcome(arm, "timeout")
    except CancelledError as exc:  # the pool was shut down before the arm started
        return ArmOutcome(arm, "error", error=exc)


def _abandon(future: Future[ArmOutcome]) -> None:
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


def run_arms(
    executor: ArmExecutor,
    parallel: bool,
    deadline: float,
    clock: Clock,
    baseline: tuple[str, Callable[..., Any]],
    others: Sequence[tuple[str, Callable[..., Any]]],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    contain_baseline: bool = False,
) -> ArmRun:
    """Run the baseline and every other arm once each and apply the deadline (``clock`` seconds).

    Parallel: the other arms are submitted first, the baseline runs on the calling thread, then
    the caller waits for the others until the deadline (``timeout``); an arm the pool refuses is
    ``skipped`` (``pool_saturated``). Sequential: the others run after the baseline on the
    calling thread, in order, each only if budget is left (else ``skipped``,
    ``budget_exhausted``); they cannot be interrupted. In both modes a result that was ready only
    after the deadline counts as ``timeout`` (the calling thread may itself be scheduled late on
    a busy machine), so which requests enter the experiment does not depend on the execution mode
    or on scheduling luck, and a non-baseline arm's ``BaseException`` is an ``error`` outcome.

    The baseline's own failure is not handled here: its outcome carries the exception for the
    caller to re-raise (a ``BaseException`` of the baseline propagates, unless
    ``contain_baseline``: a baseline that is a ranker, not the handler), and the other arms are
    then ``skipped`` (``baseline_failed``) without waiting for them.
    """
    base_arm, base_fn = baseline
    contain = contain_baseline
    outcomes: dict[str, ArmOutcome] = {}
    if not parallel:
        base = call_arm(base_arm, base_fn, args, kwargs, clock, contain_base_exceptions=contain)
        for arm, fn in others:
            skipped = skipped_in_turn(arm, base, deadline, clock)
            outcomes[arm] = skipped or on_time(
                call_arm(arm, fn, args, kwargs, clock, contain_base_exceptions=True), deadline
            )
        return ArmRun(base, outcomes)

    started: list[tuple[str, Future[ArmOutcome] | ArmOutcome]] = []
    for arm, fn in others:
        try:
            future = executor.submit(arm, fn, args, kwargs, clock, deadline)
        except Exception as exc:  # e.g. the pool was shut down under us: that arm's error
            started.append((arm, ArmOutcome(arm, "error", error=exc)))
            continue
        if future is None:
            started.append((arm, ArmOutcome(arm, "skipped", reason="pool_saturated")))
        else:
            started.append((arm, future))
    try:
        base = call_arm(base_arm, base_fn, args, kwargs, clock, contain_base_exceptions=contain)
    except BaseException:  # the handler's own BaseException: nobody will wait for the others
        for _, pending in started:
            if isinstance(pending, Future):
                _abandon(pending)
        raise
    for arm, pending in started:
        if not isinstance(pending, Future):
            outcomes[arm] = pending
        elif base.error is not None:
            _abandon(pending)
            outcomes[arm] = ArmOutcome(arm, "skipped", reason="baseline_failed")
        else:
            outcomes[arm] = on_time(wait_for(pending, arm, deadline - clock.monotonic()), deadline)
    return ArmRun(base, outcomes)


def skipped_in_turn(arm: str, base: ArmOutcome, deadline: float, clock: Clock) -> ArmOutcome | None:
    """Sequential mode's rule for an arm whose turn comes after the baseline: the ``skipped``
    outcome when the baseline failed or the deadline has passed, else None (run it). Shared by
    the threaded runner and the event-loop one (``engine``), so both modes skip alike.
    """
    if not base.ok:
        return ArmOutcome(arm, "skipped", reason="baseline_failed")
    if clock.monotonic() >= deadline:
        return ArmOutcome(arm, "skipped", reason="budget_exhausted")
    return None


def on_time(outcome: ArmOutcome, deadline: float) -> ArmOutcome:
    """A result ready after the deadline becomes ``timeout``; a late error stays an error."""
    if outcome.ok and outcome.finished is not None and outcome.finished > deadline:
        return ArmOutcome(outcome.arm, "timeout", latency_ms=outcome.latency_ms)
    return outcome

"""Running what the procedure asks to run: one decision procedure, two thin drivers.

The request procedure (:mod:`interleave_sdk.procedure`) is a generator: it decides, and whenever
user code must run it yields an action (:class:`Call`: one callable; :class:`RunArms`: every arm
of an interleaved request) and receives its outcome as a value. :func:`drive` runs the actions on
threads (the baseline on the calling thread, the other arms on the SDK's
:class:`~interleave_sdk.arm_executor.ArmExecutor`); :func:`adrive` runs them on the event loop
(coroutines as tasks, plain callables on the same executor, under the same straggler bound).
They are the only code that differs between ``def`` and ``async def`` handlers.

:func:`run_arms` and :func:`run_arms_async` are the one place each mode applies the request
deadline; a result ready only after it counts as ``timeout`` in both, so which requests enter the
experiment does not depend on the execution mode or on scheduling luck.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from .arm_executor import ArmExecutor, abandon, wait_for
from .arm_outcome import ArmOutcome, ArmRun, call_arm
from .clock import Clock

__all__ = [
    "ArmExecutor", "ArmOutcome", "ArmRun", "Call", "Cancelled", "RunArms", "adrive", "call_arm",
    "drive", "on_time", "run_arms", "run_arms_async", "skipped_in_turn",
]  # fmt: skip

R = TypeVar("R")
INFINITY = float("inf")
Arm = tuple[str, Callable[..., Any]]


@dataclass(frozen=True)
class Call:
    """Run one callable (the handler, one arm alone, the candidate stage): an :class:`ArmOutcome`.

    Every ``BaseException`` is contained in the outcome; ``deadline`` is when the request stops
    waiting for it (``inf``: it waits as long as the callable takes).
    """

    arm: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    deadline: float = INFINITY


@dataclass(frozen=True)
class RunArms:
    """Run the baseline and every other arm once, under the deadline: an :class:`ArmRun`."""

    baseline: Arm
    others: Sequence[Arm]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    parallel: bool
    deadline: float


@dataclass(frozen=True)
class Cancelled:
    """What the async driver sends back when the caller's task was cancelled mid-action."""

    error: BaseException


Action = Call | RunArms
Steps = Generator[Action, Any, R]


def drive(steps: Steps[R], executor: ArmExecutor, clock: Clock) -> R:
    """Run the procedure's actions on threads until it returns its result."""
    result: Any = None
    while True:
        try:
            action = steps.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(action, Call):
            result = call_arm(
                action.arm, action.fn, action.args, action.kwargs, clock, contain_base_exceptions=True
            )
        else:
            result = run_arms(
                executor, action.parallel, action.deadline, clock, action.baseline, action.others,
                action.args, action.kwargs, contain_baseline=True,
            )  # fmt: skip


async def adrive(steps: Steps[R], executor: ArmExecutor, clock: Clock) -> R:
    """Run the procedure's actions on the event loop until it returns its result."""
    result: Any = None
    while True:
        try:
            action = steps.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            if isinstance(action, Call):
                result = await acall(
                    action.arm, action.fn, action.args, action.kwargs, clock, executor, action.deadline
                )
            else:
                result = await run_arms_async(executor, clock, action)
        except asyncio.CancelledError as exc:  # the procedure records it, then it is re-raised
            result = Cancelled(exc)


def run_arms(
    executor: ArmExecutor,
    parallel: bool,
    deadline: float,
    clock: Clock,
    baseline: Arm,
    others: Sequence[Arm],
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
    ``budget_exhausted``); they cannot be interrupted. A non-baseline arm's ``BaseException`` is
    an ``error`` outcome; the baseline's propagates unless ``contain_baseline``. When the
    baseline fails, the other arms are ``skipped`` (``baseline_failed``) without waiting.
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

    started: list[tuple[str, Future[ArmOutcome] | ArmOutcome]] = [
        (arm, _submit(executor, arm, fn, args, kwargs, clock, deadline)) for arm, fn in others
    ]
    try:
        base = call_arm(base_arm, base_fn, args, kwargs, clock, contain_base_exceptions=contain)
    except BaseException:  # the handler's own BaseException: nobody will wait for the others
        for _, pending in started:
            if isinstance(pending, Future):
                abandon(pending)
        raise
    for arm, pending in started:
        if not isinstance(pending, Future):
            outcomes[arm] = pending
        elif base.error is not None:
            abandon(pending)
            outcomes[arm] = ArmOutcome(arm, "skipped", reason="baseline_failed")
        else:
            outcomes[arm] = on_time(wait_for(pending, arm, deadline - clock.monotonic()), deadline)
    return ArmRun(base, outcomes)


async def run_arms_async(executor: ArmExecutor, clock: Clock, action: RunArms) -> ArmRun:
    """:func:`run_arms` on the event loop: coroutine arms as tasks, plain ones on the executor.

    Arms not done by the deadline are ``timeout``: a late task is cancelled, a late thread is left
    to the executor's straggler bound.
    """
    (base_arm, base_fn), deadline, args, kwargs = action.baseline, action.deadline, action.args, action.kwargs
    results: dict[str, ArmOutcome] = {}
    if not action.parallel:
        base = await acall(base_arm, base_fn, args, kwargs, clock, executor)
        for arm, fn in action.others:
            skipped = skipped_in_turn(arm, base, deadline, clock)
            results[arm] = skipped or on_time(
                await acall(arm, fn, args, kwargs, clock, executor, deadline), deadline
            )
        return ArmRun(base, results)
    started: dict[str, asyncio.Future[ArmOutcome] | ArmOutcome] = {
        arm: _start(executor, arm, fn, args, kwargs, clock, deadline) for arm, fn in action.others
    }
    pending = [task for task in started.values() if isinstance(task, asyncio.Future)]
    try:
        base = await acall(base_arm, base_fn, args, kwargs, clock, executor)
        if base.ok and pending:
            await asyncio.wait(pending, timeout=max(0.0, deadline - clock.monotonic()))
    finally:
        for task in pending:
            if not task.done():
                task.cancel()  # a task stops; a thread's wrapper lets go of its future
    for arm, started_arm in started.items():
        if not isinstance(started_arm, asyncio.Future):
            results[arm] = started_arm
        elif not base.ok:
            results[arm] = ArmOutcome(arm, "skipped", reason="baseline_failed")
        elif started_arm.done() and not started_arm.cancelled():
            results[arm] = on_time(started_arm.result(), deadline)
        else:
            results[arm] = ArmOutcome(arm, "timeout")
    return ArmRun(base, results)


async def acall(
    arm: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    clock: Clock,
    executor: ArmExecutor,
    deadline: float = INFINITY,
) -> ArmOutcome:
    """One callable on the event loop: a coroutine awaited here, a plain one on the executor."""
    started = _start(executor, arm, fn, args, kwargs, clock, deadline)
    if not isinstance(started, asyncio.Future):
        return started
    if deadline == INFINITY:
        return await started
    try:
        return await asyncio.wait_for(started, max(0.0, deadline - clock.monotonic()))
    except asyncio.TimeoutError:
        return ArmOutcome(arm, "timeout")


def _start(
    executor: ArmExecutor,
    arm: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    clock: Clock,
    deadline: float,
) -> asyncio.Future[ArmOutcome] | ArmOutcome:
    """The arm started on the loop (a task) or on the executor (its future, awaitable)."""
    if _is_coroutine(fn):
        return asyncio.ensure_future(_acall_coroutine(arm, fn, args, kwargs, clock))
    submitted = _submit(executor, arm, fn, args, kwargs, clock, deadline)
    if isinstance(submitted, ArmOutcome):
        return submitted
    return asyncio.wrap_future(submitted)


def _submit(
    executor: ArmExecutor,
    arm: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    clock: Clock,
    deadline: float,
) -> Future[ArmOutcome] | ArmOutcome:
    """The arm's future on the executor, or the outcome that says why it did not start."""
    try:
        future = executor.submit(arm, fn, args, kwargs, clock, deadline)
    except Exception as exc:  # e.g. the pool was shut down under us: that arm's error
        return ArmOutcome(arm, "error", error=exc)
    if future is None:
        return ArmOutcome(arm, "skipped", reason="pool_saturated")
    return future


async def _acall_coroutine(
    arm: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any], clock: Clock
) -> ArmOutcome:
    start = clock.monotonic()
    try:
        value = await fn(*args, **kwargs)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # an arm's failure is data; the handler's is re-raised later
        end = clock.monotonic()
        return ArmOutcome(arm, "error", error=exc, latency_ms=(end - start) * 1e3, finished=end)
    end = clock.monotonic()
    return ArmOutcome(arm, "ok", value=value, latency_ms=(end - start) * 1e3, finished=end)


def _is_coroutine(fn: Callable[..., Any]) -> bool:
    """An ``async def`` function or method, or an object whose ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn):
        return True
    return not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)


def skipped_in_turn(arm: str, base: ArmOutcome, deadline: float, clock: Clock) -> ArmOutcome | None:
    """Sequential mode's rule for an arm whose turn comes after the baseline: the ``skipped``
    outcome when the baseline failed or the deadline has passed, else None (run it).
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

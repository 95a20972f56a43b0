"""The per-call procedure behind ``@interleaved``: decide -> run the arms -> merge -> record.

One pass per call. What the call learns accumulates in a :class:`_Call`; whatever happens, one
record is built from it and written exactly once, in a ``finally``. The decorated function (the
*handler*) is run through :meth:`_Call.run_handler`, which keeps its result or exception, so no
failure of the SDK can run it twice: a fail-open path serves the kept result, or runs the handler
now if it has not run yet. The handler's own exceptions (any ``BaseException``) reach the caller
unchanged, with their line written.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import math
import os
import random
import re
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from . import bucketing
from .allocation import Layer, allocate
from .clock import SYSTEM_CLOCK, Clock
from .config.providers import ConfigProvider, ConfigSnapshot, checked_snapshot, config_reader
from .config.settings import DEFAULTS
from .context import _LAST_RANKING_ID, _PIN
from .errors import RankerOutputError, StreamError
from .execution import ArmExecutor, ArmOutcome, ArmRun, call_arm, on_time, run_arms, skipped_in_turn
from .frames import merged_frame, ranking_ids
from .interleaving.api import interleave
from .observability.metrics import EmfMetrics
from .observability.record import (
    arm_entry,
    iso_utc,
    item_entries,
    ranking_record,
    single_arm_entries,
)
from .observability.sinks import JsonLineSink, Sink
from .reasons import STATUS_REASONS, FallbackReason
from .streaming import ArmStream, ServedAlone, StreamingArm, StreamingRanker, is_streaming

logger = logging.getLogger("interleave_sdk")

#: An arm name: what ``rankers`` keys, ``baseline``, ``mode`` and ``pinned()`` may name.
ARM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
INTERLEAVE = "INTERLEAVE"

#: An arm: a callable taking the decorated function's arguments, a streaming ranker (an object
#: with ``rank_stream``, or a generator function: interleave_sdk.streaming), or (for methods) the
#: name of a method on the same instance.
Ranker = Callable[..., Any] | StreamingRanker | str

#: A processor sees the finished record and returns it (changed or not), or ``None`` to drop it.
Processor = Callable[[dict[str, Any]], "dict[str, Any] | None"]

_HANDLER: Any = object()  # "serve the decorated function's answer"
_NOT_RUN, _RUNNING, _DONE = 0, 1, 2


def error_text(error: BaseException) -> str:
    """How an exception reads in a log line: its type, then its message."""
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:  # a __str__ that raises must not cost the line
        return f"{type(error).__name__}: <unprintable>"


def _handler_kwargs(call: _Call, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The handler's keyword arguments: with ``candidates`` once the shared stage delivered them."""
    return call.handler_kwargs if call.handler_kwargs is not None else kwargs


def _answer(call: _Call, served: Any) -> Any:
    """What the caller gets: the served object, else the handler's very result or exception."""
    if served is not _HANDLER:
        return served
    if call.handler_error is not None:
        raise call.handler_error
    return call.handler_value


@dataclasses.dataclass(frozen=True)
class Options:
    """The decorator's options, validated once at decoration (see ``decorator.interleaved``)."""

    rankers: Mapping[str, Ranker]
    baseline: str
    config: ConfigProvider
    user_key: str
    item_col: str
    k: int | None
    experiment: str
    sink: Sink
    executor: ArmExecutor
    clock: Clock
    id_factory: Callable[[], str] | None
    metrics: EmfMetrics | None
    processors: tuple[Processor, ...]
    candidates: Callable[..., Any] | str | None
    layer: Layer | None = None


class _Call:
    """What one call learns on its way; the record is built from it once, at the end."""

    __slots__ = (
        "bucket",
        "candidates",
        "error",
        "handler_error",
        "handler_kwargs",
        "handler_ms",
        "handler_state",
        "handler_value",
        "holdout",
        "ids",
        "in_sample",
        "items",
        "k",
        "merge_ms",
        "method",
        "method_detail",
        "mode",
        "outcomes",
        "pinned",
        "produced",
        "ranking_id",
        "reason",
        "seed",
        "served",
        "snapshot",
        "started",
        "streams",
        "t0",
        "top",
        "user",
        "wrapped",
    )  # fmt: skip

    def __init__(self, wrapped: Callable[..., Any], ranking_id: str, started: datetime, t0: float) -> None:
        self.wrapped = wrapped
        self.ranking_id = ranking_id
        self.started = started
        self.t0 = t0
        self.snapshot: ConfigSnapshot | None = None
        self.mode: str | None = None
        self.user: str | None = None
        self.bucket: float | None = None
        self.in_sample: bool | None = None
        self.holdout = False  # in sample, but in the measurement holdout: the baseline alone
        self.pinned: str | None = None
        self.served: str | None = None  # None: the handler's answer
        self.reason: FallbackReason | None = None
        self.error: str | None = None
        self.outcomes: dict[str, ArmOutcome] = {}
        self.ids: dict[str, list[Hashable]] = {}
        self.top: dict[str, list[Hashable]] | None = None
        self.method: str | None = None
        self.method_detail: Mapping[str, Any] | None = None
        self.seed: dict[str, Any] | None = None
        self.k: int | None = None
        self.items: list[dict[str, Any]] | None = None
        self.merge_ms: float | None = None
        self.candidates: dict[str, Any] | None = None
        self.streams: dict[str, ArmStream] = {}  # streaming arms' pulled items, by arm
        self.handler_kwargs: dict[str, Any] | None = None  # kwargs with candidates, once fetched
        self.handler_state = _NOT_RUN
        self.handler_value: Any = None
        self.handler_error: BaseException | None = None
        self.handler_ms: float | None = None
        #: Items pulled per streaming arm, filled by the arm-running step when it streams.
        self.produced: dict[str, int] = {}

    def fall_back(self, reason: FallbackReason, error: BaseException | str) -> None:
        """Note why the handler's answer is served. Callers return right after: one reason a call."""
        self.reason = reason
        self.error = error if isinstance(error, str) else error_text(error)

    def run_handler(self, *args: Any, **kwargs: Any) -> Any:
        """Run the decorated function, keeping its result or exception (then re-raised as is)."""
        self.handler_state = _RUNNING
        try:
            value = self.wrapped(*args, **kwargs)
        except BaseException as exc:
            self._kept_error(exc)
            raise
        return self._kept(value)

    async def run_handler_async(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`run_handler` for an ``async def`` handler."""
        self.handler_state = _RUNNING
        try:
            value = await self.wrapped(*args, **kwargs)
        except BaseException as exc:
            self._kept_error(exc)
            raise
        return self._kept(value)

    def _kept(self, value: Any) -> Any:
        self.handler_value = value
        self.handler_state = _DONE
        return value

    def _kept_error(self, error: BaseException) -> None:
        self.handler_error = error
        self.handler_state = _DONE


class Engine:
    """The engine behind one decorated function: its options, and the per-call procedure."""

    def __init__(
        self,
        options: Options,
        *,
        method_like: bool,
        user_index: int | None,
        user_default: Any,
    ) -> None:
        self.options = options
        self.baseline = options.baseline
        rankers = dict(options.rankers)
        baseline_ranker = rankers.pop(options.baseline, None)
        #: The baseline arm inside interleaved requests when it is not the decorated function.
        self.baseline_ranker = baseline_ranker
        self.others: dict[str, Ranker] = dict(sorted(rankers.items()))
        self.arms: tuple[str, ...] = tuple(sorted({options.baseline, *self.others}))
        self.config = options.config
        self._read_config = config_reader(options.config)  # get_for(user) when it targets users
        self.item_col = options.item_col
        self.k = options.k
        self.experiment = options.experiment
        self.sink = options.sink
        self.executor = options.executor
        self.clock = options.clock
        self.id_factory = options.id_factory
        self.metrics = options.metrics
        self.processors = options.processors
        #: Records may share their small ``ranks`` maps only when nothing but the SDK's own line
        #: writer sees them: a user's sink or processor may keep or change what it is given.
        self._share_ranks = not self.processors and type(self.sink) is JsonLineSink
        self.candidate_stage = options.candidates
        #: Arms whose ranker streams (``rank_stream`` or a generator function; streaming.py).
        self.streaming = frozenset(arm for arm, r in options.rankers.items() if is_streaming(r))
        self.user_key = options.user_key
        self.layer = options.layer
        self._method_like = method_like
        self._user_index = user_index
        self._user_default = user_default

    # -- the procedure ------------------------------------------------------------------------

    def __call__(
        self,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        call = self._begin(wrapped)
        try:
            try:
                served = self._serve(call, instance, args, kwargs)
            except Exception as exc:
                served = self._internal_error(call, exc)
            if served is _HANDLER and call.handler_state == _NOT_RUN:
                self._time_handler(call, args, _handler_kwargs(call, kwargs))
            return _answer(call, served)
        finally:
            self._record(call)

    async def call_async(
        self,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """The same procedure for an ``async def`` handler: arms awaited concurrently."""
        call = self._begin(wrapped)
        try:
            try:
                served = await self._serve_async(call, instance, args, kwargs)
            except Exception as exc:
                served = self._internal_error(call, exc)
            if served is _HANDLER and call.handler_state == _NOT_RUN:
                await self._time_handler_async(call, args, _handler_kwargs(call, kwargs))
            return _answer(call, served)
        finally:
            self._record(call)

    def _internal_error(self, call: _Call, exc: Exception) -> Any:
        """A defect of ours: logged, never the caller's problem; the handler's answer is served."""
        logger.exception("interleave-sdk: internal error, serving the decorated function")
        call.served = None
        call.fall_back("internal_error", exc)
        return _HANDLER

    async def _serve_async(
        self, call: _Call, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        arms = self._decide(call, instance, args, kwargs)
        if self._wants_candidates(call):
            stage = self._callable("candidates", self.candidate_stage, instance)  # type: ignore[arg-type]
            outcome = await _acall("candidates", stage, args, kwargs, self.clock, contain=True)
            with_candidates = self._with_candidates(call, outcome, kwargs, interleaving=len(arms) > 1)
            if with_candidates is None:
                return _HANDLER
            kwargs = call.handler_kwargs = with_candidates
        if not arms or call.reason is not None:
            return _HANDLER
        if len(arms) == 1:
            fn = self._callable(arms[0], self.others[arms[0]], instance, alone=True)
            return self._single(call, await _acall(arms[0], fn, args, kwargs, self.clock, contain=True))
        assert call.snapshot is not None
        settings = call.snapshot.settings
        deadline = call.t0 + settings.timeout_ms / 1e3
        run = await self._run_arms_async(call, instance, args, kwargs, deadline, settings.parallel_enabled)
        return self._interleaved(call, run)

    async def _run_arms_async(
        self,
        call: _Call,
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deadline: float,
        parallel: bool,
    ) -> ArmRun:
        """Every arm once, as tasks; arms not done by the deadline are cancelled (``timeout``).

        Coroutine rankers are awaited on the event loop; plain callables run in a worker thread
        (``asyncio.to_thread``) so they never block the loop. Sequential mode awaits them in turn.
        """
        clock = self.clock
        if self.baseline_ranker is None:
            baseline_fn: Callable[..., Any] = call.run_handler_async
            contain = False
        else:
            baseline_fn = self._callable(self.baseline, self.baseline_ranker, instance)
            contain = True
        others = [(arm, self._callable(arm, ranker, instance)) for arm, ranker in self.others.items()]
        results: dict[str, ArmOutcome] = {}
        if not parallel:
            base = await _acall(self.baseline, baseline_fn, args, kwargs, clock, contain=contain)
            for arm, fn in others:
                skipped = skipped_in_turn(arm, base, deadline, clock)
                results[arm] = skipped or on_time(
                    await _acall(arm, fn, args, kwargs, clock, contain=True), deadline
                )
            return ArmRun(base, results)
        tasks = {
            arm: asyncio.ensure_future(_acall(arm, fn, args, kwargs, clock, contain=True))
            for arm, fn in others
        }
        try:
            base = await _acall(self.baseline, baseline_fn, args, kwargs, clock, contain=contain)
            if base.ok:
                await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - clock.monotonic()))
        finally:
            for task in tasks.values():
                if not task.done():
                    task.cancel()  # unlike a thread, a late coroutine can be stopped
        for arm, task in tasks.items():
            if not base.ok:
                results[arm] = ArmOutcome(arm, "skipped", reason="baseline_failed")
            elif task.done() and not task.cancelled():
                results[arm] = on_time(task.result(), deadline)
            else:
                results[arm] = ArmOutcome(arm, "timeout")
        return ArmRun(base, results)

    def _serve(self, call: _Call, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Decide, run, merge: the served object, or ``_HANDLER`` for the decorated function's."""
        arms = self._decide(call, instance, args, kwargs)
        if self._wants_candidates(call):
            stage = self._callable("candidates", self.candidate_stage, instance)  # type: ignore[arg-type]
            outcome = call_arm("candidates", stage, args, kwargs, self.clock, contain_base_exceptions=True)
            with_candidates = self._with_candidates(call, outcome, kwargs, interleaving=len(arms) > 1)
            if with_candidates is None:
                return _HANDLER
            kwargs = call.handler_kwargs = with_candidates
        if not arms or call.reason is not None:
            return _HANDLER
        if len(arms) == 1:
            fn = self._callable(arms[0], self.others[arms[0]], instance, alone=True)
            return self._single(
                call, call_arm(arms[0], fn, args, kwargs, self.clock, contain_base_exceptions=True)
            )
        assert call.snapshot is not None
        settings = call.snapshot.settings
        deadline = call.t0 + settings.timeout_ms / 1e3
        return self._interleaved(
            call, self._run_arms(call, instance, args, kwargs, deadline, settings.parallel_enabled)
        )

    def _decide(
        self, call: _Call, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[str, ...]:
        """Which arms serve this call: () for the decorated function, one arm, or all of them.

        Precedence (docs/concepts.md): config unreadable; the kill switch (mode == baseline)
        over every pin; a pin; mode naming one arm; INTERLEAVE by the sampling hash.
        """
        try:
            user: str | None = bucketing.user_key(self._user_id(args, kwargs, instance))
            user_error: Exception | None = None
        except Exception as exc:  # reported after the config, which takes precedence
            user, user_error = None, exc
        try:
            snapshot = checked_snapshot(self._read_config(user))
        except Exception as exc:
            call.snapshot = ConfigSnapshot(DEFAULTS.replace(mode=self.baseline), "error")
            call.mode = self.baseline
            call.fall_back("config_error", exc)
            logger.warning(
                "interleave-sdk: config unavailable, serving the decorated function: %s", call.error
            )
            return ()
        call.snapshot = snapshot
        settings = snapshot.settings
        mode = call.mode = settings.mode
        if user_error is not None:
            call.fall_back("bucketing_error", user_error)
            return ()
        call.user = user
        pin = _PIN.get()
        if pin is not None:  # logged even when the kill switch overrides it
            call.pinned = pin[:64] if isinstance(pin, str) else repr(pin)[:64]
        if mode == self.baseline:  # the kill switch overrides every pin
            return ()
        if pin is not None:
            return self._pinned(call, pin)
        if mode != INTERLEAVE:
            if mode in self.others:
                return (mode,)
            call.fall_back(
                "unknown_arm", f"mode {mode!r} names no arm of this decorator (arms: {', '.join(self.arms)})"
            )
            return ()
        key = call.user if call.user is not None else call.ranking_id  # anonymous: per request
        try:
            allocation = allocate(self.experiment, key, settings, self.layer)
        except Exception as exc:  # e.g. a user id with a lone surrogate cannot be encoded
            call.fall_back("bucketing_error", exc)
            return ()
        call.bucket, call.in_sample = allocation.bucket, allocation.in_sample
        call.holdout = allocation.holdout
        return self.arms if allocation.interleaved else ()

    def _pinned(self, call: _Call, pin: object) -> tuple[str, ...]:
        if pin == self.baseline:
            return ()
        if isinstance(pin, str) and pin in self.others:
            return (pin,)
        call.fall_back(
            "invalid_pin",
            f"pinned to {call.pinned!r}, which names no arm of this decorator (arms: {', '.join(self.arms)})",
        )
        return ()

    def _wants_candidates(self, call: _Call) -> bool:
        """The shared stage runs on every call whose config was read and user found."""
        return self.candidate_stage is not None and call.reason is None

    def _with_candidates(
        self, call: _Call, outcome: ArmOutcome, kwargs: dict[str, Any], *, interleaving: bool
    ) -> dict[str, Any] | None:
        """The call's kwargs plus ``candidates``, or None (the stage failed or, interleaving, was late)."""
        latency = None if outcome.latency_ms is None else round(outcome.latency_ms, 3)
        if not outcome.ok:
            text = error_text(outcome.error) if outcome.error is not None else "failed"
            call.candidates = {"status": "error", "latency_ms": latency, "error": text}
            call.fall_back("candidates_error", text)
            return None
        assert call.snapshot is not None
        timeout_ms = call.snapshot.settings.timeout_ms
        if interleaving and outcome.finished is not None and outcome.finished > call.t0 + timeout_ms / 1e3:
            text = f"the candidate stage finished after the {timeout_ms:g} ms deadline"
            call.candidates = {"status": "timeout", "latency_ms": latency, "error": text}
            call.fall_back("candidates_timeout", text)
            return None
        call.candidates = {"status": "ok", "latency_ms": latency, "error": None}
        return {**kwargs, "candidates": outcome.value}

    def _single(self, call: _Call, outcome: ArmOutcome) -> Any:
        """One non-baseline arm alone (mode or pin naming it); its failure serves the handler."""
        arm = outcome.arm
        if isinstance(outcome.value, ArmStream):  # no rank_full: the first k items, as a frame
            call.streams[arm] = outcome.value
            outcome.value.close()
            outcome = dataclasses.replace(outcome, value=outcome.value.frame())
        outcome = call.outcomes[arm] = self._validated(outcome, call)
        if not outcome.ok:
            call.fall_back(STATUS_REASONS.get(outcome.status, "arm_error"), outcome.error or "failed")
            return _HANDLER
        call.served = arm
        call.items = single_arm_entries(call.ids[arm], arm, shared_ranks=self._share_ranks)
        return outcome.value

    def _interleaved(self, call: _Call, run: ArmRun) -> Any:
        """Check every arm's outcome, then merge; any unusable arm serves the handler."""
        assert call.snapshot is not None
        settings = call.snapshot.settings
        base = _stream_status(run.baseline)
        call.outcomes[self.baseline] = base
        call.outcomes.update(run.others)
        if not base.ok:
            if self.baseline_ranker is not None:  # a distinct baseline arm failed: the handler serves
                call.fall_back(
                    STATUS_REASONS.get(base.status, "arm_error"), base.error or "failed"
                )
            return _HANDLER  # else the handler itself raised: its exception, kept, is re-raised
        base = call.outcomes[self.baseline] = self._validated(base, call)
        if not base.ok:
            reason: FallbackReason = "baseline_invalid" if self.baseline_ranker is None else "invalid_output"
            call.fall_back(reason, base.error or "invalid")
            return _HANDLER
        failed: tuple[FallbackReason, BaseException | str] | None = None
        for arm, outcome in run.others.items():
            outcome = call.outcomes[arm] = self._validated(outcome, call)
            if not outcome.ok and failed is None:
                failed = self._arm_failure(outcome, settings.timeout_ms)
        if failed is not None:
            call.fall_back(*failed)
            return _HANDLER

        clock = self.clock
        t_merge = clock.monotonic()
        for stream in call.streams.values():  # lazy pulls past the pre-pulled part stop here
            stream.deadline = call.t0 + settings.timeout_ms / 1e3
        try:
            merged = self._merge(call, settings.interleave_method, settings.seed_strategy)
        except StreamError as exc:  # a stream failed while the method pulled: drop the merge whole
            failed_arm = call.outcomes[exc.arm]
            status = {"invalid_output": "invalid", "timeout": "timeout"}.get(exc.reason, "error")
            call.outcomes[exc.arm] = dataclasses.replace(failed_arm, status=status, error=exc)
            call.fall_back(STATUS_REASONS.get(status, "arm_error"), exc)
            return _HANDLER
        except Exception as exc:
            call.fall_back("merge_error", exc)
            return _HANDLER
        finally:
            for stream in call.streams.values():
                stream.close()
        call.merge_ms = (clock.monotonic() - t_merge) * 1e3
        call.served = "interleaved"
        return merged

    def _run_arms(
        self,
        call: _Call,
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deadline: float,
        parallel: bool,
    ) -> ArmRun:
        """Every arm once: the one step a streaming adapter wraps (docs/concepts.md)."""
        if self.baseline_ranker is None:
            baseline_fn: Callable[..., Any] = call.run_handler
        else:
            baseline_fn = self._callable(self.baseline, self.baseline_ranker, instance, alone=False)
        others = [(arm, self._callable(arm, r, instance, alone=False)) for arm, r in self.others.items()]
        return run_arms(
            self.executor, parallel, deadline, self.clock, (self.baseline, baseline_fn), others, args, kwargs,
            contain_baseline=self.baseline_ranker is not None,  # a distinct baseline is an arm like any other
        )  # fmt: skip

    def _merge(self, call: _Call, method: str, seed_strategy: str) -> pd.DataFrame:
        """Draw the interleaving and build the merged frame; the call is updated only on success."""
        ids = call.ids
        k = self.k if self.k is not None else len(ids[self.baseline])
        strategy, seed = bucketing.seed_for(seed_strategy, self.experiment, call.user, call.ranking_id)
        # Arms in name order: the draw (and its replay from the log) must not depend on which arm
        # is the baseline.
        ordered = {arm: ids[arm] for arm in self.arms}
        result = interleave(method, ordered, k, random.Random(seed))
        if call.streams:  # a streaming arm's ids are what it pulled (never iterated whole)
            ordered = {arm: call.streams[arm].ids if arm in call.streams else ids[arm] for arm in self.arms}
        positions = {arm: {item: i for i, item in enumerate(arm_ids)} for arm, arm_ids in ordered.items()}
        picks = [(team, positions[team][item]) for item, team in zip(result.items, result.teams, strict=True)]
        # Baseline first: the merged frame keeps the baseline's column order.
        frames: dict[str, pd.DataFrame] = {}
        for arm in (self.baseline, *self.others):
            stream = call.streams.get(arm)
            frames[arm] = stream.frame() if stream is not None else call.outcomes[arm].value
        merged = merged_frame(frames, picks)
        merged.attrs = {**frames[self.baseline].attrs, "ranking_id": call.ranking_id}
        call.items = item_entries(result.items, result.teams, positions)
        call.method = result.method
        call.method_detail = result.detail
        call.seed = {"strategy": strategy, "value": seed}
        call.k = k
        call.top = {arm: arm_ids[:k] for arm, arm_ids in ordered.items()}
        return merged

    # -- steps' helpers -----------------------------------------------------------------------

    def _begin(self, wrapped: Callable[..., Any]) -> _Call:
        clock = self.clock
        t0 = clock.monotonic()
        started = clock.now()
        ranking_id = _new_id() if self.id_factory is None else _checked_id(self.id_factory)
        _LAST_RANKING_ID.set(ranking_id)
        return _Call(wrapped, ranking_id, started, t0)

    def _time_handler(self, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Run the handler alone (every path but interleaving), keeping its latency."""
        start = self.clock.monotonic()
        try:
            call.run_handler(*args, **kwargs)
        except BaseException:  # kept on the call; the caller re-raises the very object
            pass
        finally:
            call.handler_ms = (self.clock.monotonic() - start) * 1e3

    async def _time_handler_async(self, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """:meth:`_time_handler` for an ``async def`` handler."""
        start = self.clock.monotonic()
        try:
            await call.run_handler_async(*args, **kwargs)
        except BaseException:  # kept on the call; the caller re-raises the very object
            pass
        finally:
            call.handler_ms = (self.clock.monotonic() - start) * 1e3

    def _validated(self, outcome: ArmOutcome, call: _Call) -> ArmOutcome:
        """The outcome, turned ``invalid`` when its value is not a usable ranking; keeps the ids."""
        outcome = _stream_status(outcome)
        if not outcome.ok:
            return outcome
        if isinstance(outcome.value, ArmStream):  # validated item by item as it is pulled
            call.streams[outcome.arm] = outcome.value
            call.ids[outcome.arm] = outcome.value.ranking()  # type: ignore[assignment]
            return outcome
        try:
            call.ids[outcome.arm] = ranking_ids(outcome.arm, outcome.value, self.item_col)
        except RankerOutputError as exc:
            return dataclasses.replace(outcome, status="invalid", error=exc)
        return outcome

    def _arm_failure(
        self, outcome: ArmOutcome, timeout_ms: float
    ) -> tuple[FallbackReason, BaseException | str]:
        arm = outcome.arm
        if outcome.status == "skipped":
            if outcome.reason == "pool_saturated":
                return (
                    "pool_saturated",
                    f"all worker threads are busy with late work; ranker {arm!r} was not started",
                )
            if outcome.reason == "budget_exhausted":
                return (
                    "budget_exhausted",
                    f"the {timeout_ms:g} ms deadline passed before ranker {arm!r} could start",
                )
            return "arm_error", f"ranker {arm!r} was skipped ({outcome.reason})"
        if outcome.status == "timeout":
            return "timeout", f"ranker {arm!r} did not finish within the {timeout_ms:g} ms deadline"
        return STATUS_REASONS.get(outcome.status, "arm_error"), outcome.error or f"ranker {arm!r} failed"

    def _callable(
        self, arm: str, ranker: Ranker, instance: Any, *, alone: bool = False
    ) -> Callable[..., Any]:
        if arm in self.streaming and ranker is not self.candidate_stage:
            assert self.k is not None  # refused at decoration otherwise
            if alone:
                return ServedAlone(arm, ranker, self.item_col, self.k, self.clock)
            return StreamingArm(arm, ranker, self.item_col, self.k, self.clock)
        if not isinstance(ranker, str):
            assert callable(ranker)  # a non-callable streaming ranker took the branch above
            return ranker
        if instance is None:
            raise_missing: Callable[..., Any] = _MissingInstance(arm, ranker)
            return raise_missing
        method = getattr(instance, ranker, None)
        if method is None or not callable(method):
            return _MissingMethod(arm, ranker, instance)
        return method  # type: ignore[no-any-return]

    def _user_id(self, args: tuple[Any, ...], kwargs: dict[str, Any], instance: Any) -> Any:
        """The user id, read as binding the call would: keyword, position, or the default.

        The position is the parameter's index in the signature, less one for a method called on
        an instance or class (wrapt passes ``self``/``cls`` apart from ``args``).
        """
        if self.user_key in kwargs:
            return kwargs[self.user_key]
        index = self._user_index
        if index is not None:
            if self._method_like and instance is not None:
                index -= 1
            if index < len(args):
                return args[index]
        return self._user_default

    # -- the record ---------------------------------------------------------------------------

    def _record(self, call: _Call) -> None:
        """Write the call's one line; runs in a ``finally``, so nothing may escape from here."""
        try:
            self._write(call)
        except Exception:  # the last guard: the caller's answer (or exception) stands
            logger.exception("interleave-sdk: the ranking line of %s could not be written", call.ranking_id)

    def _write(self, call: _Call) -> None:
        """Build the one record of this call and hand it through the processors to the sink."""
        try:
            record = self._build(call)
        except Exception as exc:  # never lose the line: a minimal one says what broke
            logger.exception("interleave-sdk: could not build the ranking record")
            record = _minimal_record(call, self, exc)
        if self.metrics is not None:
            try:
                record.update(self.metrics(record, call.started))
            except Exception as exc:  # metrics are a convenience; the record goes out without
                logger.warning("interleave-sdk: EMF metrics failed: %r", exc)
        for processor in self.processors:
            try:
                out = processor(record)
            except Exception as exc:
                record.setdefault("processor_errors", []).append(f"{_name(processor)}: {error_text(exc)}")
                continue
            if out is None:
                return  # the user's explicit choice: this line is dropped
            if not isinstance(out, dict):
                record.setdefault("processor_errors", []).append(
                    f"{_name(processor)}: returned {type(out).__name__}, expected a dict or None"
                )
                continue
            record = out
        try:
            self.sink(record)
        except Exception as exc:  # logging must never cost the caller its answer
            logger.warning("interleave-sdk: log sink failed for ranking %s: %r", call.ranking_id, exc)

    def _build(self, call: _Call) -> dict[str, Any]:
        """The record, from what the call learned; the one place the reason is finalised."""
        reason, error = call.reason, call.error
        served = call.served
        if served is None:
            served = self.baseline
            if call.handler_error is not None:  # the caller gets the handler's exception
                prior = f" (after {reason}: {error})" if reason is not None else ""
                reason, error = "baseline_error", error_text(call.handler_error) + prior
            elif call.holdout and reason is None:
                served = "holdout"
        snapshot = call.snapshot
        settings = snapshot.settings if snapshot is not None else None
        arms = {arm: self._arm_entry(call, arm, outcome) for arm, outcome in call.outcomes.items()}
        items = call.items
        if items is None and call.served is None:
            items = self._handler_items(call)
        if call.served is None and self.baseline not in arms and call.handler_state == _DONE:
            arms[self.baseline] = arm_entry(
                "error" if call.handler_error is not None else "ok",
                latency_ms=call.handler_ms,
                rows=_rows(call.handler_value),
                error=None if call.handler_error is None else error_text(call.handler_error),
            )
        clock = self.clock
        return ranking_record(
            ranking_id=call.ranking_id,
            ts=iso_utc(call.started),
            experiment=self.experiment,
            user_id=call.user,
            mode=call.mode if call.mode is not None else self.baseline,
            served=served,
            in_sample=call.in_sample,
            bucket=call.bucket,
            sampling_rate=settings.sampling_rate if settings is not None else None,
            pinned=call.pinned,
            method=call.method,
            method_requested=settings.interleave_method if call.method is not None and settings else None,
            method_detail=call.method_detail,
            seed=call.seed,
            k=call.k,
            config=_config_entry(snapshot),
            candidates=call.candidates,
            arms=arms,
            fallback_reason=reason,
            error=error,
            items=items if items is not None else [],
            total_ms=round(max(0.0, (clock.monotonic() - call.t0) * 1e3), 3),
            merge_ms=None if call.merge_ms is None else round(call.merge_ms, 3),
            layer=None if self.layer is None else self.layer.name,
        )

    def _arm_entry(self, call: _Call, arm: str, outcome: ArmOutcome) -> dict[str, Any]:
        top = call.top.get(arm) if call.top is not None else None
        return arm_entry(
            outcome.status,  # type: ignore[arg-type]
            latency_ms=outcome.latency_ms,
            rows=_rows(outcome.value),
            error=None if outcome.error is None else error_text(outcome.error),
            top=top,
            produced=_produced(call, arm, outcome),
        )

    def _handler_items(self, call: _Call) -> list[dict[str, Any]]:
        """The handler's served list as items (its ids, canonical); [] when it has none."""
        if call.handler_state != _DONE or call.handler_error is not None:
            return []
        ids = call.ids.get(self.baseline)
        if ids is None or self.baseline_ranker is not None:
            value = call.handler_value
            if not isinstance(value, pd.DataFrame):
                return []
            try:
                ids = ranking_ids(self.baseline, value, self.item_col)
            except RankerOutputError:
                return []
        return single_arm_entries(ids, self.baseline, shared_ranks=self._share_ranks)


async def _acall(
    arm: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    clock: Clock,
    *,
    contain: bool,
) -> ArmOutcome:
    """:func:`execution.call_arm` for the event loop: await a coroutine, thread a plain callable.

    ``contain``: a ``BaseException`` becomes the arm's error (every arm but the handler);
    cancellation of the caller's task always propagates.
    """
    start = clock.monotonic()
    try:
        if inspect.iscoroutinefunction(fn):
            value = await fn(*args, **kwargs)
        else:
            value = await asyncio.to_thread(fn, *args, **kwargs)
            if inspect.isawaitable(value):  # an object whose __call__ is async
                value = await value
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # an arm's failure is data; the handler's BaseException is not
        if not (contain or isinstance(exc, Exception)):
            raise
        end = clock.monotonic()
        return ArmOutcome(arm, "error", error=exc, latency_ms=(end - start) * 1e3, finished=end)
    end = clock.monotonic()
    return ArmOutcome(arm, "ok", value=value, latency_ms=(end - start) * 1e3, finished=end)


class _MissingInstance:
    def __init__(self, arm: str, name: str) -> None:
        self.arm, self.name = arm, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"ranker {self.arm!r} is the method name {self.name!r} but the call has no instance")


class _MissingMethod:
    def __init__(self, arm: str, name: str, instance: Any) -> None:
        self.arm, self.name, self.owner = arm, name, type(instance).__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(f"ranker {self.arm!r}: {self.owner} has no method {self.name!r}")


def _stream_status(outcome: ArmOutcome) -> ArmOutcome:
    """A stream that yielded junk is ``invalid`` (like a bad full list), not an ``error``."""
    if isinstance(outcome.error, StreamError) and outcome.error.reason == "invalid_output":
        return dataclasses.replace(outcome, status="invalid")
    return outcome


def _produced(call: _Call, arm: str, outcome: ArmOutcome) -> int | None:
    """Items a streaming arm yielded (also when it failed midway); None for a full arm."""
    stream = call.streams.get(arm)
    if stream is not None:
        return stream.produced
    error = outcome.error
    if isinstance(error, StreamError):
        return error.produced
    return call.produced.get(arm)


def _rows(value: object) -> int | None:
    return len(value) if isinstance(value, pd.DataFrame) else None


def _config_entry(snapshot: ConfigSnapshot | None) -> dict[str, Any]:
    if snapshot is None:
        return {"source": "error", "version": None, "age_ms": None}
    age = snapshot.age_s
    age_ms = (
        round(age * 1e3, 3) if isinstance(age, (int, float)) and math.isfinite(age) and age >= 0 else None
    )
    return {"source": snapshot.source, "version": snapshot.version, "age_ms": age_ms}


def _new_id() -> str:
    """A random (version 4) UUID as 32 hex digits, as ``uuid.uuid4().hex`` writes it.

    Built from the bytes directly: ``uuid.UUID`` validates and converts through an int, a third
    of this step's cost on every call.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw.hex()


def _checked_id(factory: Callable[[], str]) -> str:
    """The factory's id, or a fresh uuid when it fails or returns no usable text (logged)."""
    try:
        value = factory()
    except Exception as exc:
        logger.warning("interleave-sdk: id_factory failed, using a uuid: %r", exc)
        return _new_id()
    if type(value) is not str or not value:
        logger.warning("interleave-sdk: id_factory returned %r, using a uuid", value)
        return _new_id()
    return value


def _name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _minimal_record(call: _Call, engine: Engine, exc: BaseException) -> dict[str, Any]:
    """A schema-valid line from fields that cannot fail, when building the full one did."""
    try:
        ts = iso_utc(call.started)
    except Exception:
        ts = iso_utc(datetime.now(timezone.utc))
    served = call.served if call.served is not None else engine.baseline
    reason: FallbackReason = call.reason or "internal_error"
    if call.served is None and call.handler_error is not None:
        reason = "baseline_error"
    return ranking_record(
        ranking_id=call.ranking_id,
        ts=ts,
        experiment=engine.experiment,
        user_id=call.user if isinstance(call.user, str) else None,
        mode=call.mode if isinstance(call.mode, str) else engine.baseline,
        served=served,
        fallback_reason=reason,
        error=f"the record could not be built: {error_text(exc)}",
        config={"source": "error", "version": None, "age_ms": None},
    )


class GuardedClock:
    """A user-supplied clock that cannot fail a request: a failing or NaN reading repeats the last.

    Deadlines and latencies then read a little wrong for the request that met the fault, instead of
    the fault reaching the caller or costing the line (issue: a clock failing after the handler).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last = 0.0

    def monotonic(self) -> float:
        try:
            value = float(self._clock.monotonic())
        except Exception:
            return self._last
        if not math.isfinite(value):
            return self._last
        self._last = value
        return value

    def now(self) -> datetime:
        try:
            moment = self._clock.now()
            if isinstance(moment, datetime) and moment.tzinfo is not None:
                return moment
        except Exception:
            pass
        return datetime.now(timezone.utc)


def default_clock(clock: Clock | None) -> Clock:
    return SYSTEM_CLOCK if clock is None else GuardedClock(clock)

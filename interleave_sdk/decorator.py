"""``@interleaved``: serve A, B or a Team Draft of both, decided per request, failing open.

The decorated function itself serves the baseline arm, which is what makes fail-open exact: any
failure of the SDK hands the caller the very object the undecorated function returned. The other
arm's callable comes from ``rankers``. Per call: read the config, decide by a stable hash whether to
interleave, run the arms (concurrently when enabled), merge, write one log record, return.
"""

from __future__ import annotations

import inspect
import logging
import random
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

import pandas as pd
import wrapt

from . import bucketing
from ._version import __version__
from .clock import SYSTEM_CLOCK, Clock
from .config.providers import ConfigProvider, ConfigSnapshot, checked_snapshot
from .config.settings import DEFAULTS, Settings
from .config.ssm import SSMConfig
from .errors import RankerOutputError
from .execution import ArmExecutor, ArmOutcome, call_arm, run_arms
from .frames import merged_frame, ranking_ids
from .interleaving.api import interleave
from .observability.metrics import EmfMetrics
from .observability.record import (
    SCHEMA_VERSION,
    iso_utc,
    item_entries,
    json_ids,
    single_arm_entries,
)
from .observability.sinks import JsonLineSink, Sink

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("interleave_sdk")

#: An arm is a callable taking the decorated function's arguments, or (for methods) the name of a
#: method on the same instance.
Ranker = Callable[..., Any] | str


@dataclass
class _State:
    """What survives an internal error: the baseline outcome, so it is never computed twice."""

    baseline: ArmOutcome | None = None
    baseline_raised: bool = False


@dataclass
class _Request:
    """Everything one call learns on its way; becomes the log record."""

    ranking_id: str
    started: Any
    t0: float
    snapshot: ConfigSnapshot
    user: str | None = None
    in_sample: bool | None = None
    bucket: float | None = None
    method: str | None = None
    seed: dict[str, Any] | None = None
    k: int | None = None
    served: str = "A"
    reason: str | None = None
    error: str | None = None
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    merge_ms: float | None = None

    def fail(self, reason: str, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else _error_text(error)
        if reason == "baseline_error" and self.reason is not None:
            # The caller gets the baseline's exception, so that is the outcome to report; the
            # failure that led to computing the baseline stays in the message.
            self.reason, self.error = reason, f"{text} (after {self.reason}: {self.error})"
        elif self.reason is None:  # otherwise the first failure decided the outcome
            self.reason, self.error = reason, text


class Interleaver:
    """The engine behind one decorated function: options, executor and the per-call procedure."""

    def __init__(
        self,
        rankers: Mapping[str, Ranker],
        *,
        config: ConfigProvider | None = None,
        user_key: str = "user_id",
        item_col: str = "item_id",
        k: int | None = None,
        baseline: str = "A",
        experiment: str = "default",
        sink: Sink | None = None,
        executor: ArmExecutor | None = None,
        clock: Clock | None = None,
        id_factory: Callable[[], str] | None = None,
        metrics: EmfMetrics | bool = True,
    ) -> None:
        if not isinstance(rankers, Mapping) or not set(rankers) <= {"A", "B"}:
            raise TypeError(
                "rankers must be a mapping with the arms 'A' and 'B' "
                f"(the baseline's entry may be omitted), got {rankers!r}"
            )
        if baseline not in ("A", "B"):
            raise ValueError(f"baseline must be 'A' or 'B', got {baseline!r}")
        self.baseline = baseline
        self.other = "B" if baseline == "A" else "A"
        if self.other not in rankers:
            raise TypeError(f"rankers needs an entry for the non-baseline arm {self.other!r}")
        for name, ranker in rankers.items():
            if not (callable(ranker) or isinstance(ranker, str)):
                raise TypeError(f"ranker {name!r} must be callable or a method name, got {ranker!r}")
        if k is not None and (not isinstance(k, int) or k < 1):
            raise ValueError(f"k must be a positive int or None, got {k!r}")
        self.rankers = dict(rankers)
        self.config: ConfigProvider = config if config is not None else SSMConfig()
        self.user_key = user_key
        self.item_col = item_col
        self.k = k
        self.experiment = experiment
        self.sink: Sink = sink if sink is not None else JsonLineSink()
        self.executor = executor if executor is not None else ArmExecutor()
        self.clock = clock if clock is not None else SYSTEM_CLOCK
        self.id_factory = id_factory if id_factory is not None else _uuid_hex
        self.metrics = EmfMetrics() if metrics is True else metrics or None
        self._signatures: dict[Any, inspect.Signature] = {}

    # -- the procedure ------------------------------------------------------------------------

    def __call__(
        self,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        state = _State()
        try:
            return self._call(state, wrapped, instance, args, kwargs)
        except Exception:
            if state.baseline_raised:  # the handler's own exception, unchanged
                raise
            # A bug of ours: never let it reach the handler. Serve the baseline, computing it only
            # if it has not been computed yet.
            logger.exception("interleave-sdk: internal error, serving the baseline")
            if state.baseline is not None and state.baseline.error is None:
                return state.baseline.value
            return wrapped(*args, **kwargs)

    def _call(
        self,
        state: _State,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        clock = self.clock
        req = self._start()
        settings = req.snapshot.settings
        mode = settings.mode
        try:
            req.user = bucketing.user_key(self._user_id(wrapped, args, kwargs))
            if mode == "INTERLEAVE":
                key = req.user if req.user is not None else req.ranking_id  # anonymous: per request
                req.bucket = bucketing.bucket(self.experiment, key)
                req.in_sample = req.bucket < settings.sampling_rate
        except Exception as exc:
            req.fail("bucketing_error", exc)
            mode, req.in_sample, req.bucket = self.baseline, None, None

        if mode == "INTERLEAVE" and req.in_sample:
            return self._interleave(state, req, settings, wrapped, instance, args, kwargs)
        if mode == self.other:
            outcome, other_ids = self._checked(
                call_arm(
                    self.other,
                    self._ranker(self.other, instance),
                    args,
                    kwargs,
                    clock,
                    contain_base_exceptions=True,
                )
            )
            self._record_arm(req, outcome)
            if other_ids is not None:
                return self._serve_single(req, self.other, outcome.value, other_ids)
            assert outcome.error is not None
            req.fail("arm_error" if outcome.status == "error" else "invalid_output", outcome.error)
        base = state.baseline = call_arm(self.baseline, wrapped, args, kwargs, clock)
        self._record_arm(req, base)
        if base.error is not None:
            req.fail("baseline_error", base.error)
            self._emit(req)
            state.baseline_raised = True
            raise base.error
        return self._serve_single(req, self.baseline, base.value)

    def _interleave(
        self,
        state: _State,
        req: _Request,
        settings: Settings,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        clock = self.clock
        deadline = req.t0 + settings.timeout_ms / 1e3
        run = run_arms(
            self.executor,
            settings.parallel_enabled,
            deadline,
            clock,
            (self.baseline, wrapped),
            [(self.other, self._ranker(self.other, instance))],
            args,
            kwargs,
        )
        base = state.baseline = run.baseline
        other = run.others[self.other]
        skipped_reason = other.reason

        if base.error is not None:  # the baseline's own exception reaches the caller unchanged
            self._record_arm(req, base)
            self._record_arm(req, other)
            req.fail("baseline_error", base.error)
            self._emit(req)
            state.baseline_raised = True
            raise base.error

        try:
            ids_base = ranking_ids(self.baseline, base.value, self.item_col)
        except RankerOutputError as exc:
            invalid = ArmOutcome(self.baseline, "invalid", base.value, exc, base.latency_ms)
            self._record_arm(req, invalid)
            self._record_arm(req, other)
            req.fail("baseline_invalid", exc)
            return self._serve_single(req, self.baseline, base.value)
        other, ids_other = self._checked(other)
        if ids_other is None:
            reason = {
                "error": "arm_error",
                "invalid": "invalid_output",
                "timeout": "timeout",
            }.get(other.status, skipped_reason or "arm_error")
            detail: BaseException | str = (
                other.error if other.error is not None else _why(reason, self.other, settings)
            )
            self._record_arm(req, base)
            self._record_arm(req, other)
            req.fail(reason, detail)
            return self._serve_single(req, self.baseline, base.value, ids_base)

        # Both arms are usable: draw the interleaving.
        t_merge = clock.monotonic()
        try:
            frames = {
                self.baseline: cast(pd.DataFrame, base.value),
                self.other: cast(pd.DataFrame, other.value),
            }
            k = self.k if self.k is not None else len(ids_base)
            strategy, seed = bucketing.seed_for(
                settings.seed_strategy, self.experiment, req.user, req.ranking_id
            )
            req.method, req.k, req.seed = (
                settings.interleave_method,
                k,
                {"strategy": strategy, "value": seed},
            )
            # Arms in name order: the draw (and its replay from the log) must not depend on which
            # arm is the baseline.
            ordered = dict(sorted({self.baseline: ids_base, self.other: ids_other}.items()))
            result = interleave(settings.interleave_method, ordered, k, random.Random(seed))
            positions = {arm: {item: i for i, item in enumerate(ids)} for arm, ids in ordered.items()}
            picks = [
                (team, positions[team][item]) for item, team in zip(result.items, result.teams, strict=True)
            ]
            merged = merged_frame(frames, picks)
            merged.attrs = {**frames[self.baseline].attrs, "ranking_id": req.ranking_id}
            req.items = item_entries(result.items, result.teams, positions)
            for outcome, ids in ((base, ids_base), (other, ids_other)):
                self._record_arm(req, outcome, top=json_ids(ids[:k]))
        except Exception as exc:
            req.items, req.method, req.k, req.seed = [], None, None, None
            req.arms.clear()
            self._record_arm(req, base)
            self._record_arm(req, other)
            req.fail("merge_error", exc)
            return self._serve_single(req, self.baseline, base.value, ids_base)
        req.merge_ms = (clock.monotonic() - t_merge) * 1e3
        req.served = "interleaved"
        self._emit(req)
        return merged

    # -- helpers ------------------------------------------------------------------------------

    def _start(self) -> _Request:
        clock = self.clock
        t0 = clock.monotonic()
        started = clock.now()
        ranking_id = self.id_factory()
        try:
            snapshot = checked_snapshot(self.config.get())
        except Exception as exc:
            req = _Request(
                ranking_id,
                started,
                t0,
                ConfigSnapshot(DEFAULTS.replace(mode=self.baseline), "error"),
            )
            req.fail("config_error", exc)
            logger.warning("interleave-sdk: config unavailable, serving baseline: %s", req.error)
            return req
        return _Request(ranking_id, started, t0, snapshot)

    def _serve_single(self, req: _Request, arm: str, value: Any, ids: list[Hashable] | None = None) -> Any:
        """Return one arm's result unchanged, tagged with the ranking id, and log it.

        ``ids``: the result's ids when the caller already validated them (no second read).
        """
        req.served = arm
        if isinstance(value, pd.DataFrame):
            try:
                # Read the ids before tagging: pandas deep-copies a frame's attrs into every
                # column it hands out, so an untagged frame is cheaper to read.
                if ids is None and self.item_col in value.columns:
                    ids = value[self.item_col].tolist()
                if ids is not None:
                    req.items = single_arm_entries(ids, arm)
            except Exception as exc:  # an odd frame must not break serving; note it and go on
                req.items = []
                logger.warning("interleave-sdk: could not describe the served list: %s", exc)
            try:
                value.attrs["ranking_id"] = req.ranking_id
            except Exception as exc:  # e.g. a DataFrame subclass with read-only attrs
                logger.warning("interleave-sdk: could not tag the result with its ranking_id: %s", exc)
        self._emit(req)
        return value

    def _checked(self, outcome: ArmOutcome) -> tuple[ArmOutcome, list[Hashable] | None]:
        """The outcome with its ids; an ``ok`` one that is not a usable ranking becomes ``invalid``."""
        if not outcome.ok:
            return outcome, None
        try:
            return outcome, ranking_ids(outcome.arm, outcome.value, self.item_col)
        except RankerOutputError as exc:
            invalid = ArmOutcome(outcome.arm, "invalid", outcome.value, exc, outcome.latency_ms)
            return invalid, None

    def _record_arm(self, req: _Request, outcome: ArmOutcome, top: list[Any] | None = None) -> None:
        value = outcome.value
        rows = len(value) if isinstance(value, pd.DataFrame) else None
        req.arms[outcome.arm] = {
            "status": outcome.status,
            "latency_ms": None if outcome.latency_ms is None else round(outcome.latency_ms, 3),
            "rows": rows,
            "error": None if outcome.error is None else _error_text(outcome.error),
            "top": top,
        }

    def _emit(self, req: _Request) -> None:
        clock = self.clock
        settings = req.snapshot.settings
        record = {
            "schema_version": SCHEMA_VERSION,
            "event": "ranking",
            "ts": iso_utc(req.started),
            "sdk_version": __version__,
            "ranking_id": req.ranking_id,
            "experiment": self.experiment,
            "user_id": req.user,
            "mode": settings.mode,
            "served": req.served,
            "in_sample": req.in_sample,
            "bucket": req.bucket,
            "sampling_rate": settings.sampling_rate,
            "method": req.method,
            "seed": req.seed,
            "k": req.k,
            "config": {
                "source": req.snapshot.source,
                "version": req.snapshot.version,
                "age_ms": round(req.snapshot.age_s * 1e3, 3),
            },
            "arms": req.arms,
            "fallback_reason": req.reason,
            "error": req.error,
            "items": req.items,
            "timings": {
                "total_ms": round((clock.monotonic() - req.t0) * 1e3, 3),
                "merge_ms": None if req.merge_ms is None else round(req.merge_ms, 3),
            },
        }
        if self.metrics is not None:
            try:
                record.update(self.metrics(record, req.started))
            except Exception as exc:  # metrics are a convenience; the record goes out without
                logger.warning("interleave-sdk: EMF metrics failed: %r", exc)
        try:
            self.sink(record)
        except Exception as exc:  # logging must never cost the caller its answer
            logger.warning("interleave-sdk: log sink failed for ranking %s: %r", req.ranking_id, exc)

    def _ranker(self, arm: str, instance: Any) -> Callable[..., Any]:
        ranker = self.rankers[arm]
        if not isinstance(ranker, str):
            return ranker

        def by_name(*args: Any, **kwargs: Any) -> Any:
            # Looked up when the arm runs, so a missing method is that arm's error, logged as such.
            if instance is None:
                raise TypeError(f"ranker {arm!r} is a method name but the call has no instance")
            return getattr(instance, ranker)(*args, **kwargs)

        return by_name

    def _user_id(self, wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The user id, found by binding the call to the signature (positional or keyword)."""
        if self.user_key in kwargs:
            return kwargs[self.user_key]
        key = getattr(wrapped, "__func__", wrapped), hasattr(wrapped, "__self__")
        signature = self._signatures.get(key)
        if signature is None:
            signature = inspect.signature(wrapped)
            self._signatures[key] = signature
        bound = signature.bind_partial(*args, **kwargs)
        if self.user_key in bound.arguments:
            return bound.arguments[self.user_key]
        parameter = signature.parameters.get(self.user_key)
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            return parameter.default
        return None


def _why(reason: str, arm: str, settings: Settings) -> str:
    if reason == "timeout":
        return f"ranker {arm!r} did not finish within the {settings.timeout_ms:g} ms deadline"
    if reason == "pool_saturated":
        return f"all worker threads are busy with late work; ranker {arm!r} was not started"
    if reason == "budget_exhausted":
        return f"the baseline used the whole {settings.timeout_ms:g} ms budget; {arm!r} skipped"
    return f"ranker {arm!r} failed"


def _error_text(error: BaseException) -> str:
    """How an exception reads in a log line: its type, then its message."""
    return f"{type(error).__name__}: {error}"


def _uuid_hex() -> str:
    return uuid.uuid4().hex


def interleaved(
    rankers: Mapping[str, Ranker],
    *,
    config: ConfigProvider | None = None,
    user_key: str = "user_id",
    item_col: str = "item_id",
    k: int | None = None,
    baseline: str = "A",
    experiment: str = "default",
    sink: Sink | None = None,
    executor: ArmExecutor | None = None,
    clock: Clock | None = None,
    id_factory: Callable[[], str] | None = None,
    metrics: EmfMetrics | bool = True,
    enabled: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Compare two rankers by interleaving inside the decorated function's requests.

    The decorated function is the baseline arm (``baseline="A"``); ``rankers[other]`` is called
    with the same arguments. See docs/quickstart.md for the options and docs/concepts.md for what
    happens per call. ``enabled=False`` returns the function undecorated. ``metrics`` adds
    CloudWatch EMF metrics to the log line (``EmfMetrics(namespace=...)``; False to leave out).
    """
    engine = Interleaver(
        rankers,
        config=config,
        user_key=user_key,
        item_col=item_col,
        k=k,
        baseline=baseline,
        experiment=experiment,
        sink=sink,
        executor=executor,
        clock=clock,
        id_factory=id_factory,
        metrics=metrics,
    )

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if not enabled:
            return func
        _check_user_key(func, user_key)

        @wrapt.decorator
        def wrapper(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            return engine(wrapped, instance, args, kwargs)

        decorated = cast(Callable[P, R], wrapper(func))
        return decorated

    return decorate


def _check_user_key(func: Callable[..., Any], user_key: str) -> None:
    target = getattr(func, "__func__", func)
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):  # builtins and the like: nothing to check
        return
    if user_key not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise TypeError(
            f"{getattr(target, '__qualname__', target)!r} has no parameter {user_key!r}; "
            f"pass user_key= naming the parameter that holds the user id"
        )

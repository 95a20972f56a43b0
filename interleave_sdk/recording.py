"""Recording: the call's one line, built from the procedure's values and passed down one chain.

:func:`fallback` is the one place the request's ``fallback_reason`` is decided. The record then
goes through the processor chain (EMF metrics first when on, then the user's processors), whose
last stage is the sink; structlog's shape. Nothing here may raise into the caller.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from .candidates import Candidates
from .config.providers import ConfigSnapshot
from .errors import RankerOutputError
from .execution import ArmOutcome
from .frames import ranking_ids
from .merging import Merge
from .observability.processors import Processor
from .observability.record import arm_entry, iso_utc, ranking_record, single_arm_entries
from .observability.sinks import Sink
from .options import error_text
from .reasons import FallbackReason
from .routing import Decision

logger = logging.getLogger("interleave_sdk")


@dataclass(frozen=True)
class Served:
    """Everything one call produced, as values: what the recorder reads and the caller gets.

    ``handler`` is the decorated function's run when it ran (as the baseline arm or to serve);
    ``internal`` a defect of the SDK met on the way; ``cancelled`` the caller's cancellation.
    """

    ranking_id: str
    started: datetime
    t0: float
    decision: Decision | None = None
    candidates: Candidates | None = None
    merge: Merge | None = None
    handler: ArmOutcome | None = None
    internal: BaseException | None = None
    cancelled: BaseException | None = None

    @property
    def by_handler(self) -> bool:
        """True when the caller gets the decorated function's answer."""
        return self.merge is None or self.merge.served is None

    def answer(self) -> Any:
        """What the caller gets: the served object, or the handler's very result or exception."""
        if self.cancelled is not None:
            raise self.cancelled
        if not self.by_handler:
            assert self.merge is not None
            return self.merge.value
        handler = self.handler
        assert handler is not None
        if handler.error is not None:
            raise handler.error
        return handler.value


def fallback(served: Served) -> tuple[FallbackReason | None, str | None]:
    """Why the call did not serve what its mode asked for: decided here and nowhere else."""
    reason: FallbackReason | None = None
    error: BaseException | str | None = None
    for step in (served.decision, served.candidates, served.merge):
        if step is not None and step.reason is not None:
            reason, error = step.reason, step.error
            break
    if served.internal is not None:
        reason, error = "internal_error", served.internal
    if served.cancelled is not None:
        reason, error = "cancelled", "the caller's task was cancelled before the call finished"
    text = error if error is None or isinstance(error, str) else error_text(error)
    handler = served.handler
    if served.by_handler and handler is not None and handler.error is not None:
        prior = f" (after {reason}: {text})" if reason is not None else ""
        return "baseline_error", error_text(handler.error) + prior
    return reason, text


class Recorder:
    """Builds and writes the lines of one decorated function."""

    def __init__(
        self,
        experiment: str,
        baseline: str,
        distinct_baseline: bool,
        item_col: str,
        stages: Sequence[Processor],
        sink: Sink,
        share_ranks: bool,
    ) -> None:
        self.experiment = experiment
        self.baseline = baseline
        self.distinct_baseline = distinct_baseline
        self.item_col = item_col
        self.stages = tuple(stages)
        self.sink = sink
        self.share_ranks = share_ranks

    def record(self, served: Served, total_ms: float) -> None:
        """Write the call's one line; runs in a ``finally``, so nothing may escape from here."""
        try:
            try:
                record = self.build(served, total_ms)
            except Exception as exc:  # never lose the line: a minimal one says what broke
                logger.exception("interleave-sdk: could not build the ranking record")
                record = self.minimal(served, exc)
            self.write(record)
        except Exception:  # the last guard: the caller's answer (or exception) stands
            logger.exception("interleave-sdk: the ranking line of %s could not be written", served.ranking_id)

    def write(self, record: dict[str, Any]) -> None:
        """The processor chain: each stage returns the record, None to drop it; the sink last."""
        for stage in self.stages:
            try:
                out = stage(record)
            except Exception as exc:
                record.setdefault("processor_errors", []).append(f"{_name(stage)}: {error_text(exc)}")
                continue
            if out is None:
                return  # the user's explicit choice: this line is dropped
            if not isinstance(out, dict):
                record.setdefault("processor_errors", []).append(
                    f"{_name(stage)}: returned {type(out).__name__}, expected a dict or None"
                )
                continue
            record = out
        try:
            self.sink(record)
        except Exception as exc:  # logging must never cost the caller its answer
            logger.warning(
                "interleave-sdk: log sink failed for ranking %s: %r", record.get("ranking_id"), exc
            )

    def build(self, served: Served, total_ms: float) -> dict[str, Any]:
        reason, error = fallback(served)
        decision, merge, handler = served.decision, served.merge, served.handler
        arm = self.baseline if merge is None or merge.served is None else merge.served
        arms: dict[str, dict[str, Any]] = {}
        if merge is not None:
            for name, outcome in merge.outcomes.items():
                arms[name] = _arm_entry(outcome, merge)
        items = None if merge is None else merge.items
        if served.by_handler:
            items = self._handler_items(served)
            if self.baseline not in arms and handler is not None:
                arms[self.baseline] = arm_entry(
                    "error" if handler.error is not None else "ok",
                    latency_ms=handler.latency_ms,
                    rows=_rows(handler.value),
                    error=None if handler.error is None else error_text(handler.error),
                )
        snapshot = None if decision is None else decision.snapshot
        settings = None if snapshot is None else snapshot.settings
        method = None if merge is None else merge.method
        return ranking_record(
            ranking_id=served.ranking_id,
            ts=iso_utc(served.started),
            experiment=self.experiment,
            user_id=None if decision is None else decision.user,
            mode=self.baseline if decision is None else decision.mode,
            served=arm,
            in_sample=None if decision is None else decision.in_sample,
            bucket=None if decision is None else decision.bucket,
            sampling_rate=settings.sampling_rate if settings is not None else None,
            pinned=None if decision is None else decision.pinned,
            method=method,
            method_requested=settings.interleave_method if method is not None and settings else None,
            method_detail=None if merge is None else merge.method_detail,
            seed=None if merge is None else merge.seed,
            k=None if merge is None else merge.k,
            config=_config_entry(snapshot),
            candidates=None if served.candidates is None else served.candidates.entry,
            arms=arms,
            fallback_reason=reason,
            error=error,
            items=items if items is not None else [],
            total_ms=round(max(0.0, total_ms), 3),
            merge_ms=None if merge is None or merge.merge_ms is None else round(merge.merge_ms, 3),
        )

    def _handler_items(self, served: Served) -> list[dict[str, Any]]:
        """The handler's served list as items (its ids, canonical); [] when it has none."""
        handler = served.handler
        if handler is None or handler.error is not None:
            return []
        merge = served.merge
        ids: Sequence[Hashable] | None = None
        if merge is not None and not self.distinct_baseline:
            ids = merge.ids.get(self.baseline)
        if ids is None:
            if not isinstance(handler.value, pd.DataFrame):
                return []
            try:
                ids = ranking_ids(self.baseline, handler.value, self.item_col)
            except RankerOutputError:
                return []
        return single_arm_entries(ids, self.baseline, shared_ranks=self.share_ranks)

    def minimal(self, served: Served, exc: BaseException) -> dict[str, Any]:
        """A schema-valid line from fields that cannot fail, when building the full one did."""
        try:
            ts = iso_utc(served.started)
        except Exception:
            ts = iso_utc(datetime.now(timezone.utc))
        try:
            reason = fallback(served)[0] or "internal_error"
        except Exception:
            reason = "internal_error"
        decision = served.decision
        user = None if decision is None else decision.user
        mode = None if decision is None else decision.mode
        merge = served.merge
        return ranking_record(
            ranking_id=served.ranking_id,
            ts=ts,
            experiment=self.experiment,
            user_id=user if isinstance(user, str) else None,
            mode=mode if isinstance(mode, str) else self.baseline,
            served=merge.served if merge is not None and merge.served is not None else self.baseline,
            fallback_reason=reason,
            error=f"the record could not be built: {error_text(exc)}",
            config={"source": "error", "version": None, "age_ms": None},
        )


def _arm_entry(outcome: ArmOutcome, merge: Merge) -> dict[str, Any]:
    arm = outcome.arm
    return arm_entry(
        outcome.status,
        latency_ms=outcome.latency_ms,
        rows=_rows(outcome.value),
        error=None if outcome.error is None else error_text(outcome.error),
        top=None if merge.top is None else merge.top.get(arm),
        produced=merge.produced.get(arm),
    )


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


def _name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__

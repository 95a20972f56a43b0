"""Validate the arms' outcomes and merge them: the :class:`Merge` a call serves and logs.

Every arm's value is checked as a ranking (canonical ids, :mod:`interleave_sdk.ids`); a streaming
arm is checked item by item as it is pulled. Any unusable arm makes the merge a fallback: the
baseline arm's own frame when a distinct baseline ranker computed one, else the decorated
function's answer (``served is None``). A merge either completes from valid items or is dropped
whole; nothing here writes on the arms' objects.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import bucketing
from .arms import Arms
from .errors import RankerOutputError, StreamError
from .execution import ArmOutcome, ArmRun
from .frames import merged_frame, ranking_ids
from .interleaving.api import interleave
from .observability.record import item_entries, single_arm_entries
from .reasons import STATUS_REASONS, ArmStatus, FallbackReason
from .streaming import ArmStream


@dataclass(frozen=True)
class Merge:
    """What the arms' outcomes make of the call.

    ``served`` is the arm (or ``"interleaved"``) whose ``value`` the caller gets, or None: the
    decorated function's answer. ``outcomes`` are the arms' validated outcomes, ``ids`` their
    canonical ids, ``produced`` the items pulled per streaming arm; the rest is the log's.
    """

    served: str | None
    value: Any = None
    outcomes: Mapping[str, ArmOutcome] = field(default_factory=dict)
    ids: Mapping[str, Sequence[Hashable]] = field(default_factory=dict)
    produced: Mapping[str, int] = field(default_factory=dict)
    items: list[dict[str, Any]] | None = None
    reason: FallbackReason | None = None
    error: BaseException | str | None = None
    method: str | None = None
    method_detail: Mapping[str, Any] | None = None
    seed: dict[str, Any] | None = None
    k: int | None = None
    top: Mapping[str, list[Hashable]] | None = None
    merge_ms: float | None = None


class Merger:
    """Validation and merge rules of one decorated function."""

    def __init__(self, arms: Arms, experiment: str, share_ranks: bool) -> None:
        self.arms = arms
        self.baseline = arms.baseline
        self.item_col = arms.item_col
        self.experiment = experiment
        #: Records may share their small ``ranks`` maps only when nothing but the SDK's own line
        #: writer sees them (observability.record.single_arm_entries).
        self.share_ranks = share_ranks

    def single(self, outcome: ArmOutcome) -> Merge:
        """One non-baseline arm alone (mode or pin naming it); its failure serves the handler."""
        arm = outcome.arm
        produced: dict[str, int] = {}
        if isinstance(outcome.value, ArmStream):  # no rank_full: the first k items, as a frame
            stream = outcome.value
            stream.close()
            produced[arm] = stream.produced
            outcome = dataclasses.replace(outcome, value=stream.frame())
        ids: dict[str, Sequence[Hashable]] = {}
        streams: dict[str, ArmStream] = {}
        outcome = self._validated(outcome, ids, streams)
        produced.update(_produced(outcome, streams))
        if not outcome.ok:
            reason = STATUS_REASONS.get(outcome.status, "arm_error")
            return Merge(
                None,
                outcomes={arm: outcome},
                produced=produced,
                reason=reason,
                error=outcome.error or "failed",
            )
        items = single_arm_entries(ids[arm], arm, shared_ranks=self.share_ranks)
        return Merge(arm, outcome.value, {arm: outcome}, ids, produced, items)

    def interleaved(
        self, run: ArmRun, ranking_id: str, user: str | None, settings: Any, deadline: float
    ) -> Merge:
        """Check every arm's outcome, then merge; an unusable arm makes the merge a fallback."""
        baseline, distinct = self.baseline, self.arms.baseline_ranker is not None
        ids: dict[str, Sequence[Hashable]] = {}
        streams: dict[str, ArmStream] = {}
        base = _stream_status(run.baseline)
        outcomes: dict[str, ArmOutcome] = {baseline: base, **run.others}
        if not base.ok:  # a distinct baseline arm failed (the handler serves), or the handler raised
            reason = STATUS_REASONS.get(base.status, "arm_error") if distinct else None
            return self._fallback(
                outcomes, ids, streams, reason, (base.error or "failed") if distinct else None
            )
        base = outcomes[baseline] = self._validated(base, ids, streams)
        if not base.ok:
            reason = "invalid_output" if distinct else "baseline_invalid"
            return self._fallback(outcomes, ids, streams, reason, base.error or "invalid")
        failed: tuple[FallbackReason, BaseException | str] | None = None
        for arm, outcome in run.others.items():
            outcome = outcomes[arm] = self._validated(outcome, ids, streams)
            if not outcome.ok and failed is None:
                failed = _arm_failure(outcome, settings.timeout_ms)
        if failed is not None:
            return self._fallback(outcomes, ids, streams, *failed)
        clock = self.arms.clock
        t_merge = clock.monotonic()
        for stream in streams.values():  # lazy pulls past the pre-pulled part stop here
            stream.deadline = deadline
        try:
            merge = self._merge(outcomes, ids, streams, ranking_id, user, settings)
        except StreamError as exc:  # a stream failed while the method pulled: drop the merge whole
            status: ArmStatus = {"invalid_output": "invalid", "timeout": "timeout"}.get(exc.reason, "error")  # type: ignore[assignment]
            outcomes[exc.arm] = dataclasses.replace(outcomes[exc.arm], status=status, error=exc)
            return self._fallback(outcomes, ids, streams, STATUS_REASONS.get(status, "arm_error"), exc)
        except Exception as exc:
            return self._fallback(outcomes, ids, streams, "merge_error", exc)
        finally:
            for stream in streams.values():
                stream.close()
        return dataclasses.replace(merge, merge_ms=(clock.monotonic() - t_merge) * 1e3)

    def _fallback(
        self,
        outcomes: dict[str, ArmOutcome],
        ids: dict[str, Sequence[Hashable]],
        streams: dict[str, ArmStream],
        reason: FallbackReason | None,
        error: BaseException | str | None,
    ) -> Merge:
        """Not interleaved: the baseline ranker's own valid frame when one was computed (the
        decorated function would compute it again), else the decorated function's answer."""
        produced = _produced_all(outcomes, streams)
        base = outcomes[self.baseline]
        if self.arms.baseline_ranker is not None and base.ok and isinstance(base.value, pd.DataFrame):
            items = single_arm_entries(ids[self.baseline], self.baseline, shared_ranks=self.share_ranks)
            return Merge(self.baseline, base.value, outcomes, ids, produced, items, reason, error)
        return Merge(None, None, outcomes, ids, produced, None, reason, error)

    def _validated(
        self, outcome: ArmOutcome, ids: dict[str, Sequence[Hashable]], streams: dict[str, ArmStream]
    ) -> ArmOutcome:
        """The outcome, turned ``invalid`` when its value is not a usable ranking; keeps the ids."""
        outcome = _stream_status(outcome)
        if not outcome.ok:
            return outcome
        if isinstance(outcome.value, ArmStream):  # validated item by item as it is pulled
            streams[outcome.arm] = outcome.value
            ids[outcome.arm] = outcome.value.ranking()  # type: ignore[assignment]
            return outcome
        try:
            ids[outcome.arm] = ranking_ids(outcome.arm, outcome.value, self.item_col)
        except RankerOutputError as exc:
            return dataclasses.replace(outcome, status="invalid", error=exc)
        return outcome

    def _merge(
        self,
        outcomes: Mapping[str, ArmOutcome],
        ids: Mapping[str, Sequence[Hashable]],
        streams: Mapping[str, ArmStream],
        ranking_id: str,
        user: str | None,
        settings: Any,
    ) -> Merge:
        """Draw the interleaving and build the merged frame."""
        names, baseline = self.arms.names, self.baseline
        k = self.arms.k if self.arms.k is not None else len(ids[baseline])
        strategy, seed = bucketing.seed_for(settings.seed_strategy, self.experiment, user, ranking_id)
        # Arms in name order: the draw (and its replay from the log) must not depend on which arm
        # is the baseline.
        ordered = {arm: ids[arm] for arm in names}
        result = interleave(settings.interleave_method, ordered, k, random.Random(seed))
        if streams:  # a streaming arm's ids are what it pulled (never iterated whole)
            ordered = {arm: streams[arm].ids if arm in streams else ids[arm] for arm in names}
        positions = {arm: {item: i for i, item in enumerate(arm_ids)} for arm, arm_ids in ordered.items()}
        picks = [(team, positions[team][item]) for item, team in zip(result.items, result.teams, strict=True)]
        # Baseline first: the merged frame keeps the baseline's column order.
        frames: dict[str, pd.DataFrame] = {}
        for arm in (baseline, *self.arms.others):
            stream = streams.get(arm)
            frames[arm] = stream.frame() if stream is not None else outcomes[arm].value
        merged = merged_frame(frames, picks)
        merged.attrs = {**frames[baseline].attrs, "ranking_id": ranking_id}
        return Merge(
            "interleaved",
            merged,
            outcomes,
            ids,
            _produced_all(outcomes, streams),
            item_entries(result.items, result.teams, positions),
            method=result.method,
            method_detail=result.detail,
            seed={"strategy": strategy, "value": seed},
            k=k,
            top={arm: list(arm_ids[:k]) for arm, arm_ids in ordered.items()},
        )


def _arm_failure(outcome: ArmOutcome, timeout_ms: float) -> tuple[FallbackReason, BaseException | str]:
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


def _stream_status(outcome: ArmOutcome) -> ArmOutcome:
    """A stream that yielded junk is ``invalid`` (like a bad full list), not an ``error``."""
    if isinstance(outcome.error, StreamError) and outcome.error.reason == "invalid_output":
        return dataclasses.replace(outcome, status="invalid")
    return outcome


def _produced(outcome: ArmOutcome, streams: Mapping[str, ArmStream]) -> dict[str, int]:
    """Items a streaming arm yielded (also when it failed midway); nothing for a full arm."""
    stream = streams.get(outcome.arm)
    if stream is not None:
        return {outcome.arm: stream.produced}
    error = outcome.error
    if isinstance(error, StreamError) and error.produced is not None:
        return {outcome.arm: error.produced}
    return {}


def _produced_all(outcomes: Mapping[str, ArmOutcome], streams: Mapping[str, ArmStream]) -> dict[str, int]:
    produced: dict[str, int] = {}
    for outcome in outcomes.values():
        produced.update(_produced(outcome, streams))
    return produced

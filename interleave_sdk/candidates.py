"""The shared candidate stage: run once per call that runs arms, its result passed to every arm.

It runs only when the decision runs arms (interleaving, or one arm by mode or pin): the kill
switch and every other path served by the decorated function run no SDK stage, so the handler gets
exactly the caller's arguments. A caller that passes ``candidates`` itself keeps its own.

Each arm ranks from candidates of its own (:func:`own_candidates`): an arm that re-scores or
sorts the shared object in place (a common pandas habit) would otherwise change the list another
arm ranks from, or a frame another arm already returned, and measure one arm on data the other
modified. Copies are taken on the calling thread before any arm starts, so a copy never races an
arm that is already writing: a DataFrame or Series gets a shallow copy (under pandas
copy-on-write, always on from pandas 3, it shares the data until someone writes, so it costs
microseconds whatever the size; without copy-on-write it is deep), anything else
``copy.deepcopy``; an object that cannot be deep-copied (a cursor, a lock) is passed as it is, and
such candidates must be treated as read-only (docs/concepts.md). The baseline gets the original.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .execution import ArmOutcome
from .options import Signature, error_text
from .reasons import FallbackReason


@dataclass(frozen=True)
class Candidates:
    """What the stage gave: the log's ``candidates`` entry and the kwargs every arm then gets.

    ``kwargs`` is None when the stage failed (``reason`` says why): the handler then serves with
    the caller's own arguments.
    """

    entry: dict[str, Any]
    kwargs: dict[str, Any] | None
    reason: FallbackReason | None = None
    error: str | None = None


def given_by_caller(
    signature: Signature, instance: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> bool:
    """True when the call itself passes ``candidates`` (by keyword or by position)."""
    if "candidates" in kwargs:
        return True
    index = signature.position(signature.candidates_index, instance)
    return index is not None and index < len(args)


def judged(
    outcome: ArmOutcome, kwargs: Mapping[str, Any], deadline: float | None, timeout_ms: float
) -> Candidates:
    """The stage's outcome as :class:`Candidates`; late counts only when ``deadline`` applies."""
    latency = None if outcome.latency_ms is None else round(outcome.latency_ms, 3)
    if not outcome.ok:
        if outcome.status == "timeout":
            return _failed(
                "timeout",
                latency,
                f"the candidate stage did not finish within the {timeout_ms:g} ms deadline",
            )
        text = error_text(outcome.error) if outcome.error is not None else f"failed ({outcome.reason})"
        return _failed("error", latency, text)
    if deadline is not None and outcome.finished is not None and outcome.finished > deadline:
        return _failed(
            "timeout", latency, f"the candidate stage finished after the {timeout_ms:g} ms deadline"
        )
    entry = {"status": "ok", "latency_ms": latency, "error": None}
    return Candidates(entry, {**kwargs, "candidates": outcome.value})


def _failed(status: str, latency: float | None, text: str) -> Candidates:
    reason: FallbackReason = "candidates_timeout" if status == "timeout" else "candidates_error"
    return Candidates({"status": status, "latency_ms": latency, "error": text}, None, reason, text)


def private_copy(value: Any) -> Any:
    """A copy of ``value`` that one arm may change without another arm seeing it."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=not _copy_on_write())
    try:
        return copy.deepcopy(value)
    except Exception:  # not copyable: shared, under the documented read-only contract
        return value


def own_candidates(
    arms: Sequence[tuple[str, Callable[..., Any]]], kwargs: Mapping[str, Any]
) -> list[tuple[str, Callable[..., Any]]]:
    """``arms`` with each callable bound to a private copy of ``kwargs["candidates"]``."""
    if "candidates" not in kwargs:
        return list(arms)
    shared = kwargs["candidates"]
    return [(arm, _with_candidates(fn, private_copy(shared))) for arm, fn in arms]


def _with_candidates(fn: Callable[..., Any], own: Any) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await fn(*args, **{**kwargs, "candidates": own})

        return call_async

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{**kwargs, "candidates": own})

    return call


def _copy_on_write() -> bool:
    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return True
    return bool(pd.options.mode.copy_on_write is True)

"""The shared candidate stage: run once per call that runs arms, its result passed to every arm.

It runs only when the decision runs arms (interleaving, or one arm by mode or pin): the kill
switch and every other path served by the decorated function run no SDK stage, so the handler gets
exactly the caller's arguments. A caller that passes ``candidates`` itself keeps its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

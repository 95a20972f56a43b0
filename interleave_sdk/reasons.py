"""One vocabulary for what became of a request and of each arm.

The engine writes these words into the log, the JSON Schema enumerates them, docs/log-schema.md
tables them and the analysis reads them: all from here, so the four cannot drift. Each set is a
``Literal`` (checked by mypy where the engine writes it) plus the tuple of its values (for the
schema test, the docs test and anything that validates at run time).
"""

from __future__ import annotations

from typing import Literal, get_args

FallbackReason = Literal[
    "config_error",
    "bucketing_error",
    "invalid_pin",
    "unknown_arm",
    "candidates_error",
    "candidates_timeout",
    "arm_error",
    "invalid_output",
    "timeout",
    "pool_saturated",
    "budget_exhausted",
    "merge_error",
    "baseline_error",
    "baseline_invalid",
    "internal_error",
    "cancelled",
]
"""Why the caller got the decorated function's answer instead of what the mode asked for."""

FALLBACK_REASONS: tuple[FallbackReason, ...] = get_args(FallbackReason)

#: What each reason means, and what the caller receives: the docs table is checked against it.
REASON_MEANINGS: dict[FallbackReason, str] = {
    "config_error": "the config provider raised, or returned values that do not validate",
    "bucketing_error": "the user id could not be read from the call or hashed",
    "invalid_pin": "`pinned(arm)` named an arm this decorator does not have",
    "unknown_arm": "`mode` names an arm this decorator does not have",
    "candidates_error": "the shared candidate stage raised",
    "candidates_timeout": "the shared candidate stage finished after the request deadline",
    "arm_error": "an arm raised (or a method-name ranker is missing on the instance)",
    "invalid_output": "an arm returned something that is not a usable ranking",
    "timeout": "an arm's result was not ready by the request deadline",
    "pool_saturated": "every worker was busy with late work, so an arm was not started",
    "budget_exhausted": "sequential mode: the deadline passed before an arm could start",
    "merge_error": "the interleaving method or building the merged frame failed",
    "baseline_error": "the decorated function raised; its exception reaches the caller unchanged",
    "baseline_invalid": "the decorated function's result cannot be interleaved; served unchanged",
    "internal_error": "a defect inside the SDK; logged with its traceback",
    "cancelled": "the caller's task was cancelled mid-call; the cancellation reaches the caller",
}

ArmStatus = Literal["ok", "error", "invalid", "timeout", "skipped"]
"""What one arm produced in one request."""

ARM_STATUSES: tuple[ArmStatus, ...] = get_args(ArmStatus)

#: The reason an arm's failed status gives its request (``skipped`` carries its own reason).
STATUS_REASONS: dict[str, FallbackReason] = {
    "error": "arm_error",
    "invalid": "invalid_output",
    "timeout": "timeout",
}

SkipReason = Literal["pool_saturated", "budget_exhausted", "baseline_failed"]
"""Why an arm was ``skipped`` (not started): the first two are also fallback reasons."""

SKIP_REASONS: tuple[SkipReason, ...] = get_args(SkipReason)

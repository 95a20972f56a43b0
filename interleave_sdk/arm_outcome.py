"""Outcomes are values: what one arm produced (a result or the exception, plus latency).

Nothing raised by an arm goes unseen and no exception of an arm (not even ``SystemExit``) reaches
the caller by itself: the procedure reads the outcome and decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .reasons import ArmStatus, SkipReason


@dataclass(frozen=True)
class ArmOutcome:
    """What one arm produced: ``status`` is ok, error, invalid, timeout or skipped.

    ``reason`` says why a ``skipped`` arm was not run: ``pool_saturated`` (too much abandoned
    work in the pool), ``budget_exhausted`` (sequential mode, no time left) or
    ``baseline_failed`` (the baseline raised, so the request is not interleaved).
    """

    arm: str
    status: ArmStatus
    value: Any = None
    error: BaseException | None = None
    latency_ms: float | None = None
    finished: float | None = None  # clock.monotonic() when the arm returned (deadline checks)
    reason: SkipReason | None = None

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

    With ``contain_base_exceptions`` a ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``)
    is an outcome too: the procedure re-raises the handler's own after writing its line, and a
    ranker's never ends the handler. Without it only ``Exception`` is caught.
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

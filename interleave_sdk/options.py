"""The decorator's options as one validated value, and the names and types they use.

``decorator.interleaved`` checks every option and builds :class:`Options` once, at decoration;
everything downstream reads it and nothing writes it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from .clock import SYSTEM_CLOCK, Clock
from .config.providers import ConfigProvider
from .execution import ArmExecutor
from .observability.metrics import EmfMetrics
from .observability.processors import Processor
from .observability.sinks import Sink
from .streaming import StreamingRanker

#: An arm name: what ``rankers`` keys, ``baseline``, ``mode`` and ``pinned()`` may name.
ARM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
INTERLEAVE = "INTERLEAVE"

#: An arm: a callable taking the decorated function's arguments, a streaming ranker (an object
#: with ``rank_stream``, or a generator function: interleave_sdk.streaming), or (for methods) the
#: name of a method on the same instance.
Ranker = Callable[..., Any] | StreamingRanker | str

__all__ = [
    "ARM_NAME",
    "INTERLEAVE",
    "GuardedClock",
    "Options",
    "Processor",
    "Ranker",
    "Sink",
    "default_clock",
]


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


@dataclasses.dataclass(frozen=True)
class Signature:
    """What the decorated function's signature says about reading a call (found at decoration).

    Positions are the parameters' indexes, less one for a method called on an instance or class
    (wrapt passes ``self``/``cls`` apart from ``args``).
    """

    method_like: bool = False
    user_index: int | None = None
    user_default: Any = None
    candidates_index: int | None = None

    def position(self, index: int | None, instance: Any) -> int | None:
        if index is not None and self.method_like and instance is not None:
            return index - 1
        return index


def error_text(error: BaseException) -> str:
    """How an exception reads in a log line: its type, then its message."""
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:  # a __str__ that raises must not cost the line
        return f"{type(error).__name__}: <unprintable>"


class GuardedClock:
    """A user-supplied clock that cannot fail a request: a failing or NaN reading repeats the last.

    Deadlines and latencies then read a little wrong for the request that met the fault, instead of
    the fault reaching the caller or costing the line.
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

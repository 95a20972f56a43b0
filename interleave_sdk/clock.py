"""Time, injectable: a monotonic clock for deadlines and latencies, a wall clock for log stamps.

Both are looked up on the ``time``/``datetime`` modules at call time, so freezegun (or any test
double passed as ``clock=``) controls them without patching the SDK.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (deadlines, latencies)."""
        ...

    def now(self) -> datetime:
        """The current time, timezone-aware UTC (log timestamps)."""
        ...


class SystemClock:
    """The real clocks: ``time.perf_counter`` and ``datetime.now(timezone.utc)``."""

    def monotonic(self) -> float:
        return time.perf_counter()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


SYSTEM_CLOCK = SystemClock()

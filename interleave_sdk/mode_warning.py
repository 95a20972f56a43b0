"""A WARNING when the switches name an arm a decorator lacks: once per config version, not per call.

``mode`` may name any well-formed arm (the switches are shared by decorators with different arms),
so a typo such as ``INTERLEAV`` parses and every request then serves the baseline with
``unknown_arm``. The per-request log line records it; this adds the one WARNING an operator sees,
repeated only when the config changes (a new SSM version), never once per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

logger = logging.getLogger("interleave_sdk")

#: Versions remembered per decorator; a config flapping between more values warns again.
_REMEMBERED = 16


class UnknownModeWarning:
    """Logs ``mode names no arm`` once per (config version, mode) for one decorated function."""

    def __init__(self, experiment: str, arms: Sequence[str]) -> None:
        self._experiment = experiment
        self._arms = tuple(arms)
        self._warned: list[tuple[int | None, str]] = []
        self._lock = threading.Lock()

    def __call__(self, mode: str, version: int | None) -> None:
        key = (version, mode)
        with self._lock:
            if key in self._warned:
                return
            self._warned.append(key)
            del self._warned[:-_REMEMBERED]
        logger.warning(
            "interleave-sdk: mode %r (config version %s) names no arm of experiment %r (arms: %s): "
            "every request serves the baseline with fallback_reason=unknown_arm; set mode to "
            "INTERLEAVE or one of the arms",
            mode,
            "unknown" if version is None else version,
            self._experiment,
            ", ".join(self._arms),
            extra={"config_mode": mode, "config_version": version},
        )

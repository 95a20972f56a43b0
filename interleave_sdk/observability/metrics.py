"""CloudWatch metrics from the log line itself, in the Embedded Metric Format (EMF).

EMF needs no API call: CloudWatch Logs reads the ``_aws`` block of a JSON line and turns the named
top-level members into metrics. So the members added here must be top-level, must not clash with
the record's own fields (also not case-insensitively: Athena and DuckDB fold case), and dimensions
stay low-cardinality (mode, served arm, fallback reason; never user or request ids).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..forking import FORK_RESETS

DEFAULT_NAMESPACE = "InterleaveSDK"

#: Dimension members (string values). Sets below combine them; each set is one family of series.
MODE_DIMENSION = "InterleaveMode"
SERVED_DIMENSION = "ServedArm"
REASON_DIMENSION = "FallbackReason"
DIMENSION_SETS: tuple[tuple[str, ...], ...] = (
    (MODE_DIMENSION, SERVED_DIMENSION),
    (MODE_DIMENSION, REASON_DIMENSION),
)
NO_FALLBACK = "none"

#: Metric members: name -> unit. A metric is written only when the request has a value for it.
LATENCY_METRIC = "LatencyArm{arm}"
METRIC_UNITS: dict[str, str] = {
    "LatencyArmA": "Milliseconds",
    "LatencyArmB": "Milliseconds",
    "MergeTime": "Milliseconds",
    "RequestTime": "Milliseconds",
    "Fallbacks": "Count",
    "Interleaved": "Count",
}
#: Arm -> its latency metric, for the arms METRIC_UNITS names (other arms' latencies are not sent).
_LATENCY_NAMES: dict[str, str] = {
    arm: name for arm in ("A", "B") if (name := LATENCY_METRIC.format(arm=arm)) in METRIC_UNITS
}


class EmfMetrics:
    """Builds the EMF members for one ranking record; pass ``metrics=EmfMetrics(...)`` or False.

    Every series costs money in CloudWatch: 6 metrics x 2 dimension sets x the distinct
    (mode, served) and (mode, reason) pairs actually seen — a few dozen series at most.
    """

    def __init__(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        if not isinstance(namespace, str) or not 0 < len(namespace) <= 255:
            raise ValueError(f"namespace must have 1 to 255 characters, got {namespace!r}")
        if namespace.startswith(":") or not namespace.isascii():
            raise ValueError(f"namespace must be ASCII and not start with ':', got {namespace!r}")
        self.namespace = namespace
        self._dimensions = [list(dims) for dims in DIMENSION_SETS]
        #: The ``Metrics`` list per set of metrics present: a handful of shapes, built once each
        #: (like the dimensions, shared by every line and never changed).
        self._metric_lists: dict[tuple[str, ...], list[dict[str, str]]] = {}
        self._second: tuple[str, int] = ("", 0)  # the last ``ts`` second and its epoch seconds
        FORK_RESETS.add(self, EmfMetrics._forget)

    def _forget(self) -> None:
        """In a forked child: fresh caches (a parent thread may have been filling them)."""
        self._metric_lists = {}
        self._second = ("", 0)

    def process(self, record: dict[str, Any]) -> dict[str, Any]:
        """The processor form: the record with the EMF members added (the first stage of the
        engine's processor chain when metrics are on); the timestamp is the record's ``ts``."""
        record.update(self(record, self._epoch_ms(record["ts"])))
        return record

    def _epoch_ms(self, ts: str) -> int:
        """``2026-11-23T02:00:00.123Z`` as epoch milliseconds (the second cached: one per line)."""
        second, seconds = self._second
        if ts[:19] != second:
            fields = (ts[0:4], ts[5:7], ts[8:10], ts[11:13], ts[14:16], ts[17:19])
            seconds = calendar.timegm((*map(int, fields), 0, 0, 0))
            self._second = (ts[:19], seconds)
        return seconds * 1000 + int(ts[20:23])

    def __call__(self, record: Mapping[str, Any], started: datetime | int) -> dict[str, Any]:
        """The members to merge into ``record``: ``_aws`` plus dimension and metric values.

        ``started`` is the request's start, or its epoch milliseconds.
        """
        reason = record.get("fallback_reason")
        members: dict[str, Any] = {
            MODE_DIMENSION: str(record["mode"]),
            SERVED_DIMENSION: str(record["served"]),
            REASON_DIMENSION: str(reason) if reason else NO_FALLBACK,
        }
        for arm, entry in record.get("arms", {}).items():
            name = _LATENCY_NAMES.get(arm)
            if name is not None and (latency := entry.get("latency_ms")) is not None:
                members[name] = latency
        timings = record.get("timings", {})
        if timings.get("merge_ms") is not None:
            members["MergeTime"] = timings["merge_ms"]
        members["RequestTime"] = timings["total_ms"]
        members["Fallbacks"] = 1 if reason else 0
        members["Interleaved"] = 1 if record["served"] == "interleaved" else 0
        present = tuple(name for name in METRIC_UNITS if name in members)
        metrics = self._metric_lists.get(present)
        if metrics is None:
            metrics = self._metric_lists[present] = [
                {"Name": name, "Unit": METRIC_UNITS[name]} for name in present
            ]
        members["_aws"] = {
            "Timestamp": started if isinstance(started, int) else int(started.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": self.namespace,
                    "Dimensions": self._dimensions,
                    "Metrics": metrics,
                }
            ],
        }
        return members

    def __repr__(self) -> str:
        return f"EmfMetrics(namespace={self.namespace!r})"

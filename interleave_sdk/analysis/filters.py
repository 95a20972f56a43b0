"""Which exposures an analysis covers: one experiment, a range of exposure times.

The same choice must mean the same rows on every engine, so it is written once here: as SQL
conditions for the step files (``{keep}`` in rankings.sql, the credited impressions) and as a
pandas mask for the reference engine. Times are UTC; ``since`` is inclusive, ``until`` exclusive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd

from ..errors import AnalysisInputError

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(text: str, *, option: str = "time") -> datetime:
    """An ISO date (midnight UTC) or timestamp; naive means UTC, an offset is converted."""
    value = text.strip()
    try:
        if _DATE_ONLY.match(value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError as exc:
        raise AnalysisInputError(
            f"{option}: {text!r} is not an ISO date (2026-11-23) or timestamp (2026-11-23T08:00:00Z)"
        ) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _utc(moment: datetime | str | None, option: str) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return parse_time(moment, option=option)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _timestamp_literal(moment: datetime) -> str:
    """A naive-UTC ``TIMESTAMP '...'`` literal, read alike by DuckDB and Trino."""
    return "TIMESTAMP '" + moment.strftime("%Y-%m-%d %H:%M:%S.%f") + "'"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class ExposureFilter:
    """The exposures to analyse: ``experiment`` (the log's field), ``since`` <= ts < ``until``.

    Attribution reads the exposures up to ``until`` plus the attribution window, so that an event
    after ``until`` still goes to the latest exposure before it (as it would without a filter),
    and only the impressions in [since, until) are credited and counted. Exposures before
    ``since`` cannot take an event from a later one, so they need not be read.
    """

    experiment: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def build(
        cls,
        experiment: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> ExposureFilter:
        """Checked and normalised to UTC; strings are parsed by :func:`parse_time`."""
        if experiment is not None and not experiment:
            raise AnalysisInputError("experiment: an empty name selects nothing; omit it instead")
        if experiment is not None and any(ord(c) < 32 or ord(c) == 127 for c in experiment):
            # The condition is also written into the SQL files' comments: no line breaks there.
            raise AnalysisInputError(f"experiment: {experiment!r} contains control characters")
        start, end = _utc(since, "since"), _utc(until, "until")
        if start is not None and end is not None and start >= end:
            raise AnalysisInputError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
        return cls(experiment, start, end)

    @property
    def active(self) -> bool:
        return self.experiment is not None or self.since is not None or self.until is not None

    def read_until(self, window_seconds: int) -> datetime | None:
        """The end of the exposures attribution reads: ``until`` plus the window."""
        return None if self.until is None else self.until + timedelta(seconds=window_seconds)

    def keep_sql(self, window_seconds: int, *, extra: str | None = None) -> str:
        """The ``{keep}`` condition of rankings.sql (columns: experiment, ts as a timestamp)."""
        parts = []
        if self.experiment is not None:
            parts.append(f"experiment = {_quote(self.experiment)}")
        if self.since is not None:
            parts.append(f"ts >= {_timestamp_literal(self.since)}")
        end = self.read_until(window_seconds)
        if end is not None:
            parts.append(f"ts < {_timestamp_literal(end)}")
        if extra:
            parts.append(extra)
        return " AND ".join(parts) if parts else "TRUE"

    def credited_sql(self) -> str | None:
        """The condition on an impression's ts for being credited; None when all are."""
        parts = []
        if self.since is not None:
            parts.append(f"ts >= {_timestamp_literal(self.since)}")
        if self.until is not None:
            parts.append(f"ts < {_timestamp_literal(self.until)}")
        return " AND ".join(parts) if parts else None

    def keep_mask(self, log: pd.DataFrame, ts: pd.Series[Any], window_seconds: int) -> pd.Series[Any]:
        """The reference engine's ``{keep}``: ``log`` has an experiment column, ``ts`` naive UTC."""
        mask: pd.Series[Any] = pd.Series(True, index=log.index)
        if self.experiment is not None:
            mask &= log["experiment"].eq(self.experiment).fillna(False).astype(bool)
        stamps = pd.to_datetime(ts)
        if self.since is not None:
            mask &= (stamps >= _naive(self.since)).fillna(False).astype(bool)
        end = self.read_until(window_seconds)
        if end is not None:
            mask &= (stamps < _naive(end)).fillna(False).astype(bool)
        return mask

    def credited_mask(self, ts: pd.Series[Any]) -> pd.Series[Any]:
        """The reference engine's credited impressions (``ts`` tz-aware UTC)."""
        mask: pd.Series[Any] = pd.Series(True, index=ts.index)
        if self.since is not None:
            mask &= ts >= pd.Timestamp(self.since)
        if self.until is not None:
            mask &= ts < pd.Timestamp(self.until)
        return mask

    def describe(self) -> dict[str, str | None]:
        """JSON-ready, for the result's parameters."""
        return {
            "experiment": self.experiment,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
        }


#: No filter: every experiment, every time.
ALL_EXPOSURES = ExposureFilter()


def _naive(moment: datetime) -> pd.Timestamp:
    stamp: pd.Timestamp = pd.Timestamp(moment.astimezone(timezone.utc).replace(tzinfo=None))
    return stamp


def parse_columns(text: str) -> dict[str, str]:
    """``ts=timestamp,user_id=uid`` -> {"ts": "timestamp", "user_id": "uid"} (target=source)."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        target, sep, source = part.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise AnalysisInputError(
                f"columns: {part.strip()!r} is not TARGET=SOURCE (e.g. ts=timestamp,user_id=uid)"
            )
        mapping[target.strip()] = source.strip()
    return mapping


def rename_columns(frame: pd.DataFrame, columns: Mapping[str, str], targets: tuple[str, ...]) -> pd.DataFrame:
    """Feedback columns renamed to the contract names; unknown targets and missing sources refused."""
    unknown = sorted(set(columns) - set(targets))
    if unknown:
        raise AnalysisInputError(
            f"columns: unknown target column(s) {', '.join(unknown)}; valid targets: {', '.join(targets)}"
        )
    missing = sorted(source for source in columns.values() if source not in frame.columns)
    if missing:
        raise AnalysisInputError(
            f"columns: the feedback has no column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
    renamed: pd.DataFrame = frame.drop(
        columns=[t for t in columns if t in frame.columns and t not in columns.values()]
    ).rename(columns={source: target for target, source in columns.items()})
    return renamed

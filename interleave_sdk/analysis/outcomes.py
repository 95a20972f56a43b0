"""What attribution and credit produce, whichever engine ran them (contract 3).

Both engines hand back an :class:`Attribution`; :func:`finish` gives their frames one dtype per
column, so "the SQL path equals the pandas reference" can be checked with a plain frame compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: Contract 3: one row per interleaved impression and pair of the arms it showed (arm_a < arm_b
#: by name; credit_a, outcome "A" and first_team "A" are arm_a's), in this column order.
OUTCOME_COLUMNS: tuple[str, ...] = (
    "ranking_id",
    "user_id",
    "ts",
    "arm_a",
    "arm_b",
    "credit_a",
    "credit_b",
    "outcome",
    "clicked",
    "first_team",
    "slots",
    "contested_slots",
)

#: One row per distinct feedback event, with where (and whether) it was attributed.
EVENT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "item_id",
    "ts",
    "kind",
    "event_ranking_id",
    "polarity",
    "copies",
    "status",
    "ranking_id",
    "position",
    "team",
)

#: Where positive feedback landed: one row per (position, drafting team) that got any.
CLICK_COLUMNS: tuple[str, ...] = ("position", "source_ranker", "clicks")

MATCHED = ("ranking_id", "window")
UNMATCHED = (
    "unknown_ranking_id",
    "item_not_in_ranking",
    "before_exposure",
    "after_window",
    "no_exposure_in_window",
)
#: Exposure record statuses from rankings.sql, and the data-quality key each is counted under.
RANKING_STATUS_KEYS = {
    "other_event": "other_events",
    "not_interleaved": "not_interleaved",
    "invalid": "invalid_rankings",
    "duplicate": "duplicate_rankings",
    "unknown_schema": "unknown_schema",
}


@dataclass
class Attribution:
    """The outcomes table, the attributed events, and the counts that explain them."""

    outcomes: pd.DataFrame
    events: pd.DataFrame
    matching: dict[str, int]
    data_quality: dict[str, int]
    clicks_by_position: pd.DataFrame
    #: Interleaving records by schema version: ``{"read": {...}, "refused": {...}}`` (versions.py).
    schema_versions: dict[str, dict[str, int]] = field(default_factory=dict)


def _text(series: pd.Series[Any]) -> pd.Series[Any]:
    """Text with ``None`` (never NaN or pd.NA) for missing values, in an object column."""
    out: pd.Series[Any] = series.astype(object).where(series.notna(), None)
    return out


def _utc(series: pd.Series[Any]) -> pd.Series[Any]:
    stamps = pd.to_datetime(series)
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize("UTC")
    out: pd.Series[Any] = stamps.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    return out


def finish_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Contract-3 columns and dtypes, sorted by time, ranking id and pair, with a fresh index."""
    out = pd.DataFrame(
        {
            "ranking_id": _text(frame["ranking_id"]),
            "user_id": _text(frame["user_id"]),
            "ts": _utc(frame["ts"]),
            "arm_a": _text(frame["arm_a"]),
            "arm_b": _text(frame["arm_b"]),
            "credit_a": frame["credit_a"].astype(float),
            "credit_b": frame["credit_b"].astype(float),
            "outcome": _text(frame["outcome"]),
            "clicked": frame["clicked"].astype(bool),
            "first_team": _text(frame["first_team"]),
            "slots": frame["slots"].astype("int64"),
            "contested_slots": frame["contested_slots"].astype("int64"),
        }
    )
    keys = ["ts", "ranking_id", "arm_a", "arm_b"]
    ordered: pd.DataFrame = out.sort_values(keys, kind="stable")
    result: pd.DataFrame = ordered.reset_index(drop=True)
    return result


def finish_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Event columns with one dtype each, in a deterministic order."""
    out = pd.DataFrame(
        {
            "user_id": _text(frame["user_id"]),
            "item_id": _text(frame["item_id"]),
            "ts": _utc(frame["ts"]),
            "kind": _text(frame["kind"]),
            "event_ranking_id": _text(frame["event_ranking_id"]),
            "polarity": frame["polarity"].astype("Int64"),
            "copies": frame["copies"].astype("int64"),
            "status": _text(frame["status"]),
            "ranking_id": _text(frame["ranking_id"]),
            "position": frame["position"].astype("Int64"),
            "team": _text(frame["team"]),
        }
    )
    keys = ["ts", "user_id", "item_id", "kind", "event_ranking_id"]
    ordered: pd.DataFrame = out.sort_values(keys, kind="stable", na_position="first")
    result: pd.DataFrame = ordered.reset_index(drop=True)
    return result


def finish_clicks(frame: pd.DataFrame) -> pd.DataFrame:
    """Click counts per (position, team) with one dtype each, by position then team."""
    out = pd.DataFrame(
        {
            "position": frame["position"].astype("int64"),
            "source_ranker": _text(frame["source_ranker"]),
            "clicks": frame["clicks"].astype("int64"),
        },
        columns=list(CLICK_COLUMNS),
    )
    ordered: pd.DataFrame = out.sort_values(["position", "source_ranker"], kind="stable")
    result: pd.DataFrame = ordered.reset_index(drop=True)
    return result


def count_matching(events: pd.DataFrame) -> dict[str, int]:
    """How many distinct events matched by ranking id, by time window, or not at all."""
    status = events["status"]
    return {
        "by_ranking_id": int((status == "ranking_id").sum()),
        "by_window": int((status == "window").sum()),
        "unmatched": int(status.isin(UNMATCHED).sum()),
    }


def count_event_quality(events: pd.DataFrame) -> dict[str, int]:
    """Unusable feedback by reason (distinct events; duplicates count their extra copies)."""
    status = events["status"]
    counts = {name: int((status == name).sum()) for name in UNMATCHED}
    counts["ignored_kind"] = int((status == "ignored_kind").sum())
    counts["invalid_events"] = int((status == "invalid_event").sum())
    counts["duplicate_events"] = int((events["copies"] - 1).sum())
    return counts

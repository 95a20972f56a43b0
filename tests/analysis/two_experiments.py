"""Logs of two experiments over four days, with feedback of every kind, for the filter tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from interleave_sdk.analysis.testing import (
    EPOCH,
    iso,
    synthetic_feedback,
    synthetic_rankings,
    write_json_lines,
)

EXPERIMENTS = ("home", "search")
DAYS = 4


def two_experiment_logs(folder: Path, n: int = 480, seed: int = 5) -> tuple[str, pd.DataFrame]:
    """``n`` rankings spread evenly over four days, experiments alternating by a fixed pattern."""
    records: list[dict[str, Any]] = list(synthetic_rankings(n, k=6, n_users=80, n_catalog=40, seed=seed))
    step = DAYS * 86400 / n
    for number, record in enumerate(records):
        record["experiment"] = EXPERIMENTS[(number * 7 // 3) % 2]
        record["ts"] = iso(EPOCH + timedelta(seconds=number * step))
    half = n // 2
    write_json_lines(folder / "day-1.jsonl", records[:half])
    write_json_lines(folder / "day-2.jsonl.gz", records[half:])
    return str(folder / "day-*"), synthetic_feedback(records, 2 * n, seed=seed + 1)


def independent_counts(pattern: str, experiment: str | None, since: str | None) -> dict[str, int]:
    """Interleaved impressions and distinct users, counted from the raw lines with pandas only."""
    files = (
        sorted(Path().glob(pattern))
        if not Path(pattern).is_absolute()
        else sorted(Path(pattern).parent.glob(Path(pattern).name))
    )
    frame = pd.concat([pd.read_json(f, lines=True) for f in files], ignore_index=True)
    frame = frame[frame["served"] == "interleaved"].drop_duplicates("ranking_id")
    if experiment is not None:
        frame = frame[frame["experiment"] == experiment]
    if since is not None:
        stamps = pd.to_datetime(frame["ts"], utc=True)
        frame = frame[stamps >= pd.Timestamp(since, tz="UTC")]
    return {"impressions": len(frame), "users": frame["user_id"].nunique()}

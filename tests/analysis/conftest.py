"""Shared fixtures for the analysis tests: tiny hand-made logs and a runner for either engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from interleave_sdk.analysis.outcomes import Attribution
from interleave_sdk.analysis.pipeline import attribute
from interleave_sdk.analysis.testing import ranking_record, write_json_lines

# moto over HTTP with DuckDB answering Athena's queries (the Athena engine and monitor tests).
from .athena_stand_in import aws, moto_url  # noqa: F401

T0 = datetime(2026, 11, 23, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rec(ranking_id: str, user: str | None, seconds: float, items: list[Any], **kw: Any) -> dict:
    """A ranking line; items as (item_id, team, rank_a, rank_b)."""
    return ranking_record(ranking_id, user, at(seconds), items, **kw)


def event(user: str | None, item: Any, seconds: float, kind: str = "click", rid: str | None = None):
    return {
        "user_id": user,
        "item_id": item,
        "ts": at(seconds).isoformat(),
        "kind": kind,
        "ranking_id": rid,
    }


def events(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["user_id", "item_id", "ts", "kind", "ranking_id"])


Runner = Callable[..., Attribution]


@pytest.fixture(params=["duckdb", "pandas"])
def engine(request: pytest.FixtureRequest) -> str:
    """Every behaviour test runs on both engines: each fixture is also an SQL = pandas check."""
    return str(request.param)


@pytest.fixture
def run(tmp_path: Path, engine: str) -> Runner:
    """Write the records as a log file and attribute the feedback on the chosen engine."""

    def go(records: list[dict], feedback: pd.DataFrame, **kw: Any) -> Attribution:
        path = write_json_lines(tmp_path / "log.jsonl", records)
        result, quality = attribute(path, feedback, engine=engine, **kw)
        result.data_quality.update(quality)
        return result

    return go

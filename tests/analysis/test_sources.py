"""Feedback and log sources: every format reads to the same events; PostgreSQL on a real server."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from interleave_sdk.analysis.sources import (
    PostgresFeedback,
    expand_paths,
    load_feedback,
    read_json_lines,
)
from interleave_sdk.errors import AnalysisInputError

from .conftest import T0

FEEDBACK = pd.DataFrame(
    {
        "user_id": ["u1", "u2", "u3"],
        "item_id": ["a", "7", "b"],
        "ts": ["2026-11-23T00:00:05Z", "2026-11-23T02:00:06+02:00", "2026-11-23 00:00:07"],
        "kind": ["click", "like", "nope"],
        "ranking_id": ["r1", None, None],
    }
)


def expected_times() -> list[pd.Timestamp]:
    return [pd.Timestamp(T0) + pd.Timedelta(seconds=s) for s in (5, 6, 7)]


def write(fmt: str, folder: Path) -> Path:
    if fmt == "csv":
        FEEDBACK.to_csv(folder / "fb.csv", index=False)
        return folder / "fb.csv"
    if fmt == "jsonl":
        path = folder / "fb.jsonl"
        path.write_text(FEEDBACK.to_json(orient="records", lines=True) + "garbage\n")
        return path
    FEEDBACK.assign(item_id=[1, 7, 3]).to_parquet(folder / "fb.parquet")
    return folder / "fb.parquet"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_feedback_formats_read_alike(tmp_path, fmt):
    """CSV, JSON lines and Parquet give text ids and UTC times."""
    loaded = load_feedback(write(fmt, tmp_path))
    frame = loaded.frame
    assert list(frame.columns) == ["user_id", "item_id", "ts", "kind", "ranking_id"]
    assert frame.loc[1, "item_id"] == "7"
    assert list(frame["ts"]) == expected_times()
    assert list(frame["ranking_id"]) == ["r1", None, None]
    assert loaded.quality["offset_timestamps"] == 1
    assert loaded.quality["naive_timestamps"] == 1
    if fmt == "jsonl":
        assert loaded.quality["feedback_malformed_lines"] == 1


def test_feedback_without_ranking_id_column_is_accepted():
    """ranking_id is optional: all events go to the window join."""
    frame = load_feedback(FEEDBACK.drop(columns="ranking_id")).frame
    assert frame["ranking_id"].isna().all()


def test_feedback_missing_a_column_is_an_input_error():
    """A feedback table without a kind column is refused with the expected columns named."""
    with pytest.raises(AnalysisInputError, match="missing column"):
        load_feedback(FEEDBACK.drop(columns="kind"))


def test_aware_datetime_columns_are_converted():
    """A tz-aware column in another zone is converted to UTC and counted."""
    paris = pd.to_datetime(["2026-11-23 01:00:05"] * 3).tz_localize("Europe/Paris")
    aware = FEEDBACK.assign(ts=paris)
    loaded = load_feedback(aware)
    assert loaded.frame.loc[0, "ts"] == pd.Timestamp(T0) + pd.Timedelta(seconds=5)
    assert loaded.quality["offset_timestamps"] == 3


def test_missing_path_and_empty_glob_are_input_errors(tmp_path):
    """A path that does not exist, or a glob matching nothing, is a clear input error."""
    with pytest.raises(AnalysisInputError, match="no such file"):
        expand_paths(str(tmp_path / "absent.jsonl"))
    with pytest.raises(AnalysisInputError, match="no files match"):
        expand_paths(str(tmp_path / "*.jsonl"))


def test_json_lines_reader_counts_bad_lines(tmp_path):
    """Non-objects and broken lines are counted; blank lines are not errors."""
    (tmp_path / "x.jsonl").write_bytes(b'{"a": 1}\n\n[1]\n{"a":\n{"b": 2}\r\n')
    parsed = read_json_lines(tmp_path / "x.jsonl")
    assert (len(parsed.records), parsed.malformed_lines, parsed.blank_lines) == (2, 2, 1)


def test_postgres_query_source(postgres):
    """Decisions in a user_video_decisions table come back as contract-2 feedback in UTC."""
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS user_video_decisions")
        conn.execute(
            "CREATE TABLE user_video_decisions (user_id bigint, video_id bigint,"
            " decided_at timestamptz, decision text, ranking_id text)"
        )
        conn.execute("SET TIME ZONE 'Asia/Tokyo'")
        conn.execute(
            "INSERT INTO user_video_decisions VALUES"
            " (1, 10, '2026-11-23 09:00:05+09', 'like', 'r1'),"
            " (2, 11, '2026-11-23 00:00:06+00', 'nope', NULL)"
        )
    source = PostgresFeedback(
        postgres,
        "SELECT user_id, video_id AS item_id, decided_at AS ts, decision AS kind, ranking_id"
        " FROM user_video_decisions WHERE decided_at >= %(since)s ORDER BY decided_at",
        {"since": "2026-11-01"},
    )
    frame = load_feedback(source).frame
    assert list(frame["user_id"]) == ["1", "2"]
    assert list(frame["item_id"]) == ["10", "11"]
    assert list(frame["ts"]) == expected_times()[:2]
    assert list(frame["kind"]) == ["like", "nope"]
    assert list(frame["ranking_id"]) == ["r1", None]


def test_postgres_errors_are_input_errors(postgres):
    """A failing query surfaces as an input error carrying the server's message."""
    with pytest.raises(AnalysisInputError, match="does_not_exist"):
        PostgresFeedback(postgres, "SELECT * FROM does_not_exist").read()

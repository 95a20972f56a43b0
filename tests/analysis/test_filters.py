"""Filters and inputs on every local engine: experiment, since/until, feedback column names."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from interleave_sdk.analysis.filters import ExposureFilter, parse_columns, parse_time
from interleave_sdk.analysis.pipeline import analyze, attribute
from interleave_sdk.analysis.sources import load_feedback
from interleave_sdk.errors import AnalysisInputError

from .two_experiments import independent_counts, two_experiment_logs


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return two_experiment_logs(tmp_path_factory.mktemp("two"))


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
@pytest.mark.parametrize(
    ("experiment", "since"),
    [("home", None), (None, "2026-11-25"), ("search", "2026-11-24T12:00:00Z")],
)
def test_experiment_and_since_count_what_pandas_counts(logs, engine, experiment, since):
    """Impressions and users analysed equal a plain pandas count of the raw lines."""
    pattern, feedback = logs
    result = analyze(pattern, feedback, engine=engine, experiment=experiment, since=since, n_boot=10)
    expected = independent_counts(pattern, experiment, since)
    assert result.verdict.impressions_total == len(result.outcomes) == expected["impressions"]
    assert result.verdict.users_total == expected["users"]
    assert 0 < expected["impressions"] < 480


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_time_range_credits_its_impressions_as_the_whole_log_does(logs, engine):
    """Reading up to until + window, each impression in range gets the credit it gets unfiltered."""
    pattern, feedback = logs
    since, until = "2026-11-24T06:00:00Z", "2026-11-25T18:00:00Z"
    whole, _ = attribute(pattern, feedback, engine=engine)
    part, _ = attribute(pattern, feedback, engine=engine, since=since, until=until)
    in_range = whole.outcomes[
        (whole.outcomes["ts"] >= pd.Timestamp(since)) & (whole.outcomes["ts"] < pd.Timestamp(until))
    ].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.outcomes, in_range)
    assert part.outcomes["clicked"].sum() > 20


def test_duckdb_and_pandas_agree_under_filters(logs):
    """Both engines give the same frames and counts with an experiment and a time range."""
    pattern, feedback = logs
    kw = {"experiment": "search", "since": "2026-11-24", "until": "2026-11-26"}
    sql, _ = attribute(pattern, feedback, engine="duckdb", **kw)
    ref, _ = attribute(pattern, feedback, engine="pandas", **kw)
    pd.testing.assert_frame_equal(sql.outcomes, ref.outcomes)
    pd.testing.assert_frame_equal(sql.events, ref.events)
    pd.testing.assert_frame_equal(sql.clicks_by_position, ref.clicks_by_position)
    assert sql.matching == ref.matching


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=timezone.utc)),
        ("2026-11-23T08:30:00", datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)),
        ("2026-11-23T08:30:00Z", datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)),
        ("2026-11-23T10:30:00+02:00", datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)),
    ],
)
def test_times_are_iso_dates_or_timestamps_in_utc(text, expected):
    """A date is midnight UTC, a naive timestamp is UTC, an offset is converted."""
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "23/11/2026", "2026-13-01"])
def test_unreadable_times_are_refused_with_the_format(text):
    """Anything else is an input error showing the accepted formats."""
    with pytest.raises(AnalysisInputError, match="ISO date"):
        parse_time(text, option="--since")


def test_an_empty_or_reversed_range_is_refused():
    """since must come before until; an empty experiment name is refused, not ignored."""
    with pytest.raises(AnalysisInputError, match="before until"):
        ExposureFilter.build(since="2026-11-25", until="2026-11-24")
    with pytest.raises(AnalysisInputError, match="empty"):
        ExposureFilter.build(experiment="")
    with pytest.raises(AnalysisInputError, match="control characters"):
        ExposureFilter.build(experiment="home\nDROP TABLE x")


def test_experiment_names_are_quoted_as_sql_literals():
    """A quote in the name is doubled: the condition stays one literal comparison."""
    keep = ExposureFilter.build(experiment="it's").keep_sql(0)
    assert keep == "experiment = 'it''s'"


def feedback_named_differently() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uid": ["u1"],
            "item": ["v1"],
            "timestamp": ["2026-11-23T00:00:05Z"],
            "kind": ["click"],
        }
    )


def test_columns_map_feedback_names_to_the_contract():
    """--columns ts=timestamp,user_id=uid,item_id=item reads a differently named file."""
    mapping = parse_columns("ts=timestamp, user_id=uid,item_id=item")
    loaded = load_feedback(feedback_named_differently(), columns=mapping)
    row = loaded.frame.iloc[0]
    assert (row["user_id"], row["item_id"], row["kind"]) == ("u1", "v1", "click")
    assert row["ts"] == pd.Timestamp("2026-11-23T00:00:05Z")


def test_columns_refuse_unknown_targets_and_missing_sources():
    """An unknown target lists the valid ones; an absent source column lists what the file has."""
    with pytest.raises(AnalysisInputError, match="valid targets: user_id, item_id, ts, kind"):
        load_feedback(feedback_named_differently(), columns={"when": "timestamp"})
    with pytest.raises(AnalysisInputError, match=r"no column.*stamp.*it has uid"):
        load_feedback(feedback_named_differently(), columns={"ts": "stamp"})
    with pytest.raises(AnalysisInputError, match="TARGET=SOURCE"):
        parse_columns("ts:timestamp")

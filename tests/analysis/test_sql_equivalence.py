"""The SQL path (DuckDB) and the pandas reference give identical numbers, row for row."""

from __future__ import annotations

import pandas as pd
import pytest

from interleave_sdk.analysis.pipeline import attribute
from interleave_sdk.analysis.testing import (
    synthetic_feedback,
    synthetic_rankings,
    write_json_lines,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A seeded random log (with duplicates and bad lines mixed in) and matching feedback."""
    records = list(synthetic_rankings(1500, k=6, n_users=120, n_catalog=40, seed=7))
    folder = tmp_path_factory.mktemp("generated")
    write_json_lines(folder / "part-1.jsonl", records[:700])
    write_json_lines(folder / "part-2.jsonl.gz", records[700:] + records[:20])
    (folder / "part-3.jsonl").write_bytes(b"{not json\n\n")
    return folder, synthetic_feedback(records, 2500, seed=11)


@pytest.mark.parametrize(
    ("credit", "negative_counts", "window_hours"),
    [
        ("competitive", False, 24.0),
        ("competitive", True, 0.05),
        ("team_draft", False, 0.05),
        ("team_draft", True, 24.0),
    ],
)
def test_duckdb_equals_pandas_on_generated_logs(generated, credit, negative_counts, window_hours):
    """Outcomes, attributed events, clicks by position and every count agree between engines."""
    folder, feedback = generated
    kwargs = {"credit": credit, "negative_counts": negative_counts, "window_hours": window_hours}
    sql, _ = attribute(str(folder / "part-*"), feedback, engine="duckdb", **kwargs)
    ref, _ = attribute(str(folder / "part-*"), feedback, engine="pandas", **kwargs)
    pd.testing.assert_frame_equal(sql.outcomes, ref.outcomes)
    pd.testing.assert_frame_equal(sql.events, ref.events)
    pd.testing.assert_frame_equal(sql.clicks_by_position, ref.clicks_by_position)
    assert sql.matching == ref.matching
    assert sql.data_quality == ref.data_quality


def test_generated_fixture_exercises_every_path(generated):
    """The random fixture is not trivial: each match type, each reject reason, and real wins."""
    folder, feedback = generated
    result, _ = attribute(str(folder / "part-*"), feedback, engine="duckdb")
    assert min(result.matching.values()) > 50
    for key in (
        "duplicate_events",
        "before_exposure",
        "after_window",
        "unknown_ranking_id",
        "ignored_kind",
        "no_exposure_in_window",
        "duplicate_rankings",
        "malformed_lines",
    ):
        assert result.data_quality[key] > 0, key
    outcomes = result.outcomes
    assert len(outcomes) == 1500
    assert set(outcomes.loc[outcomes["clicked"], "outcome"]) == {"A", "B", "tie"}
    assert (outcomes["contested_slots"] == 0).any()

"""``analyze()``: the front door hands the statistics' verdict and the click table to its result."""

from __future__ import annotations

import pandas as pd

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.stats import Verdict, compute_verdict
from interleave_sdk.analysis.testing import write_json_lines

from .conftest import event, events, rec

ITEMS = [("a", "A", 1, 2), ("b", "B", 2, 1)]


def _inputs(tmp_path):
    log = write_json_lines(
        tmp_path / "log.jsonl", [rec(f"r{n}", f"u{n}", n, ITEMS) for n in range(6)]
    )
    clicks = [event(f"u{n}", "a" if n < 4 else "b", n + 1, rid=f"r{n}") for n in range(6)]
    clicks.append(event("u0", "b", 2, rid="r0"))
    return log, events(*clicks)


def test_result_carries_the_statistics_verdict(tmp_path):
    """result.verdict is the Verdict that compute_verdict gives for result.outcomes."""
    log, feedback = _inputs(tmp_path)
    result = analyze(log, feedback, n_boot=50, seed=5)
    assert isinstance(result.verdict, Verdict)
    assert result.verdict == compute_verdict(result.outcomes, n_boot=50, seed=5)
    assert (result.verdict.wins_a, result.verdict.wins_b, result.verdict.ties) == (3, 2, 1)


def test_result_carries_clicks_by_position(tmp_path):
    """result.clicks_by_position counts clicked items by position and drafting team."""
    log, feedback = _inputs(tmp_path)
    clicks = analyze(log, feedback, n_boot=50).clicks_by_position
    assert clicks.to_dict("records") == [
        {"position": 1, "source_ranker": "A", "clicks": 4},
        {"position": 2, "source_ranker": "B", "clicks": 3},
    ]


def test_result_carries_the_sequential_verdict_in_json(tmp_path):
    """as_dict()['sequential'] is compute_sequential on the outcomes whose window has closed by
    the latest feedback: exactly its five fields."""
    from interleave_sdk.analysis.stats import compute_sequential

    log, feedback = _inputs(tmp_path)
    result = analyze(log, feedback, n_boot=20, window_hours=0.001)
    payload = result.as_dict()["sequential"]
    assert set(payload) == {"decision", "p_value", "ci_low", "ci_high", "stopped_at"}
    closed_by = pd.to_datetime(feedback["ts"], utc=True).max() - pd.Timedelta(hours=0.001)
    assert payload == compute_sequential(result.outcomes, closed_by=closed_by).as_dict()
    assert result.sequential.units > 0


def test_alpha_reaches_both_verdicts(tmp_path):
    """analyze(alpha=...) is the level of the fixed-horizon and of the sequential verdict."""
    log, feedback = _inputs(tmp_path)
    result = analyze(log, feedback, n_boot=20, alpha=0.2)
    assert result.verdict.alpha == 0.2
    assert result.sequential.alpha == 0.2
    assert result.verdict == compute_verdict(result.outcomes, n_boot=20, alpha=0.2)
    assert result.parameters["alpha"] == 0.2


def test_alpha_outside_zero_one_is_refused(tmp_path):
    """A level of 0 or 1 is an input error naming alpha, before any file is read."""
    import pytest

    from interleave_sdk.errors import AnalysisInputError

    with pytest.raises(AnalysisInputError, match="alpha"):
        analyze(tmp_path / "missing.jsonl", events(), alpha=1.0)


def test_result_names_the_experiment_from_the_log_and_holds_the_series(tmp_path):
    """experiment comes from the log lines; series and click_shares are computed, not left to the report."""
    log, feedback = _inputs(tmp_path)
    result = analyze(log, feedback, n_boot=20, series_points=3)
    assert result.experiment == "synthetic"
    assert result.arms == ("A", "B")
    assert len(result.series) == 3
    assert result.series["p_value"].iloc[-1] == result.verdict.p_value
    assert result.series["sequential_p"].iloc[-1] == result.sequential.p_value
    assert result.click_shares["share"].sum() == 1.0

"""``analyze()``: the front door hands the statistics' verdict and the click table to its result."""

from __future__ import annotations

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

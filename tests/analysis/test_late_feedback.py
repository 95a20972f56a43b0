"""The sequential test under late feedback: one growing sequence of votes, decisions kept."""

from __future__ import annotations

import pandas as pd

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.sequential import delta_confidence_sequence
from interleave_sdk.analysis.testing import write_json_lines

from .conftest import event, events, rec

ITEMS = [("a", "A", 1, 2), ("b", "B", 2, 1)]
HOUR = 3600


def looks(tmp_path, clicks: list[dict], at_seconds: list[float]) -> list[str]:
    """The sequential decision of analyze() on the feedback that had arrived at each look."""
    log = write_json_lines(
        tmp_path / "log.jsonl", [rec(f"r{n}", f"u{n}", n, ITEMS) for n in range(16)]
    )
    stamps = pd.to_datetime(events(*clicks)["ts"], utc=True)
    t0 = stamps.min() - pd.Timedelta(seconds=stamps.min().second)
    decisions = []
    for seconds in at_seconds:
        cutoff = t0 + pd.Timedelta(seconds=seconds)
        arrived = events(*[c for c, s in zip(clicks, stamps, strict=True) if s <= cutoff])
        decisions.append(analyze(log, arrived, n_boot=10, series_points=0).sequential.decision)
    return decisions


def test_the_sixteen_user_case_keeps_its_look_one_decision(tmp_path):
    """Odd users click B within seconds, even users click A 20 h later: a look an hour in and a
    look on day 3 never disagree (the early look decides nothing, or the same)."""
    clicks = [
        event(f"u{n}", "b", n + 5, rid=f"r{n}") if n % 2 else event(f"u{n}", "a", n + 20 * HOUR, rid=f"r{n}")
        for n in range(16)
    ]
    first, later = looks(tmp_path, clicks, [1 * HOUR, 72 * HOUR])
    assert first in ("continue", later)
    assert later == "continue"  # 8 votes each way


def test_a_unanimous_early_lead_still_decides_once_the_windows_close(tmp_path):
    """The window rule delays a decision, it does not prevent one: 16 users all clicking B
    within seconds decide B once feedback a day later shows their windows have closed."""
    clicks = [event(f"u{n}", "b", n + 5, rid=f"r{n}") for n in range(16)]
    clicks.append(event("u0", "zzz", 25 * HOUR))  # any later feedback moves the clock on
    first, later = looks(tmp_path, clicks, [1 * HOUR, 26 * HOUR])
    assert (first, later) == ("continue", "B")


def test_confidence_sequence_never_collapses_to_a_point():
    """Eight users who all prefer B: a narrow interval around ΔAB = -0.5, never zero width."""
    low, high = delta_confidence_sequence([-1.0] * 8, [1.0] * 8, alpha=0.05)
    assert low is not None and high is not None
    assert low == -0.5 and high > -0.5 + 0.05

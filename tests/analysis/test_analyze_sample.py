"""samples/analyze_logs.py is a real program: it runs and prints the verdict table the docs show."""

from __future__ import annotations

from collections.abc import Callable


def test_analyze_sample_prints_the_verdict_table(run_sample: Callable[[str], str]) -> None:
    """The sample analyses 2,000 seeded impressions and prints the table and click shares."""
    out = run_sample("analyze_logs.py")
    lines = out.splitlines()
    assert lines[0] == "Interleaving verdict (unit: user, α = 0.05, seed 0)"
    assert any("of 2,000 interleaved" in line for line in lines)
    assert "Feedback matching" in lines and "Data quality" in lines
    clicks = lines[lines.index("Clicks by position and drafting team") + 1 :]
    assert clicks[0].split() == ["position", "source_ranker", "clicks"]
    assert {row.split()[1] for row in clicks[1:]} == {"A", "B"}

"""samples/analyze_logs.py is a real program: it runs and prints the verdict table the docs show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_analyze_sample_prints_the_verdict_table() -> None:
    """The sample analyses 2,000 seeded impressions and prints the table and click shares."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "samples" / "analyze_logs.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    lines = out.splitlines()
    assert lines[0] == "Interleaving verdict (unit: user, α = 0.05, seed 0)"
    assert any("of 2,000 interleaved" in line for line in lines)
    assert "Feedback matching" in lines and "Data quality" in lines
    clicks = lines[lines.index("Clicks by position and drafting team") + 1 :]
    assert clicks[0].split() == ["position", "source_ranker", "clicks"]
    assert {row.split()[1] for row in clicks[1:]} == {"A", "B"}

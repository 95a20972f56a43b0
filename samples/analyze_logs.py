"""Analyse an interleaving experiment: seeded synthetic logs in, the verdict table out.

Writes a small ranking log (gzipped JSON lines, as the SDK logs them) and its feedback (CSV) to a
temporary directory, runs ``analyze()`` on DuckDB and prints what ``interleave-sdk analyze`` prints.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.report import format_table
from interleave_sdk.analysis.testing import (
    synthetic_feedback,
    synthetic_rankings,
    write_json_lines,
)


def main() -> None:
    records = list(synthetic_rankings(2000, k=6, n_users=200, n_catalog=60, seed=1))
    feedback = synthetic_feedback(records, 1500, seed=2)
    with tempfile.TemporaryDirectory() as folder:
        log = write_json_lines(Path(folder) / "rankings.jsonl.gz", records)
        feedback_csv = Path(folder) / "feedback.csv"
        feedback.to_csv(feedback_csv, index=False)
        result = analyze(log, feedback_csv, unit="user", credit="competitive", seed=0)
    print(format_table(result.verdict, result.matching, result.data_quality))
    print()
    print("Clicks by position and drafting team")
    print(result.clicks_by_position.to_string(index=False))


if __name__ == "__main__":
    main()

"""``interleave-sdk analyze``: exit codes, JSON output and the verdict table."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import asdict, dataclass

import pytest

from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.cli import main

from .conftest import event, events, rec

ITEMS = [("a", "A", 1, 2), ("b", "B", 2, 1)]


@dataclass(frozen=True)
class CountingVerdict:
    """Counts only: stands in for the statistics module, which is built and tested separately."""

    winner: str
    wins_a: int
    wins_b: int
    ties: int
    impressions: int
    unit: str

    def as_dict(self) -> dict:
        return asdict(self)


@pytest.fixture
def counting_stats(monkeypatch):
    """Install a statistics module that tallies outcomes, so these tests see the CLI's plumbing."""
    module = types.ModuleType("interleave_sdk.analysis.stats")

    def compute_verdict(outcomes, *, unit="user", n_boot=1000, seed=0, alpha=0.05):
        clicked = outcomes[outcomes["clicked"]]
        wins = clicked["outcome"].value_counts()
        a, b = int(wins.get("A", 0)), int(wins.get("B", 0))
        winner = "A" if a > b else "B" if b > a else "none"
        return CountingVerdict(winner, a, b, int(wins.get("tie", 0)), len(clicked), unit)

    module.compute_verdict = compute_verdict
    monkeypatch.setitem(sys.modules, "interleave_sdk.analysis.stats", module)


@pytest.fixture
def inputs(tmp_path):
    log = write_json_lines(
        tmp_path / "log.jsonl", [rec("r1", "u1", 0, ITEMS), rec("r2", "u2", 5, ITEMS)]
    )
    fb = events(event("u1", "a", 3, rid="r1"), event("u2", "a", 9), event("u2", "x", 9))
    fb.to_csv(tmp_path / "fb.csv", index=False)
    return str(log), str(tmp_path / "fb.csv")


@pytest.mark.usefixtures("counting_stats")
def test_json_output_carries_verdict_and_counts(inputs, capsys):
    """--format json prints one object: the verdict keys, matching and data-quality counts."""
    log, fb = inputs
    code = main(
        [
            "analyze",
            "--exposures",
            log,
            "--feedback",
            fb,
            "--format",
            "json",
            "--unit",
            "impression",
            "--engine",
            "pandas",
        ]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["winner"], payload["wins_a"], payload["impressions"]) == ("A", 2, 2)
    assert payload["unit"] == "impression"
    assert payload["matching"] == {"by_ranking_id": 1, "by_window": 1, "unmatched": 1}
    assert payload["parameters"]["credit"] == "competitive"


@pytest.mark.usefixtures("counting_stats")
def test_table_output_names_the_winner(inputs, capsys):
    """The default table starts with the winner and lists the matching counts."""
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["winner", "A"]
    assert "matched by_window" in out


@pytest.mark.parametrize(
    "extra",
    [
        ["--credit", "first_click"],
        ["--unit", "session"],
        ["--window-hours", "-1"],
        ["--positive", "click", "--negative", "click"],
        ["--feedback-query", "SELECT 1"],
    ],
    ids=["credit", "unit", "window", "kinds", "query-without-dsn"],
)
def test_bad_arguments_exit_2(inputs, extra, capsys):
    """Unusable parameters exit 2 with a message, before any statistics run."""
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb, *extra]) == 2
    assert capsys.readouterr().err.strip()


def test_missing_file_exits_2_with_clear_message(tmp_path, capsys):
    """A missing exposures file is a bad argument, named in the message."""
    fb = tmp_path / "fb.csv"
    events().to_csv(fb, index=False)
    code = main(["analyze", "--exposures", str(tmp_path / "nope.jsonl"), "--feedback", str(fb)])
    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_postgres_dsn_requires_a_query(inputs, capsys):
    """A postgresql:// feedback source without --feedback-query is a bad argument."""
    log, _ = inputs
    assert main(["analyze", "--exposures", log, "--feedback", "postgresql://localhost/x"]) == 2
    assert "--feedback-query" in capsys.readouterr().err


def test_report_failure_exits_1(inputs, monkeypatch, capsys, counting_stats):
    """A failure after the inputs were accepted (here: writing the report) exits 1."""
    module = types.ModuleType("interleave_sdk.analysis.report")

    def write_report(result, directory):
        raise OSError(f"cannot write {directory}")

    module.write_report = write_report
    monkeypatch.setitem(sys.modules, "interleave_sdk.analysis.report", module)
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb, "--report", "out"]) == 1
    assert "cannot write out" in capsys.readouterr().err

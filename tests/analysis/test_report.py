"""The verdict table and the Markdown report with its plots."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interleave_sdk.analysis import report as report_module
from interleave_sdk.analysis.pipeline import AnalysisResult, summarize
from interleave_sdk.analysis.report import (
    PLOT_FILES,
    REPORT_FILE,
    format_table,
    p_value_figure,
    write_report,
)
from interleave_sdk.analysis.stats import compute_verdict
from interleave_sdk.errors import ReportError

from .outcome_frames import outcomes_frame, simulated_outcomes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _result(with_clicks: bool = True) -> AnalysisResult:
    outcomes = simulated_outcomes(
        np.random.default_rng(9), users=300, mean_impressions=3, p_a=0.55, p_b=0.25
    )
    matching = {"by_ranking_id": 700, "by_window": 150, "unmatched": 12}
    quality = {"malformed_lines": 3, "duplicate_events": 5}
    clicks = pd.DataFrame(
        {
            "position": [1, 1, 2, 2, 3],
            "source_ranker": ["A", "B", "A", "B", "A"],
            "clicks": [300, 250, 120, 100, 40],
        }
    )
    return summarize(
        outcomes,
        n_boot=200,
        series_points=10,
        clicks_by_position=clicks if with_clicks else None,
        matching=matching,
        data_quality=quality,
        experiment="homepage-ranker" if with_clicks else None,
    )


def _empty_result() -> AnalysisResult:
    return summarize(pd.DataFrame())


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5_000  # a drawn figure, not an empty file


# ---------------------------------------------------------------------------- write_report


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Reports written once per module, with and without per-position clicks."""
    base = tmp_path_factory.mktemp("reports")
    return {
        "with-clicks": write_report(_result(with_clicks=True), base / "with"),
        "without-clicks": write_report(_result(with_clicks=False), base / "without"),
    }


@pytest.mark.parametrize("case", ["with-clicks", "without-clicks"])
def test_report_writes_markdown_and_every_plot(written: dict[str, Path], case: str) -> None:
    """report.md and the three PNGs exist, are real PNGs, and the report links each one."""
    report = written[case]
    assert report.name == REPORT_FILE
    text = report.read_text(encoding="utf-8")
    for name in PLOT_FILES.values():
        _assert_png(report.parent / name)
        assert f"]({name})" in text


def test_report_states_the_verdict_and_the_counts(written: dict[str, Path]) -> None:
    """The Markdown carries the headline, the verdict table, matching and data-quality counts."""
    verdict = _result().verdict
    text = written["with-clicks"].read_text(encoding="utf-8")
    assert f"Users prefer **{verdict.winner}**" in text
    assert verdict.delta_ab is not None
    assert f"| ΔAB | {verdict.delta_ab:+.4f}" in text
    assert "| by_window | 150 |" in text
    assert "| duplicate_events | 5 |" in text


def test_click_share_plot_draws_the_data_when_given(written: dict[str, Path]) -> None:
    """With per-position clicks the plot differs from the no-data placeholder."""
    name = PLOT_FILES["click_share"]
    with_clicks = (written["with-clicks"].parent / name).read_bytes()
    assert with_clicks != (written["without-clicks"].parent / name).read_bytes()


def test_report_on_an_empty_result(tmp_path: Path) -> None:
    """No impressions at all: every file is still written and the report says so."""
    report = write_report(_empty_result(), tmp_path / "nested" / "dir")
    text = report.read_text(encoding="utf-8")
    assert "No clicked interleaved impressions yet" in text
    assert "Nothing to report." in text
    for name in PLOT_FILES.values():
        _assert_png(report.parent / name)


def test_report_warns_about_first_pick_imbalance(tmp_path: Path) -> None:
    """A drafting first in 80 of 100 interleavings puts a warning above the table."""
    frame = outcomes_frame(
        [f"u{i}" for i in range(100)], [1] * 100, [0] * 100, first_team=["A"] * 80 + ["B"] * 20
    )
    result = summarize(frame, n_boot=50, series_points=2)
    text = write_report(result, tmp_path).read_text(encoding="utf-8")
    assert "**Warning:** A drafted first in 80.0 %" in text


def test_unwritable_directory_raises_report_error(tmp_path: Path) -> None:
    """A path that is a file cannot hold the report: ReportError, chained to the OSError."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError) as info:
        write_report(_empty_result(), blocker)
    assert isinstance(info.value.__cause__, OSError)


def test_report_module_keeps_matplotlib_out_of_imports_and_pyplot_out_of_writing(
    tmp_path: Path,
) -> None:
    """Importing loads no matplotlib; writing uses the Agg canvas without pyplot's global state."""
    script = (
        "import sys, pandas as pd\n"
        "from interleave_sdk.analysis import pipeline, report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at import time'\n"
        f"report.write_report(pipeline.summarize(pd.DataFrame()), {str(tmp_path)!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / REPORT_FILE).exists()


# ---------------------------------------------------------------------------- format_table


def test_table_lists_every_headline_statistic() -> None:
    """Winner, ΔAB with CI, p-value, impressions, users, tie rate, contested share, first pick."""
    verdict = _result().verdict
    table = format_table(verdict)
    for label in (
        "winner",
        "ΔAB",
        "95 % CI",
        "p-value (sign test)",
        "impressions",
        "users",
        "tie rate",
        "contested share",
        "first-pick balance",
    ):
        assert label in table
    assert f"{verdict.delta_ab:+.4f}" in table
    assert f"{verdict.impressions:,} clicked" in table


def test_table_appends_matching_and_data_quality_counts() -> None:
    """Matching and data-quality entries follow the verdict, numbers with thousands separators."""
    table = format_table(_empty_result().verdict, {"by_ranking_id": 12345}, {"malformed_lines": 7})
    assert "Feedback matching" in table
    assert "12,345" in table
    assert "malformed_lines" in table


def test_table_of_an_empty_verdict_has_no_nan() -> None:
    """Undefined numbers read n/a, never nan."""
    table = format_table(_empty_result().verdict)
    assert "nan" not in table.lower()
    assert "n/a" in table
    assert "none (not significant" in table


def test_table_flags_first_pick_imbalance() -> None:
    """An imbalanced first pick is shouted, not hidden."""
    frame = outcomes_frame(
        [f"u{i}" for i in range(100)], [1] * 100, [0] * 100, first_team=["A"] * 80 + ["B"] * 20
    )
    assert "IMBALANCED" in format_table(compute_verdict(frame, n_boot=10))


def test_table_gives_the_power_estimate_in_clicked_and_interleaved_impressions() -> None:
    """55 vs 45 users, half the impressions clicked: further clicked and interleaved counts."""
    users = [f"u{i}" for i in range(100) for _ in range(2)]
    credit_a = [1 if i < 55 else 0 for i in range(100) for _ in range(2)]
    clicked = outcomes_frame(users, credit_a, [1 - a for a in credit_a])
    unclicked = outcomes_frame(users, [0] * 200, [0] * 200)
    verdict = compute_verdict(pd.concat([clicked, unclicked], ignore_index=True), n_boot=10)
    assert verdict.winner == "none"
    assert verdict.power_needed is not None
    table = format_table(verdict)
    assert f"~{verdict.power_needed:,} more clicked impressions for 80% power" in table
    assert f"~{2 * verdict.power_needed:,} interleaved at the current click rate" in table


# ---------------------------------------------------------------------------- what the report says


def test_report_names_the_experiment_and_the_arms(written: dict[str, Path]) -> None:
    """The title names the experiment from the log; the arms are named with their roles."""
    text = written["with-clicks"].read_text(encoding="utf-8")
    assert text.startswith("# Interleaving report: homepage-ranker")
    assert "- Experiment: `homepage-ranker`" in text
    assert "**A** (the baseline) against **B** (the challenger)" in text
    unnamed = written["without-clicks"].read_text(encoding="utf-8")
    assert "- Experiment: (not named in the log)" in unnamed


def test_report_defines_tie_rate_and_contested_share(written: dict[str, Path]) -> None:
    """Both terms are explained in words next to their numbers."""
    text = written["with-clicks"].read_text(encoding="utf-8")
    assert "of users prefer neither arm" in text
    assert "of shown slots lie outside the arms' common top prefix" in text
    assert "**Tie rate**: the share of units" in text
    assert "**Contested share**: the share of shown slots" in text


def test_report_shows_the_sequential_decision(written: dict[str, Path]) -> None:
    """The sequential decision, its always-valid p-value and stopping point are in the report."""
    result = _result()
    sequential = result.sequential
    assert sequential.decision == "A" and sequential.stopped_at is not None
    text = written["with-clicks"].read_text(encoding="utf-8")
    assert f"Sequential test: **A wins**; it could have stopped after {sequential.stopped_at:,}" in text
    assert "| always-valid p-value |" in text
    assert "confidence sequence |" in text


def test_method_line_says_what_each_statistic_counts(written: dict[str, Path]) -> None:
    """The unit line and the ΔAB line are separate, whole sentences."""
    text = written["with-clicks"].read_text(encoding="utf-8")
    assert (
        "- Unit of analysis: **user** (one vote per user: a user prefers the arm whose items "
        "earned more credit over all of that user's clicked impressions)."
    ) in text
    assert "- ΔAB counts clicked impressions, whatever the unit: ΔAB = (impressions A won" in text


def test_p_value_plot_draws_alpha_on_a_log_scale_that_shows_the_crossing() -> None:
    """A horizontal line at α, a log y-axis, and limits spanning α and the smallest p-value."""
    result = _result()
    axes = p_value_figure(result).axes[0]
    assert axes.get_yscale() == "log"
    alpha = result.verdict.alpha
    flat = [line for line in axes.get_lines() if list(line.get_ydata()) == [alpha, alpha]]
    assert len(flat) == 1
    low, high = axes.get_ylim()
    smallest = float(result.series[["p_value", "sequential_p"]].min().min())
    assert low <= smallest < alpha < high


def test_report_module_only_reads_result_fields() -> None:
    """report.py computes nothing: no aggregation calls and no statistics imported from the analysis."""
    tree = ast.parse(Path(report_module.__file__).read_text(encoding="utf-8"))
    aggregations = {
        "groupby", "sum", "mean", "median", "quantile", "cumsum", "std", "var", "min", "max",
        "nanmin", "nanmax", "count", "value_counts", "agg", "transform", "apply", "bincount",
        "unique", "nunique", "describe", "sort_values", "ceil", "floor", "sqrt",
    }  # fmt: skip
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not called & aggregations, called & aggregations
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("stats", "pipeline", "sequential")
        for alias in node.names
    }
    assert imported <= {"TARGET_POWER", "Verdict", "SequentialVerdict"}, imported

"""Human-readable output of an analysis: the verdict table the CLI prints and a Markdown report.

Renders a finished result and computes nothing: every number, series and share it shows was
computed by the analysis (``pipeline.AnalysisResult``); a test keeps statistics out of this module.
Plots draw on matplotlib's Agg canvas, chosen per figure inside the writer, so importing this
module or writing a report never switches a notebook's backend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from ..errors import ReportError
from .health import Check
from .preference import PairAnalysis, PairResult, Preference
from .sequential import SequentialVerdict
from .stats import TARGET_POWER, Verdict

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REPORT_FILE = "report.md"

#: The plots a report links, by role.
PLOT_FILES: Mapping[str, str] = {
    "cumulative": "cumulative_delta_ab.png",
    "p_value": "p_value.png",
    "click_share": "click_share_by_position.png",
}

_TEAM_COLOURS = {"A": "#1f77b4", "B": "#ff7f0e"}


class AnalysisResultLike(Protocol):
    """What a report reads from an analysis result; ``pipeline.AnalysisResult`` is one."""

    @property
    def verdict(self) -> Verdict: ...

    @property
    def sequential(self) -> SequentialVerdict: ...

    @property
    def series(self) -> pd.DataFrame: ...

    @property
    def click_shares(self) -> pd.DataFrame: ...

    @property
    def experiment(self) -> str | None: ...

    @property
    def arms(self) -> tuple[str, ...]: ...

    @property
    def preference(self) -> Preference: ...

    @property
    def pairs(self) -> Mapping[tuple[str, str], PairAnalysis]: ...

    @property
    def time_span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None: ...

    @property
    def matching(self) -> Mapping[str, object]: ...

    @property
    def data_quality(self) -> Mapping[str, object]: ...


# --------------------------------------------------------------------------------------------
# Formatting numbers for people


def _count(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "n/a" if not math.isfinite(float(value)) else f"{float(value):,.4g}"
    if value is None:
        return "n/a"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_count(v)}" for k, v in value.items())
    return str(value)


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.1f} %"


def _p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}" if value >= 1e-4 else f"{value:.2e}"


def _level(alpha: float) -> str:
    return f"{100.0 * (1.0 - alpha):g} %"


def _units_word(verdict: Verdict) -> str:
    return "users" if verdict.unit == "user" else "clicked impressions"


def _delta_text(verdict: Verdict) -> str:
    if verdict.delta_ab is None:
        return "n/a (no clicked impressions)"
    return (
        f"{_signed(verdict.delta_ab)}  [{_level(verdict.alpha)} CI "
        f"{_signed(verdict.ci_low)}, {_signed(verdict.ci_high)}]"
    )


def _first_pick_text(verdict: Verdict) -> str:
    if verdict.first_pick_share_a is None:
        return "n/a (no interleaved impressions)"
    state = "ok" if verdict.first_pick_ok else "IMBALANCED"
    return (
        f"{_percent(verdict.first_pick_share_a)} A first, {state} (p = {_p(verdict.first_pick_p)})"
    )


def _power_text(verdict: Verdict) -> str:
    if verdict.winner != "none":
        return "reached: the preference is significant"
    if verdict.power_needed is None:
        return "n/a: no preference observed to size a test for"
    text = f"~{verdict.power_needed:,} more clicked impressions for {TARGET_POWER:.0%} power"
    if verdict.power_needed_interleaved is not None:
        text += f" (~{verdict.power_needed_interleaved:,} interleaved at the current click rate)"
    return text


def _winner_text(verdict: Verdict) -> str:
    if verdict.winner == "none":
        return f"none (not significant at α = {verdict.alpha:g})"
    return verdict.winner


def _tie_text(verdict: Verdict) -> str:
    if verdict.tie_rate is None:
        return "n/a"
    return f"{_percent(verdict.tie_rate)} of {_units_word(verdict)} prefer neither arm"


def _contested_text(verdict: Verdict) -> str:
    if verdict.contested_share is None:
        return "n/a"
    return (
        f"{_percent(verdict.contested_share)} of shown slots lie outside the arms' common top "
        "prefix (where they disagree)"
    )


def _decision_text(sequential: SequentialVerdict) -> str:
    if sequential.decision == "continue":
        return f"continue (no arm preferred at α = {sequential.alpha:g} yet; keep collecting)"
    return f"{sequential.decision} wins (could stop after {sequential.stopped_at:,} units)"


def _sequence_text(sequential: SequentialVerdict) -> str:
    if sequential.ci_low is None:
        return "n/a (fewer than two units)"
    return f"{_signed(sequential.ci_low)}, {_signed(sequential.ci_high)}"


def _verdict_rows(verdict: Verdict) -> list[tuple[str, str]]:
    unit = "users" if verdict.unit == "user" else "impressions"
    return [
        ("winner", _winner_text(verdict)),
        ("ΔAB", _delta_text(verdict)),
        ("p-value (sign test)", _p(verdict.p_value)),
        ("p-value (t-test)", _p(verdict.t_test_p)),
        (
            "impressions",
            f"{verdict.impressions:,} clicked of {verdict.impressions_total:,} interleaved",
        ),
        ("users", f"{verdict.users:,} with clicks of {verdict.users_total:,}"),
        (
            f"wins A / B / ties ({unit})",
            f"{verdict.wins_a:,} / {verdict.wins_b:,} / {verdict.ties:,}",
        ),
        ("tie rate", _tie_text(verdict)),
        ("contested share", _contested_text(verdict)),
        ("first-pick balance", _first_pick_text(verdict)),
        ("power", _power_text(verdict)),
    ]


def _sequential_rows(sequential: SequentialVerdict) -> list[tuple[str, str]]:
    return [
        ("sequential decision", _decision_text(sequential)),
        ("always-valid p-value", _p(sequential.p_value)),
        (f"ΔAB {_level(sequential.alpha)} confidence sequence", _sequence_text(sequential)),
    ]


def _aligned(title: str, rows: Sequence[tuple[str, str]]) -> list[str]:
    width = max((len(label) for label, _ in rows), default=0)
    return [title] + [f"  {label.ljust(width)}  {value}" for label, value in rows]


def _mapping_rows(values: Mapping[str, object] | None) -> list[tuple[str, str]]:
    return [(str(key), _count(value)) for key, value in (values or {}).items()]


def _health_rows(checks: Sequence[Check]) -> list[tuple[str, str]]:
    return [(check.name, f"{check.status.upper():<4}  {check.message}") for check in checks]


def _versions_text(schema_versions: Mapping[str, Mapping[str, int]]) -> str:
    read = ", ".join(f"{v} ({_count(n)})" for v, n in schema_versions.get("read", {}).items())
    refused = ", ".join(f"{v} ({_count(n)})" for v, n in schema_versions.get("refused", {}).items())
    return (read or "none") + (f"; refused: {refused}" if refused else "")


def format_table(
    verdict: Verdict,
    matching: Mapping[str, object] | None = None,
    data_quality: Mapping[str, object] | None = None,
    *,
    sequential: SequentialVerdict | None = None,
    health: Sequence[Check] | None = None,
    schema_versions: Mapping[str, Mapping[str, int]] | None = None,
) -> str:
    """The verdict as an aligned plain-text table, followed by matching and data-quality counts.

    ``health`` (``AnalysisResult.health``) comes first: whether the data deserve the verdict.
    With ``sequential`` (``AnalysisResult.sequential``) the anytime-valid decision follows the
    fixed-horizon rows; ``schema_versions`` the log versions read (and refused) close them.
    """
    title = (
        f"Interleaving verdict (unit: {verdict.unit}, α = {verdict.alpha:g}, seed {verdict.seed})"
    )
    rows = _verdict_rows(verdict)
    if sequential is not None:
        rows += _sequential_rows(sequential)
    if schema_versions is not None:
        rows.append(("log schema versions", _versions_text(schema_versions)))
    lines = [*_aligned("Health", _health_rows(health)), ""] if health else []
    lines += _aligned(title, rows)
    for heading, values in (("Feedback matching", matching), ("Data quality", data_quality)):
        mapped = _mapping_rows(values)
        if mapped:
            lines += ["", *_aligned(heading, mapped)]
    return "\n".join(lines)


def _pair_rows(pairs: Mapping[tuple[str, str], PairAnalysis]) -> list[tuple[str, str]]:
    """One row per pair: wins, ΔAB with its interval, the sign test and the sequential decision."""
    rows = []
    for (a, b), pair in pairs.items():
        v, sv = pair.verdict, pair.sequential
        rows.append(
            (
                f"{a} vs {b}",
                f"wins {v.wins_a:,}/{v.wins_b:,}/{v.ties:,}, ΔAB {_delta_text(v)}, "
                f"p {_p(v.p_value)}, sequential {sv.decision} (p {_p(sv.p_value)})",
            )
        )
    return rows


def format_result(result: AnalysisResultLike) -> str:
    """What ``interleave-sdk analyze`` prints: one answer for any number of arms.

    Two arms: the verdict table (:func:`format_table`). Three or more: the best arm and the
    preference matrix first, then each pair's statistics, then the counts, so no block speaks of
    two arms where there are more.
    """
    health = getattr(result, "health", None)
    versions = getattr(result, "schema_versions", None)
    if len(result.arms) <= 2:
        return format_table(
            result.verdict,
            result.matching,
            result.data_quality,
            sequential=result.sequential,
            health=health,
            schema_versions=versions,
        )
    pref, verdict = result.preference, result.verdict
    title = (
        f"Multileaving verdict, {len(pref.arms)} arms (unit: {verdict.unit}, "
        f"α = {verdict.alpha:g}, seed {verdict.seed})"
    )
    rows = [
        ("best arm", best_arm_text(pref)),
        ("sequential best arm", sequential_best_text(pref)),
        ("clicked impressions", f"{pref.impressions:,} compared at least one pair"),
    ]
    if versions is not None:
        rows.append(("log schema versions", _versions_text(versions)))
    lines = [*_aligned("Health", _health_rows(health)), ""] if health else []
    lines += [*_aligned(title, rows), "", format_matrix(pref), ""]
    lines += _aligned("Pairs (wins row/column/ties; ΔAB > 0: the first arm)", _pair_rows(result.pairs))
    for heading, values in (("Feedback matching", result.matching), ("Data quality", result.data_quality)):
        mapped = _mapping_rows(values)
        if mapped:
            lines += ["", *_aligned(heading, mapped)]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The preference matrix (N arms)


def _cell(pair: PairResult) -> str:
    return f"{pair.wins}/{pair.losses}/{pair.ties} (p_holm {pair.p_holm:.3g})"


def matrix_rows(pref: Preference) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the matrix: cell (i, j) reads 'wins/losses/ties (p_holm)' of i over j."""
    header = ["arm", *pref.arms]
    rows = [
        [row, *("—" if col == row else _cell(pref.matrix[row][col]) for col in pref.arms)]
        for row in pref.arms
    ]
    return header, rows


def best_arm_text(pref: Preference) -> str:
    if pref.best_arm is None:
        return f"no arm beats every other significantly (Holm-corrected, α = {pref.alpha:g})"
    return f"{pref.best_arm} beats every other arm (Holm-corrected sign tests, α = {pref.alpha:g})"


def sequential_best_text(pref: Preference) -> str:
    if pref.sequential_best_arm is None:
        return "continue (no arm beats every other at any-look validity yet)"
    return (
        f"{pref.sequential_best_arm} beats every other arm (Holm-corrected always-valid "
        f"p-values, α = {pref.alpha:g})"
    )


def format_matrix(pref: Preference) -> str:
    """The matrix as aligned plain text, for the CLI."""
    header, rows = matrix_rows(pref)
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = [f"Preference matrix (unit: {pref.unit}; wins/losses/ties of row over column)"]
    for r in [header, *rows]:
        lines.append(("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip())
    lines.append(f"  best arm: {best_arm_text(pref)}")
    lines.append(f"  sequential: {sequential_best_text(pref)}")
    return "\n".join(lines)


def matrix_markdown(pref: Preference) -> list[str]:
    """The matrix as a Markdown section, for the report."""
    header, rows = matrix_rows(pref)
    lines = [
        "## Preference matrix",
        "",
        f"Cell (row, column): {pref.unit}s preferring the row arm / the column arm / neither, "
        "and the Holm-corrected sign-test p-value of the pair.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += [
        "",
        f"Best arm: {best_arm_text(pref)}.",
        "",
        f"Sequential: {sequential_best_text(pref)}.",
        "",
    ]
    return lines


# --------------------------------------------------------------------------------------------
# Plots


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.0), dpi=100)
    FigureCanvasAgg(figure)  # attaches a headless canvas to this figure only
    # Fixed margins: an automatic layout engine would triple the drawing time of a report.
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.9)
    return figure, figure.add_subplot()


def _no_data(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _floats(series: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def cumulative_figure(result: AnalysisResultLike) -> Figure:
    """ΔAB over time with the bootstrap interval (one look) and the confidence sequence (any look)."""
    return pair_cumulative_figure(result.series, result.verdict, (result.arms[0], result.arms[-1]))


def pair_cumulative_figure(series: pd.DataFrame, verdict: Verdict, arms: tuple[str, str]) -> Figure:
    """The cumulative ΔAB plot of one pair (``arms``: the pair, the first in A's role)."""
    figure, axes = _figure()
    delta = _floats(series["delta_ab"]) if len(series) else np.zeros(0)
    if np.isfinite(delta).any():
        x = _floats(series["impressions_total"])
        axes.fill_between(
            x,
            _floats(series["sequential_low"]),
            _floats(series["sequential_high"]),
            alpha=0.15,
            color="grey",
            label=f"{_level(verdict.alpha)} confidence sequence (valid at every look)",
        )
        axes.fill_between(
            x,
            _floats(series["ci_low"]),
            _floats(series["ci_high"]),
            alpha=0.3,
            label=f"{_level(verdict.alpha)} CI ({verdict.unit} bootstrap, one look only)",
        )
        axes.plot(x, delta, marker=".", label="ΔAB")
        axes.axhline(0.0, color="black", linewidth=0.8)
        axes.set_xlabel("interleaved impressions (in time order)")
        axes.set_ylabel(f"ΔAB (> 0: users prefer {arms[0]})")
        axes.legend(loc="best", fontsize=8)
    else:
        _no_data(axes, "no clicked impressions yet")
    axes.set_title(f"Cumulative ΔAB, {arms[0]} against {arms[1]}")
    return figure


def p_value_figure(result: AnalysisResultLike) -> Figure:
    """Both p-values over time on a log scale, with the α line they are read against."""
    return pair_p_value_figure(result.series, result.verdict, (result.arms[0], result.arms[-1]))


def pair_p_value_figure(series: pd.DataFrame, verdict: Verdict, arms: tuple[str, str]) -> Figure:
    """The p-value plot of one pair."""
    figure, axes = _figure()
    if len(series):
        x = _floats(series["impressions_total"])
        fixed = np.clip(_floats(series["p_value"]), 1e-300, 1.0)
        always = np.clip(_floats(series["sequential_p"]), 1e-300, 1.0)
        axes.plot(x, fixed, marker=".", label="sign-test p (fixed horizon: read once)")
        axes.plot(x, always, marker=".", label="always-valid p (sequential: read any time)")
        axes.axhline(verdict.alpha, color="red", linestyle="--", label=f"α = {verdict.alpha:g}")
        # Log scale, autoscaled over the curves and the α line: a crossing is always in view.
        axes.set_yscale("log")
        axes.set_xlabel("interleaved impressions (in time order)")
        axes.set_ylabel(f"p-value ({verdict.unit} level, log scale)")
        axes.legend(loc="lower left", fontsize=8)
    else:
        _no_data(axes, "no impressions yet")
    axes.set_title(f"p-values as impressions accumulate, {arms[0]} against {arms[1]}")
    return figure


def click_share_figure(result: AnalysisResultLike) -> Figure:
    """Share of all clicks per position and drafting team."""
    shares = result.click_shares
    figure, axes = _figure()
    if len(shares) and (_floats(shares["clicks"]) > 0).any():
        positions = sorted(dict.fromkeys(int(p) for p in shares["position"]))
        teams = sorted(dict.fromkeys(str(t) for t in shares["source_ranker"]))
        width = 0.8 / len(teams)
        index = {p: i for i, p in enumerate(positions)}
        for t, team in enumerate(teams):
            rows = shares[shares["source_ranker"] == team]
            x = np.array([index[int(p)] for p in rows["position"]], dtype=np.float64)
            axes.bar(
                x - 0.4 + width * (t + 0.5),
                _floats(rows["share"]),
                width=width,
                label=f"team {team}",
                color=_TEAM_COLOURS.get(team),
            )
        axes.set_xticks(range(len(positions)), [str(p) for p in positions])
        axes.set_xlabel("position in the served list")
        axes.set_ylabel("share of all clicks")
        axes.legend(loc="best")
    else:
        _no_data(axes, "no per-position click data")
    axes.set_title("Click share by position and team")
    return figure


# --------------------------------------------------------------------------------------------
# The Markdown report


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: tuple[str, str], rows: Sequence[tuple[str, str]]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    return lines + [f"| {_md(label)} | {_md(value)} |" for label, value in rows]


def _headline(verdict: Verdict) -> str:
    if verdict.impressions == 0:
        return "No clicked interleaved impressions yet: there is nothing to compare."
    if verdict.winner == "none":
        return (
            f"No significant preference at α = {verdict.alpha:g} "
            f"(sign-test p = {_p(verdict.p_value)}, ΔAB {_signed(verdict.delta_ab)})."
        )
    return (
        f"Users prefer **{verdict.winner}**: ΔAB {_signed(verdict.delta_ab)} "
        f"({_level(verdict.alpha)} CI {_signed(verdict.ci_low)} to {_signed(verdict.ci_high)}), "
        f"sign-test p = {_p(verdict.p_value)}."
    )


def _sequential_headline(sequential: SequentialVerdict) -> str:
    if sequential.decision == "continue":
        return (
            f"Sequential test: **continue**: no arm is preferred at α = {sequential.alpha:g} "
            f"after {sequential.units:,} units (always-valid p = {_p(sequential.p_value)})."
        )
    return (
        f"Sequential test: **{sequential.decision} wins**; it could have stopped after "
        f"{sequential.stopped_at:,} of {sequential.units:,} units "
        f"(always-valid p = {_p(sequential.p_value)})."
    )


def _about(result: AnalysisResultLike) -> list[str]:
    a, b = result.arms[0], result.arms[-1]
    experiment = f"`{result.experiment}`" if result.experiment else "(not named in the log)"
    lines = [
        f"- Experiment: {experiment}",
        f"- Arms: **{a}** (the baseline) against **{b}** (the challenger).",
    ]
    if result.time_span is not None:
        first, last = result.time_span
        lines.append(f"- Impressions from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC.")
    return lines


def _markdown(result: AnalysisResultLike) -> str:
    verdict, sequential = result.verdict, result.sequential
    title = f"# Interleaving report: {result.experiment}" if result.experiment else (
        "# Interleaving report"
    )
    lines = [title, "", *_about(result), ""]
    checks = getattr(result, "health", None) or []
    if checks:
        lines += ["## Health", ""]
        lines += _md_table(("check", "status"), [(c.name, f"{c.status}: {c.message}") for c in checks])
        lines.append("")
    lines += [_headline(verdict), "", _sequential_headline(sequential), ""]
    if not verdict.first_pick_ok:
        lines += [
            f"> **Warning:** A drafted first in {_percent(verdict.first_pick_share_a)} of "
            f"interleavings (p = {_p(verdict.first_pick_p)}); Team Draft should give ~50 %. "
            "Check the seeding before trusting the verdict.",
            "",
        ]
    rows = _verdict_rows(verdict) + _sequential_rows(sequential)
    versions = getattr(result, "schema_versions", None)
    if versions:
        rows.append(("log schema versions", _versions_text(versions)))
    lines += _md_table(("statistic", "value"), rows)
    holdout = getattr(result, "holdout", None)
    if holdout is not None:  # the analysis computed it; rendering only
        lines += [
            "",
            "## Measurement holdout",
            "",
            holdout.sentence() + ": positive feedback per impression, interleaved users against "
            "held-out users served the baseline alone (user-clustered interval).",
        ]
    lines += [
        "",
        "**Tie rate**: the share of units (users by default) whose clicks favour neither arm. "
        "**Contested share**: the share of shown slots outside the common top prefix of the two "
        "arms' lists, i.e. where the rankers actually disagree; only those slots can separate them.",
        "",
        "## Over time",
        "",
        f"Both verdicts on {len(result.series):,} growing prefixes of the impressions, in time "
        "order. The fixed-horizon p-value and interval are valid only at the sample size planned "
        "in advance: stopping at its first dip below α (peeking) makes false positives far more "
        "likely than α. The always-valid p-value and the confidence sequence may be read at every "
        "look.",
        "",
        f"![Cumulative ΔAB with its confidence band and sequence]({PLOT_FILES['cumulative']})",
        "",
        f"![Fixed-horizon and always-valid p-values against α]({PLOT_FILES['p_value']})",
        "",
        "## Where clicks land",
        "",
        f"![Click share by position and team]({PLOT_FILES['click_share']})",
        "",
    ]
    for heading, values in (
        ("Feedback matching", result.matching),
        ("Data quality", result.data_quality),
    ):
        lines += [f"## {heading}", ""]
        rows = _mapping_rows(values)
        lines += _md_table(("count", "value"), rows) if rows else ["Nothing to report."]
        lines.append("")
    if verdict.unit == "user":
        votes = (
            "one vote per user: a user prefers the arm whose items earned more credit over all "
            "of that user's clicked impressions"
        )
    else:
        votes = "one vote per clicked impression: the arm that earned more credit on it"
    lines += [
        "## Method",
        "",
        f"- Unit of analysis: **{verdict.unit}** ({votes}). Wins, ties, the sign test, the t-test "
        "and the sequential test count these votes.",
        "- ΔAB counts clicked impressions, whatever the unit: ΔAB = (impressions A won + ties/2) "
        "/ clicked impressions − ½ (Chapelle, Joachims, Radlinski & Yue, TOIS 2012).",
        f"- Confidence interval: percentile {verdict.unit}-level bootstrap, {verdict.n_boot:,} "
        f"resamples, seed {verdict.seed}.",
        "- Sign test: exact two-sided binomial test on non-tied votes against ½.",
        "- Sequential test: Beta-mixture sequential probability ratio test on the non-tied votes, "
        "units in order of first exposure, impressions scored once their attribution window has "
        "closed; always-valid p = 1 / the largest mixture likelihood ratio so far. Confidence "
        "sequence: normal mixture on the per-unit linearised ΔAB.",
        "- Impressions without attributed feedback are ties and leave ΔAB and the tests unchanged.",
        "",
    ]
    return "\n".join(lines)


def pair_plot_files(index: int) -> dict[str, str]:
    """The plot files of the ``index``-th pair (0-based, in the result's pair order), N >= 3."""
    return {role: f"pair{index + 1}_{name}" for role, name in PLOT_FILES.items() if role != "click_share"}


def _n_arm_headline(pref: Preference) -> str:
    if pref.impressions == 0:
        return "No clicked interleaved impressions yet: there is nothing to compare."
    if pref.best_arm is None:
        return (
            f"No arm beats every other significantly at α = {pref.alpha:g} (Holm-corrected sign "
            f"tests over {len(pref.arms) * (len(pref.arms) - 1) // 2} pairs); see the matrix."
        )
    return f"Users prefer **{pref.best_arm}** to every other arm ({best_arm_text(pref)})."


def _n_arm_markdown(result: AnalysisResultLike) -> str:
    """The report of three or more arms: the best arm and the matrix lead, then every pair."""
    pref, verdict = result.preference, result.verdict
    title = f"# Interleaving report: {result.experiment}" if result.experiment else (
        "# Interleaving report"
    )
    experiment = f"`{result.experiment}`" if result.experiment else "(not named in the log)"
    lines = [
        title,
        "",
        f"- Experiment: {experiment}",
        f"- Arms: {', '.join(f'**{arm}**' for arm in pref.arms)}, multileaved: every pair is "
        "compared on the impressions that showed both.",
    ]
    if result.time_span is not None:
        first, last = result.time_span
        lines.append(f"- Impressions from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC.")
    lines += [
        "",
        _n_arm_headline(pref),
        "",
        f"Sequential test: **{pref.sequential_best_arm or 'continue'}** "
        f"({sequential_best_text(pref)}).",
        "",
        *matrix_markdown(pref),
        "## Pairs",
        "",
        "Each pair's two-arm statistics, the first arm in A's role (ΔAB > 0: users prefer it). "
        "Its p-values are per pair; the matrix's Holm-corrected ones decide.",
        "",
    ]
    for n, ((a, b), pair) in enumerate(result.pairs.items()):
        files = pair_plot_files(n)
        lines += [f"### {a} against {b}", ""]
        lines += _md_table(
            ("statistic", "value"), _verdict_rows(pair.verdict) + _sequential_rows(pair.sequential)
        )
        lines += [
            "",
            f"![Cumulative ΔAB, {a} against {b}]({files['cumulative']})",
            "",
            f"![p-values, {a} against {b}]({files['p_value']})",
            "",
        ]
    lines += [
        "## Where clicks land",
        "",
        f"![Click share by position and team]({PLOT_FILES['click_share']})",
        "",
    ]
    for heading, values in (("Feedback matching", result.matching), ("Data quality", result.data_quality)):
        lines += [f"## {heading}", ""]
        rows = _mapping_rows(values)
        lines += _md_table(("count", "value"), rows) if rows else ["Nothing to report."]
        lines.append("")
    lines += [
        "## Method",
        "",
        f"- Unit of analysis: **{verdict.unit}**. For each pair, a unit prefers the arm whose "
        "items earned more credit over its clicked impressions that showed both arms.",
        "- Each pair: the two-arm statistics (sign test, ΔAB with its bootstrap interval, "
        "sequential test). Across pairs: Holm's step-down correction of the sign tests (fixed "
        "horizon) and of the always-valid p-values (any look), family-wise error rate α.",
        "- Best arm: the arm that beats every other arm after the correction.",
        "",
    ]
    return "\n".join(lines)


def write_report(result: AnalysisResultLike, out_dir: str | Path) -> Path:
    """Write ``report.md`` and its PNG plots into ``out_dir`` (created if needed); return its path.

    Everything drawn comes from ``result``: the series' last point is the verdict in the table
    because the analysis computed both with the same unit, seed, resamples and α.
    """
    directory = Path(out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if len(result.arms) > 2:
            for n, (arms, pair) in enumerate(result.pairs.items()):
                files = pair_plot_files(n)
                figure = pair_cumulative_figure(pair.series, pair.verdict, arms)
                figure.savefig(directory / files["cumulative"])
                pair_p_value_figure(pair.series, pair.verdict, arms).savefig(directory / files["p_value"])
            text = _n_arm_markdown(result)
        else:
            cumulative_figure(result).savefig(directory / PLOT_FILES["cumulative"])
            p_value_figure(result).savefig(directory / PLOT_FILES["p_value"])
            text = _markdown(result)
        click_share_figure(result).savefig(directory / PLOT_FILES["click_share"])
        report = directory / REPORT_FILE
        report.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportError(str(directory), exc.strerror or str(exc)) from exc
    return report

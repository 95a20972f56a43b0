"""Human-readable output of an analysis: the verdict table the CLI prints and a Markdown report.

Reads a finished result (verdict, outcomes, matching and data-quality counts) and computes only the
cumulative series it plots. Plots draw on matplotlib's Agg canvas, chosen per figure inside the
writer, so importing this module or writing a report never switches a notebook's backend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from ..errors import ReportError
from .stats import TARGET_POWER, Verdict, click_share_by_position, cumulative_series

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
    """What a report needs from an analysis result; the pipeline's result object satisfies it.

    An optional ``clicks_by_position`` attribute (columns position, source_ranker, clicks) adds the
    click-share plot's data; without it the plot says that the data is missing.
    """

    @property
    def verdict(self) -> Verdict: ...

    @property
    def outcomes(self) -> pd.DataFrame: ...

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


def _level(verdict: Verdict) -> str:
    return f"{100.0 * (1.0 - verdict.alpha):g} %"


def _delta_text(verdict: Verdict) -> str:
    if verdict.delta_ab is None:
        return "n/a (no clicked impressions)"
    return (
        f"{_signed(verdict.delta_ab)}  [{_level(verdict)} CI "
        f"{_signed(verdict.ci_low)}, {_signed(verdict.ci_high)}]"
    )


def _first_pick_text(verdict: Verdict) -> str:
    if verdict.first_pick_share_a is None:
        return "n/a (no interleaved impressions)"
    state = "ok" if verdict.first_pick_ok else "IMBALANCED"
    return (
        f"{_percent(verdict.first_pick_share_a)} A first, {state} (p = {_p(verdict.first_pick_p)})"
    )


def _click_rate(verdict: Verdict) -> float | None:
    if verdict.impressions_total == 0:
        return None
    return verdict.impressions / verdict.impressions_total


def _power_text(verdict: Verdict) -> str:
    if verdict.winner != "none":
        return "reached: the preference is significant"
    if verdict.power_needed is None:
        return "n/a: no preference observed to size a test for"
    text = f"~{verdict.power_needed:,} more clicked impressions for {TARGET_POWER:.0%} power"
    rate = _click_rate(verdict)
    if rate:
        text += (
            f" (~{math.ceil(verdict.power_needed / rate):,} interleaved at the current click rate)"
        )
    return text


def _winner_text(verdict: Verdict) -> str:
    if verdict.winner == "none":
        return f"none (not significant at α = {verdict.alpha:g})"
    return verdict.winner


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
        ("tie rate", _percent(verdict.tie_rate)),
        ("contested share", _percent(verdict.contested_share)),
        ("first-pick balance", _first_pick_text(verdict)),
        ("power", _power_text(verdict)),
    ]


def _aligned(title: str, rows: Sequence[tuple[str, str]]) -> list[str]:
    width = max((len(label) for label, _ in rows), default=0)
    return [title] + [f"  {label.ljust(width)}  {value}" for label, value in rows]


def _mapping_rows(values: Mapping[str, object] | None) -> list[tuple[str, str]]:
    return [(str(key), _count(value)) for key, value in (values or {}).items()]


def format_table(
    verdict: Verdict,
    matching: Mapping[str, object] | None = None,
    data_quality: Mapping[str, object] | None = None,
) -> str:
    """The verdict as an aligned plain-text table, followed by matching and data-quality counts."""
    title = (
        f"Interleaving verdict (unit: {verdict.unit}, α = {verdict.alpha:g}, seed {verdict.seed})"
    )
    lines = _aligned(title, _verdict_rows(verdict))
    for heading, values in (("Feedback matching", matching), ("Data quality", data_quality)):
        rows = _mapping_rows(values)
        if rows:
            lines += ["", *_aligned(heading, rows)]
    return "\n".join(lines)


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


def _plot_cumulative(series: pd.DataFrame, verdict: Verdict, path: Path) -> None:
    figure, axes = _figure()
    x = _floats(series["impressions_total"])
    delta = _floats(series["delta_ab"])
    if np.isfinite(delta).any():
        axes.fill_between(
            x,
            _floats(series["ci_low"]),
            _floats(series["ci_high"]),
            alpha=0.25,
            label=f"{_level(verdict)} CI ({verdict.unit} bootstrap)",
        )
        axes.plot(x, delta, marker=".", label="ΔAB")
        axes.axhline(0.0, color="black", linewidth=0.8)
        axes.set_xlabel("interleaved impressions (in time order)")
        axes.set_ylabel("ΔAB (> 0: users prefer A)")
        axes.legend(loc="best")
    else:
        _no_data(axes, "no clicked impressions yet")
    axes.set_title("Cumulative ΔAB")
    figure.savefig(path)


def _plot_p_value(series: pd.DataFrame, verdict: Verdict, path: Path) -> None:
    figure, axes = _figure()
    p = _floats(series["p_value"])
    if p.size:
        axes.plot(_floats(series["impressions_total"]), np.clip(p, 1e-300, 1.0), marker=".")
        axes.axhline(verdict.alpha, color="red", linestyle="--", label=f"α = {verdict.alpha:g}")
        axes.set_yscale("log")
        axes.set_xlabel("interleaved impressions (in time order)")
        axes.set_ylabel(f"sign-test p-value ({verdict.unit} level)")
        axes.legend(loc="best")
    else:
        _no_data(axes, "no impressions yet")
    axes.set_title("p-value as impressions accumulate (peeking inflates false positives)")
    figure.savefig(path)


def _plot_click_share(clicks: pd.DataFrame | None, path: Path) -> None:
    figure, axes = _figure()
    shares = click_share_by_position(clicks if clicks is not None else pd.DataFrame())
    if len(shares) and float(shares["clicks"].sum()) > 0:
        positions = sorted(int(p) for p in shares["position"].unique())
        teams = sorted(str(t) for t in shares["source_ranker"].unique())
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
    figure.savefig(path)


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
        f"({_level(verdict)} CI {_signed(verdict.ci_low)} to {_signed(verdict.ci_high)}), "
        f"sign-test p = {_p(verdict.p_value)}."
    )


def _time_span(outcomes: pd.DataFrame) -> str | None:
    if len(outcomes) == 0 or "ts" not in outcomes.columns:
        return None
    ts = pd.to_datetime(outcomes["ts"], utc=True).dropna()
    if ts.empty:
        return None
    return f"{ts.min():%Y-%m-%d %H:%M} to {ts.max():%Y-%m-%d %H:%M} UTC"


def _markdown(result: AnalysisResultLike, series_points: int) -> str:
    verdict = result.verdict
    lines = ["# Interleaving report", "", _headline(verdict), ""]
    if not verdict.first_pick_ok:
        lines += [
            f"> **Warning:** A drafted first in {_percent(verdict.first_pick_share_a)} of "
            f"interleavings (p = {_p(verdict.first_pick_p)}); Team Draft should give ~50 %. "
            "Check the seeding before trusting the verdict.",
            "",
        ]
    rows = _verdict_rows(verdict)
    span = _time_span(result.outcomes)
    if span:
        rows.append(("time span", span))
    lines += _md_table(("statistic", "value"), rows)
    preference = getattr(result, "preference", None)
    if preference is not None and len(preference.arms) > 2:
        from .multileave import matrix_markdown  # rendering only: the analysis computed it

        lines += ["", *matrix_markdown(preference)]
    lines += [
        "",
        "## Over time",
        "",
        f"ΔAB and its interval on {series_points} growing prefixes of the impressions, in time "
        "order. Decide at the sample size you planned: stopping at the first dip below α "
        "(peeking) makes false positives far more likely than α.",
        "",
        f"![Cumulative ΔAB with its confidence band]({PLOT_FILES['cumulative']})",
        "",
        f"![Sign-test p-value over impressions]({PLOT_FILES['p_value']})",
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
    counted = (
        "users (a user prefers the arm with more summed credit)"
        if verdict.unit == "user"
        else "impressions"
    )
    lines += [
        "## Method",
        "",
        f"- Unit of analysis: **{verdict.unit}**. Wins, ties, the sign test and the t-test count "
        f"{counted}; "
        "ΔAB = (wins A + ties/2) / clicked impressions − ½ counts impressions "
        "(Chapelle, Joachims, Radlinski & Yue, TOIS 2012).",
        f"- Interval: percentile {verdict.unit}-level bootstrap, {verdict.n_boot:,} resamples, "
        f"seed {verdict.seed}.",
        "- Sign test: exact two-sided binomial test on non-tied outcomes against ½.",
        "- Impressions without attributed feedback are ties and leave ΔAB and the tests unchanged.",
        "",
    ]
    return "\n".join(lines)


def write_report(result: AnalysisResultLike, out_dir: str | Path, *, points: int = 50) -> Path:
    """Write ``report.md`` and its PNG plots into ``out_dir`` (created if needed); return its path.

    The cumulative plots use the verdict's own unit, seed, resamples and α, so their last point is
    the verdict in the table.
    """
    directory = Path(out_dir)
    verdict = result.verdict
    series = cumulative_series(
        result.outcomes,
        points=points,
        unit=verdict.unit,
        n_boot=verdict.n_boot,
        seed=verdict.seed,
        alpha=verdict.alpha,
    )
    clicks: pd.DataFrame | None = getattr(result, "clicks_by_position", None)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _plot_cumulative(series, verdict, directory / PLOT_FILES["cumulative"])
        _plot_p_value(series, verdict, directory / PLOT_FILES["p_value"])
        _plot_click_share(clicks, directory / PLOT_FILES["click_share"])
        report = directory / REPORT_FILE
        report.write_text(_markdown(result, points), encoding="utf-8")
    except OSError as exc:
        raise ReportError(str(directory), exc.strerror or str(exc)) from exc
    return report

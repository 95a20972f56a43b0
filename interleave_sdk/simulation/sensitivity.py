"""The sensitivity study: impressions needed for 80 % power, interleaving against A/B, at real margins.

For each comparison (v1 against a version better by 0.5–5 % nDCG@10, measured with a paired
confidence interval) and click model, and for each of several independent replicates (its own
ranked requests, interleavings and clicks, from random streams keyed by comparison, model and
replicate, so no unlucky draw repeats across rows), the fast path measures the per-impression
outcome distributions of both tests. The size for 80 % power in the true direction then follows
exactly for the sign test (binomial sums, found by bisection to 1 %) and by the normal
approximation for Welch's test; the ratio A/B ÷ interleaving gets a 95 % interval over the
replicates. A second table sets the user-level sequential test, read at 200 looks, against the
fixed-horizon test at its own 80 % power size. Run it with
``python -m interleave_sdk.simulation.sensitivity --out DIR``; it writes ``sensitivity.md`` and
``sensitivity.json``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from .click_models import get_click_model
from .fast_path import ab_metrics, build_pool, draw_interleavings, resample_experiments
from .monitoring import fixed_horizon_power, monitor_interleaving
from .power import sign_test_n80, welch_n80
from .simulator import Scenario
from .study_files import write_study

MODELS = ("perfect", "navigational", "informational", "almost_random", "position_based")
SEQUENTIAL_MODELS = ("navigational", "informational")


@dataclass(frozen=True)
class Comparison:
    """v1 (A) against version ``b`` built with the sample app's quality knobs ``knobs``."""

    label: str
    b: str
    knobs: dict[str, float] = field(default_factory=dict)
    ndcg_requests: int | None = None  # paired requests for its gap (None: the study's setting)


#: The tweak regime (v1's mistakes, a little more truth) at four sizes, and v2 (its own mistakes);
#: knob values chosen so the measured nDCG@10 gains span 0.5–5 %. v2's lists differ from v1's on
#: most slots, so its gain is measured far less precisely (see the interval in the table).
COMPARISONS: tuple[Comparison, ...] = (
    Comparison("tweak 0.001", "v1_tweak", {"tweak": 0.001}),
    Comparison("tweak 0.002", "v1_tweak", {"tweak": 0.002}),
    Comparison("tweak 0.004", "v1_tweak", {"tweak": 0.004}),
    Comparison("tweak 0.007", "v1_tweak", {"tweak": 0.007}),
    # v2's per-request nDCG differences are wide, so its gap needs many more paired requests.
    Comparison("v2 gap 0.005", "v2", {"gap": 0.005}, ndcg_requests=12_000),
)


@dataclass(frozen=True)
class StudySettings:
    pool: int = 1000  # ranked requests per (comparison, replicate)
    draws: int = 10_000  # interleaved impressions per (comparison, replicate)
    ab_repeats: int = 8  # clicks simulated per pool entry and arm for the A/B distributions
    replicates: int = 5  # independent replicates per row: the intervals come from their spread
    ndcg_requests: int = 4000  # paired requests for the measured nDCG@10 gap
    experiments: int = 200  # simulated experiments per sequential-vs-fixed row
    looks: int = 200  # looks of the sequential test per experiment
    alpha: float = 0.05
    seed: int = 0


ScenarioFactory = Callable[..., Scenario]


def _stream(settings: StudySettings, *keys: int) -> int:
    """A seed of its own for every (comparison, model, replicate, purpose)."""
    return int(np.random.SeedSequence([settings.seed, *keys]).generate_state(1)[0])


def measured_gap(scenario: Any, requests: int) -> dict[str, float]:
    """Mean nDCG@10 of A and B on the same requests, and the relative gain with a 95 % interval."""
    a = scenario.world.ndcg_values(scenario.a, requests)
    b = scenario.world.ndcg_values(scenario.b, requests)
    diff = b - a
    half = 1.96 * float(diff.std(ddof=1)) / math.sqrt(diff.size)
    base = float(a.mean())
    return {
        "ndcg_a": base,
        "ndcg_b": float(b.mean()),
        "gain": float(diff.mean()) / base,
        "gain_low": (float(diff.mean()) - half) / base,
        "gain_high": (float(diff.mean()) + half) / base,
    }


def replicate_row(
    pool: Any, draws: Any, model_name: str, better: int, settings: StudySettings, stream: int
) -> dict[str, Any]:
    """One replicate of one row: per-impression distributions, sizes for 80 % power, directions."""
    model = get_click_model(model_name)
    rng = np.random.default_rng(stream)
    out: dict[str, Any] = {}
    for credit in ("competitive", "team_draft"):
        codes = draws.codes(model, rng, credit)
        p_a, p_b = float((codes > 0).mean()), float((codes < 0).mean())
        out[f"il_{credit}_n80"] = sign_test_n80(p_a, p_b, better, settings.alpha)
        out[f"il_{credit}_right"] = bool(np.sign(p_a - p_b) == better)
        out[f"il_{credit}_tie_rate"] = float((codes == 0).mean())
    metrics = ab_metrics(pool, model, rng, settings.ab_repeats)
    for metric in ("rr", "clicks"):
        a, b = metrics["A"][metric], metrics["B"][metric]
        mean_a, mean_b = float(a.mean()), float(b.mean())
        out[f"ab_{metric}_n80"] = welch_n80(
            mean_a, float(a.var(ddof=1)), mean_b, float(b.var(ddof=1)), better, settings.alpha
        )
        out[f"ab_{metric}_right"] = bool(np.sign(mean_a - mean_b) == better)
    il, ab = out["il_competitive_n80"], out["ab_rr_n80"]
    out["ratio"] = None if il is None or ab is None else ab / il
    return out


def summarise(values: Sequence[float | None]) -> dict[str, Any]:
    """Median over replicates, and a 95 % interval for the mean of the logs (a geometric mean).

    A ``None`` (never reached) makes the median and interval ``None`` unless most replicates
    reached it; the count of ``None`` is kept.
    """
    known = np.array([v for v in values if v is not None], dtype=np.float64)
    out: dict[str, Any] = {"values": list(values), "missing": len(values) - int(known.size)}
    if known.size <= len(values) / 2:
        return {**out, "median": None, "low": None, "high": None}
    out["median"] = float(np.median(np.concatenate([known, np.full(out["missing"], np.inf)])))
    if known.size >= 2 and out["missing"] == 0:
        logs = np.log(known)
        half = float(stats.t.ppf(0.975, logs.size - 1)) * float(logs.std(ddof=1)) / math.sqrt(logs.size)
        out["low"], out["high"] = math.exp(logs.mean() - half), math.exp(logs.mean() + half)
    else:
        out["low"] = out["high"] = None
    return out


def sequential_row(
    pool: Any, draws: Any, model_name: str, better: int, horizon: int, settings: StudySettings, stream: int
) -> dict[str, Any]:
    """User-level sequential test at ``settings.looks`` looks against the fixed test's 80 % size."""
    exps = resample_experiments(
        pool,
        draws,
        get_click_model(model_name),
        experiments=settings.experiments,
        impressions=horizon,
        credit="competitive",
        rng=np.random.default_rng(stream),
    )
    looks = np.unique(np.linspace(horizon / settings.looks, horizon, settings.looks).round().astype(np.int64))
    watched = monitor_interleaving(exps.users, exps.credit, looks, alpha=settings.alpha)
    decisions = watched.first_decision()
    stops = np.where(np.isnan(watched.stopped_at()), np.inf, watched.stopped_at())
    sizes = np.unique(np.geomspace(20, horizon, 80).round().astype(np.int64))  # steps < 10 %
    power = fixed_horizon_power(exps.users, exps.credit, sizes, better=better, alpha=settings.alpha)
    reached = np.flatnonzero(power >= 0.8)
    median = float(np.median(stops))
    return {
        "horizon": horizon,
        "experiments": settings.experiments,
        "looks": int(looks.size),
        "decided_right": float((decisions == better).mean()),
        "decided_wrong": float((decisions == -better).mean()),
        "median_stop": median if math.isfinite(median) else None,
        "mean_stop_capped": float(np.minimum(stops, horizon).mean()),
        "fixed_n80": int(sizes[reached[0]]) if reached.size else None,
    }


def run_study(
    scenario_factory: ScenarioFactory,
    settings: StudySettings,
    comparisons: Sequence[Comparison] = COMPARISONS,
    models: Sequence[str] = MODELS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    sequential: list[dict[str, Any]] = []
    for comparison in comparisons:
        # Streams keyed by the comparison's place in COMPARISONS: a subset reruns its rows exactly.
        c_index = COMPARISONS.index(comparison) if comparison in COMPARISONS else 100 + len(rows)
        scenario: Any = scenario_factory(a="v1", b=comparison.b, **comparison.knobs)
        gap = measured_gap(scenario, comparison.ndcg_requests or settings.ndcg_requests)
        better = -1 if gap["gain"] > 0 else 1  # -1: B is the better arm
        replicates: dict[str, list[dict[str, Any]]] = {m: [] for m in models}
        first: tuple[Any, Any] | None = None
        for rep in range(settings.replicates):
            pool = build_pool(scenario, settings.pool, _stream(settings, c_index, rep, 1))
            draws = draw_interleavings(pool, settings.draws, _stream(settings, c_index, rep, 2))
            first = first or (pool, draws)
            for m_index, model_name in enumerate(models):
                stream = _stream(settings, c_index, rep, 3, m_index)
                replicates[model_name].append(
                    replicate_row(pool, draws, model_name, better, settings, stream)
                )
        for model_name in models:
            reps = replicates[model_name]
            row: dict[str, Any] = {"comparison": comparison.label, "click_model": model_name, **gap}
            for key in ("il_competitive_n80", "il_team_draft_n80", "ab_rr_n80", "ab_clicks_n80", "ratio"):
                row[key] = summarise([r[key] for r in reps])
            for key in ("il_competitive_right", "ab_rr_right", "ab_clicks_right"):
                row[key] = sum(bool(r[key]) for r in reps)
            row["tie_rate"] = float(np.mean([r["il_competitive_tie_rate"] for r in reps]))
            row["replicates"] = len(reps)
            rows.append(row)
        assert first is not None
        for m_index, model_name in enumerate(SEQUENTIAL_MODELS):
            planned = next(
                r["il_competitive_n80"]["median"]
                for r in rows
                if r["comparison"] == comparison.label and r["click_model"] == model_name
            )
            if planned is None or not math.isfinite(planned):
                continue  # no fixed size to compare with: the sequential row would say nothing
            horizon = int(min(20_000, max(600, 6 * planned)))
            stream = _stream(settings, c_index, 99, m_index)
            result = sequential_row(*first, model_name, better, horizon, settings, stream)
            sequential.append({"comparison": comparison.label, "click_model": model_name, **gap, **result})
        log(f"{comparison.label:13s} done at {time.perf_counter() - started:.0f} s")
    return {
        "settings": asdict(settings),
        "rows": rows,
        "sequential": sequential,
        "seconds": time.perf_counter() - started,
    }


def _n(summary: dict[str, Any]) -> str:
    if summary["median"] is None:
        return "never" if summary["missing"] else "n/a"
    if not math.isfinite(summary["median"]):
        return "never"
    text = f"{summary['median']:,.0f}" if summary["median"] < 1e7 else "> 10,000,000"
    return text + (f" ({summary['missing']} never)" if summary["missing"] else "")


def _ratio(summary: dict[str, Any]) -> str:
    if summary["median"] is None or not math.isfinite(summary["median"]):
        return f"n/a ({summary['missing']} of {len(summary['values'])} never)"
    if summary["median"] > 1e4:
        return "> 10,000×"
    if summary["low"] is None:
        return f"{summary['median']:.1f}×"
    return f"{summary['median']:.1f}× [{summary['low']:.1f}, {summary['high']:.1f}]"


def markdown_table(study: dict[str, Any]) -> str:
    reps = study["settings"]["replicates"]
    lines = [
        "| comparison | nDCG@10 A → B (gain, 95 % CI) | click model | IL competitive n80 "
        "| IL team_draft n80 | A/B RR n80 | A/B clicks n80 | A/B RR ÷ IL (95 % CI) "
        f"| right direction of {reps}: IL / RR / clicks | IL ties |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in study["rows"]:
        gap = (
            f"{r['ndcg_a']:.4f} → {r['ndcg_b']:.4f} ({100 * r['gain']:+.1f} %, "
            f"{100 * r['gain_low']:+.1f} to {100 * r['gain_high']:+.1f})"
        )
        if r["gain_low"] <= 0 <= r["gain_high"]:
            gap += " **direction unsure**"
        lines.append(
            f"| {r['comparison']} | {gap} | {r['click_model']} | {_n(r['il_competitive_n80'])} "
            f"| {_n(r['il_team_draft_n80'])} | {_n(r['ab_rr_n80'])} | {_n(r['ab_clicks_n80'])} "
            f"| {_ratio(r['ratio'])} | {r['il_competitive_right']} / {r['ab_rr_right']} / "
            f"{r['ab_clicks_right']} | {r['tie_rate']:.0%} |"
        )
    lines += [
        "",
        "| comparison | gain | click model | sequential: median stop | decided right / wrong "
        "| fixed-horizon n80 (users) | median stop ÷ n80 | horizon |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in study["sequential"]:
        stop = "> horizon" if r["median_stop"] is None else f"{r['median_stop']:,.0f}"
        n80 = "> horizon" if r["fixed_n80"] is None else f"{r['fixed_n80']:,}"
        ratio = (
            f"{r['median_stop'] / r['fixed_n80']:.2f}"
            if r["median_stop"] is not None and r["fixed_n80"]
            else "n/a"
        )
        lines.append(
            f"| {r['comparison']} | {100 * r['gain']:+.1f} % | {r['click_model']} | {stop} "
            f"| {r['decided_right']:.0%} / {r['decided_wrong']:.0%} | {n80} | {ratio} "
            f"| {r['horizon']:,} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-results/sensitivity"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world-seed", type=int, default=7)
    parser.add_argument("--replicates", type=int, default=StudySettings.replicates)
    parser.add_argument("--app-dir", type=Path, default=Path("."))
    parser.add_argument(
        "--only", default=None, help="comma-separated comparison labels to run (default: all)"
    )
    args = parser.parse_args(argv)
    from .scenarios import DEFAULT_SCENARIO, load_scenario

    def factory(**kwargs: Any) -> Scenario:
        loaded: Scenario = load_scenario(DEFAULT_SCENARIO, args.app_dir, seed=args.world_seed, **kwargs)
        return loaded

    args.out.mkdir(parents=True, exist_ok=True)
    chosen = COMPARISONS
    if args.only:
        wanted = {label.strip() for label in args.only.split(",")}
        chosen = tuple(c for c in COMPARISONS if c.label in wanted)
        if not chosen:
            parser.error(f"--only matches no comparison; valid: {', '.join(c.label for c in COMPARISONS)}")
    study = run_study(factory, StudySettings(seed=args.seed, replicates=args.replicates), chosen)
    write_study(args.out, "sensitivity", markdown_table(study), study)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

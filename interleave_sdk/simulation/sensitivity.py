"""The sensitivity study: impressions needed for 80 % power, interleaving against A/B.

For every click model and quality gap: per-impression outcomes from the fast path, power curves by
resampling, the sizes where each test reaches 80 % power in the true direction, their ratio,
direction agreement at a fixed size and the A/A false-positive rates. Run it with
``python -m interleave_sdk.simulation.sensitivity --out DIR`` (the sample recommender ships in the
package); it writes ``sensitivity.md``, ``sensitivity.json`` and power plots.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .click_models import get_click_model
from .fast_path import ab_metrics, build_pool, draw_interleavings
from .power import ab_power, interleaving_power, needed, size_grid
from .simulator import Scenario

MODELS = ("perfect", "navigational", "informational", "almost_random", "position_based")
#: (label, arm A, arm B, gap of v2 over v1): v1 vs v2 at several gaps, and the tweak regime.
COMPARISONS: tuple[tuple[str, str, str, float], ...] = (
    ("v2 +0.20", "v1", "v2", 0.20),
    ("v2 +0.10", "v1", "v2", 0.10),
    ("v2 +0.05", "v1", "v2", 0.05),
    ("v1_tweak", "v1", "v1_tweak", 0.20),
)
AGREEMENT_AT = 1000  # impressions at which direction agreement is reported


@dataclass(frozen=True)
class StudySettings:
    pool: int = 3000  # ranked requests per comparison
    draws: int = 40_000  # simulated interleaved impressions per (comparison, click model)
    ab_repeats: int = 10  # clicks simulated per pool entry and arm for the A/B distributions
    repeats: int = 1000  # simulated experiments per size
    seed: int = 0


ScenarioFactory = Callable[..., Scenario]


def study_row(
    scenario: Any,
    label: str,
    model_name: str,
    settings: StudySettings,
    pool: Any,
    draws: Any,
    quality: dict[str, float],
) -> dict[str, Any]:
    """One (comparison, click model) row of the table."""
    model = get_click_model(model_name)
    rng = np.random.default_rng([settings.seed, 11])
    sizes = size_grid()
    better = 1 if quality["A"] > quality["B"] else -1
    row: dict[str, Any] = {
        "comparison": label,
        "click_model": model_name,
        "ndcg_a": quality["A"],
        "ndcg_b": quality["B"],
    }
    curves: dict[str, Any] = {"sizes": sizes.tolist()}
    for credit in ("competitive", "team_draft"):
        codes = draws.codes(model, rng, credit)
        curve = interleaving_power(codes, sizes, better, rng, settings.repeats)
        at = interleaving_power(codes, [AGREEMENT_AT], better, rng, settings.repeats)
        row[f"il_{credit}_n80"] = needed(sizes, curve["power"])
        row[f"il_{credit}_agree"] = float(at["agreement"][0])
        row[f"il_{credit}_tie_rate"] = float((codes == 0).mean())
        curves[f"il_{credit}"] = curve["power"].tolist()
    metrics = ab_metrics(pool, model, rng, settings.ab_repeats)
    for metric in ("clicks", "rr"):
        curve = ab_power(metrics["A"][metric], metrics["B"][metric], sizes, better, rng, settings.repeats)
        at = ab_power(
            metrics["A"][metric],
            metrics["B"][metric],
            [AGREEMENT_AT],
            better,
            rng,
            settings.repeats,
        )
        row[f"ab_{metric}_n80"] = needed(sizes, curve["power"])
        row[f"ab_{metric}_agree"] = float(at["agreement"][0])
        curves[f"ab_{metric}"] = curve["power"].tolist()
    best_ab = _min_known(row["ab_clicks_n80"], row["ab_rr_n80"])
    il = row["il_competitive_n80"]
    row["ratio"] = None if best_ab is None or il is None else best_ab / il
    row["curves"] = curves
    return row


def false_positive_rates(
    scenario_factory: ScenarioFactory, settings: StudySettings, n: int = AGREEMENT_AT
) -> list[dict[str, Any]]:
    """A/A (v1 against itself): share of experiments of ``n`` impressions with p < 0.05."""
    scenario = scenario_factory(a="v1", b="v1")
    pool = build_pool(scenario, settings.pool, settings.seed)
    draws = draw_interleavings(pool, settings.draws, settings.seed)
    rng = np.random.default_rng([settings.seed, 13])
    rows = []
    for model_name in MODELS:
        model = get_click_model(model_name)
        row: dict[str, Any] = {"click_model": model_name, "impressions": n}
        for credit in ("competitive", "team_draft"):
            codes = draws.codes(model, rng, credit)
            row[f"il_{credit}"] = float(interleaving_power(codes, [n], 0, rng, settings.repeats)["power"][0])
        metrics = ab_metrics(pool, model, rng, settings.ab_repeats)
        # A/A for A/B: both halves drawn from arm A's own distribution.
        row["ab_clicks"] = float(
            ab_power(metrics["A"]["clicks"], metrics["A"]["clicks"], [n], 0, rng, settings.repeats)["power"][
                0
            ]
        )
        rows.append(row)
    return rows


def run_study(
    scenario_factory: ScenarioFactory,
    settings: StudySettings,
    models: Sequence[str] = MODELS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    rows = []
    started = time.perf_counter()
    for label, a, b, gap in COMPARISONS:
        scenario = scenario_factory(a=a, b=b, gap=gap)
        quality = scenario.true_quality()
        pool = build_pool(scenario, settings.pool, settings.seed)
        draws = draw_interleavings(pool, settings.draws, settings.seed)
        for model_name in models:
            rows.append(study_row(scenario, label, model_name, settings, pool, draws, quality))
            log(f"{label:10s} {model_name:15s} done at {time.perf_counter() - started:.0f}s")
    aa = false_positive_rates(scenario_factory, settings)
    return {
        "settings": settings.__dict__,
        "rows": rows,
        "aa": aa,
        "seconds": time.perf_counter() - started,
    }


def _min_known(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _n(value: int | None, top: int) -> str:
    return f"> {top:,}" if value is None else f"{value:,}"


def markdown_table(study: dict[str, Any]) -> str:
    top = int(size_grid()[-1])
    lines = [
        "| comparison | click model | nDCG A → B | IL competitive n80 | IL team_draft n80 "
        "| A/B clicks n80 | A/B RR n80 | A/B ÷ IL | IL ties | agree@1k IL / A/B RR |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in study["rows"]:
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.1f}×"
        lines.append(
            f"| {r['comparison']} | {r['click_model']} | {r['ndcg_a']:.3f} → {r['ndcg_b']:.3f} "
            f"| {_n(r['il_competitive_n80'], top)} | {_n(r['il_team_draft_n80'], top)} "
            f"| {_n(r['ab_clicks_n80'], top)} | {_n(r['ab_rr_n80'], top)} | {ratio} "
            f"| {r['il_competitive_tie_rate']:.0%} "
            f"| {r['il_competitive_agree']:.0%} / {r['ab_rr_agree']:.0%} |"
        )
    lines += [
        "",
        "| A/A click model | impressions | IL competitive | IL team_draft | A/B clicks |",
        "|---|---|---|---|---|",
    ]
    for r in study["aa"]:
        lines.append(
            f"| {r['click_model']} | {r['impressions']:,} | {r['il_competitive']:.1%} "
            f"| {r['il_team_draft']:.1%} | {r['ab_clicks']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def plot(study: dict[str, Any], out_dir: Path) -> list[Path]:
    """One PNG per comparison: power against impressions, one panel per click model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for label in dict.fromkeys(r["comparison"] for r in study["rows"]):
        rows = [r for r in study["rows"] if r["comparison"] == label]
        fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 3.4), sharey=True)
        for ax, r in zip(np.atleast_1d(axes), rows, strict=True):
            c = r["curves"]
            for key, name in (
                ("il_competitive", "IL competitive"),
                ("il_team_draft", "IL team_draft"),
                ("ab_clicks", "A/B clicks"),
                ("ab_rr", "A/B RR"),
            ):
                ax.plot(c["sizes"], c[key], label=name)
            ax.axhline(0.8, color="grey", linewidth=0.8, linestyle="--")
            ax.set_xscale("log")
            ax.set_title(r["click_model"])
            ax.set_xlabel("impressions")
        np.atleast_1d(axes)[0].set_ylabel("power (p < 0.05, right direction)")
        np.atleast_1d(axes)[-1].legend(fontsize=7)
        fig.suptitle(f"{label}: v1 (A) against {label.split()[0]} (B)")
        fig.tight_layout()
        path = out_dir / f"power_{label.replace(' ', '_').replace('+', 'gap')}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-results/sensitivity"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world-seed", type=int, default=7)
    parser.add_argument("--app-dir", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    from ..cli.simulate_cmd import DEFAULT_SCENARIO, load_scenario

    def factory(**kwargs: Any) -> Scenario:
        loaded: Scenario = load_scenario(DEFAULT_SCENARIO, args.app_dir, seed=args.world_seed, **kwargs)
        return loaded

    args.out.mkdir(parents=True, exist_ok=True)
    study = run_study(factory, StudySettings(seed=args.seed))
    table = markdown_table(study)
    (args.out / "sensitivity.md").write_text(table, encoding="utf-8")
    (args.out / "sensitivity.json").write_bytes(orjson.dumps(study, option=orjson.OPT_INDENT_2))
    plot(study, args.out)
    sys.stdout.write(table)
    print(f"study took {study['seconds']:.0f} s; files in {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

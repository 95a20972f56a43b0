"""The end-to-end story: simulated users, a decorated handler, logs on disk, verdicts and a report.

Run with ``make demo`` or ``python samples/demo.py [--out DIR] [--requests N] [--seeds S]``; no
AWS account needed (the switches come from ``StaticConfig``). Users of the sample video app are
served by ``recommend`` decorated with ``@interleaved`` (v1 as A, v1_tweak as B: a small change
of a few % nDCG@10), navigational click-model users click, and the same traffic is also split A/B.
``analyze()`` reads the log and feedback files like production ones and ``write_report()``
renders its result. Both sides are judged by sequential tests, valid however often they are read:
interleaving by the analysis's mixture test on users' votes, A/B by a normal-mixture confidence
sequence on reciprocal rank (planned before the run). One run is a single draw, so the demo then
repeats both experiments over several seeds on the fast path (pinned to the full path by the
tests) and reports the median and range of where each test could stop.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from interleave_sdk.analysis.report import format_table
from interleave_sdk.simulation.click_models import get_click_model
from interleave_sdk.simulation.fast_path import (
    build_pool,
    draw_interleavings,
    resample_ab,
    resample_experiments,
)
from interleave_sdk.simulation.monitoring import even_looks, monitor_ab, monitor_interleaving
from interleave_sdk.simulation.simulator import SimulationSettings, simulate
from interleave_sdk.simulation.video_recsys.handler import scenario

TWEAK = 0.005  # v1_tweak's quality knob over v1: measured +3 % nDCG@10 on this world
ARM = {1: "A", -1: "B", 0: "continue"}


def _spread(stops: np.ndarray, decisions: np.ndarray, truth: str, horizon: int) -> str:
    """Median and range of the stopping points over all runs (undecided ones count as never)."""
    decided = decisions != 0
    wrong = int((decisions == {"A": -1, "B": 1}[truth]).sum())
    n = len(decisions)
    median = float(np.median(np.where(decided, stops, np.inf)))
    middle = f"median {median:,.0f}" if np.isfinite(median) else f"median > {horizon:,}"
    if not decided.any():
        return f"decided in 0 of {n} runs: {middle} impressions"
    at = stops[decided]
    return (
        f"decided in {int(decided.sum())} of {n} runs ({wrong} for the worse arm): {middle} "
        f"impressions, decided runs stopped at {at.min():,.0f}-{at.max():,.0f}"
    )


def main() -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output directory")
    parser.add_argument("--requests", type=int, default=3000, help="requests per run (3000)")
    parser.add_argument("--seeds", type=int, default=20, help="fast-path repeats (20)")
    parser.add_argument(
        "--horizon", type=int, default=40_000, help="fast-path impressions per repeat (40000)"
    )
    args = parser.parse_args()
    print("building the sample video app (catalogue, users, model versions v1 and v1_tweak)...")
    world = scenario(seed=7, a="v1", b="v1_tweak", tweak=TWEAK)
    truth = world.true_quality(1000)
    better = "B" if truth["B"] > truth["A"] else "A"
    print(
        f"true quality (mean nDCG@10 on hidden grades): A {truth['A']:.4f}, B {truth['B']:.4f} "
        f"({100 * (truth['B'] / truth['A'] - 1):+.1f} %)"
    )
    settings = SimulationSettings(requests=args.requests, click_model="navigational", seed=1)
    print(
        f"serving {settings.requests:,} requests through @interleaved, then the same "
        f"{settings.requests:,} split A/B, to {settings.click_model} users..."
    )
    result = simulate(world, settings, args.out, report_dir=args.out)
    analysis = result.analysis
    print()
    print(
        format_table(
            analysis.verdict, analysis.matching, analysis.data_quality, sequential=analysis.sequential
        )
    )
    print()
    if result.ab is not None:
        for metric, name in (("clicks", "clicks per impression"), ("rr", "reciprocal rank")):
            m = result.ab[metric]
            print(f"A/B {name}: A {m['mean_a']:.3f}, B {m['mean_b']:.3f} (Welch p = {m['p_value']:.2g})")
    story = result.story()
    print(f"This run, read at {settings.points} looks: {story}.")

    print()
    print(f"repeating both experiments over {args.seeds} seeds on the fast path...")
    model = get_click_model(settings.click_model)
    pool = build_pool(world, 1500, seed=101)
    draws = draw_interleavings(pool, 10_000, seed=102)
    # The same spacing of looks as the full run's series, continued up to the horizon.
    looks = even_looks(args.horizon, max(1, args.horizon * settings.points // args.requests))
    rng = np.random.default_rng(103)
    il = resample_experiments(
        pool, draws, model, experiments=args.seeds, impressions=args.horizon,
        credit=settings.credit, rng=rng,
    )  # fmt: skip
    il_watch = monitor_interleaving(il.users, il.credit, looks, alpha=settings.alpha)
    ab = resample_ab(pool, model, experiments=args.seeds, impressions=args.horizon, rng=rng)
    ab_watch = monitor_ab(ab.is_b, ab.rr, looks, alpha=settings.alpha)
    print(
        f"Measured over {args.seeds} seeds of up to {args.horizon:,} impressions, "
        f"sequential tests read at {len(looks)} looks, α = {settings.alpha:g}, true better arm {better}:"
    )
    for name, watch in (("interleaving", il_watch), ("A/B on reciprocal rank", ab_watch)):
        spread = _spread(watch.stopped_at(), watch.first_decision(), better, args.horizon)
        print(f"  {name}: {spread}")
    print()
    print(f"logs: {result.files['exposures']}, feedback: {result.files['feedback']}")
    print(f"report: {result.files['report']}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The end-to-end story: simulated users, a decorated handler, logs on disk, a verdict and a report.

Run with ``make demo`` or ``python samples/demo.py [--out DIR] [--requests N]``; no AWS account
needed (the switches come from ``StaticConfig``). Users of the sample video app are served by
``recommend`` decorated with ``@interleaved`` (v1 as A, a slightly better v1_tweak as B: the
small-change regime), navigational click-model users click, and the same traffic is also split
A/B for comparison. ``analyze()`` reads the log and feedback files like production ones and
``write_report()`` writes the Markdown report with its plots. docs/sensitivity.md shows where
interleaving gains much less (very different rankers, position-based users).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from interleave_sdk.analysis.report import format_table
from interleave_sdk.simulation.simulator import SimulationSettings, simulate
from interleave_sdk.simulation.video_recsys.handler import scenario


def main() -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output directory")
    parser.add_argument("--requests", type=int, default=3000, help="requests per run (3000)")
    args = parser.parse_args()
    print("building the sample video app (catalogue, users, model versions v1 and v1_tweak)...")
    world = scenario(seed=7, a="v1", b="v1_tweak")
    truth = world.true_quality(1000)
    print(f"true quality (mean nDCG@10 on hidden grades): A {truth['A']:.3f}, B {truth['B']:.3f}")
    settings = SimulationSettings(requests=args.requests, click_model="navigational", seed=1)
    print(
        f"serving {settings.requests:,} requests through @interleaved, then the same "
        f"{settings.requests:,} split A/B, to {settings.click_model} users..."
    )
    result = simulate(world, settings, args.out, report_dir=args.out)
    analysis = result.analysis
    print()
    print(format_table(analysis.verdict, analysis.matching, analysis.data_quality))
    print()
    if result.ab is not None:
        for metric, name in (("clicks", "clicks per impression"), ("rr", "reciprocal rank")):
            m = result.ab[metric]
            print(f"A/B {name}: A {m['mean_a']:.3f}, B {m['mean_b']:.3f} (p = {m['p_value']:.2g})")
    story = result.story()
    print(story[0].upper() + story[1:] + ".")
    print(f"logs: {result.files['exposures']}, feedback: {result.files['feedback']}")
    print(f"report: {result.files['report']}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

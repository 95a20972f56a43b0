"""The end-to-end story: simulated users, a decorated handler, logs on disk, a verdict and a report.

Run with ``python samples/demo.py [--out DIR]`` from the repository root; no AWS account needed.
Users of a sample video app are served by ``recommend`` decorated with ``@interleaved`` (v1 as A,
a slightly better v1_tweak as B), navigational click-model users click, and the same traffic is
also split A/B for comparison. The analysis reads the log and feedback files like production ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from interleave_sdk.simulation.simulator import SimulationSettings, simulate
from samples.video_recsys.handler import scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    print("building the sample video app (catalogue, users, model versions v1 and v1_tweak)...")
    world = scenario(seed=7, a="v1", b="v1_tweak")
    settings = SimulationSettings(requests=args.requests, click_model="navigational", seed=1)
    print(
        f"serving {settings.requests} requests through @interleaved, then {settings.requests} "
        "more split A/B..."
    )
    result = simulate(world, settings, args.out)
    il, ab = result.interleaving, result.ab
    print(
        f"interleaving: A wins {il['wins_a']}, B wins {il['wins_b']}, ties {il['ties']} "
        f"(p = {il['p_value']:.2g})"
    )
    if ab is not None:
        for metric, name in (("clicks", "clicks per impression"), ("rr", "reciprocal rank")):
            m = ab[metric]
            print(f"A/B {name}: A {m['mean_a']:.3f}, B {m['mean_b']:.3f} (p = {m['p_value']:.2g})")
    if result.verdict is not None:
        v = result.verdict
        print(
            f"verdict (analysis, unit={settings.unit}): winner {v['winner']}, "
            f"delta_ab {v['delta_ab']:.3f} [{v['ci_low']:.3f}, {v['ci_high']:.3f}], "
            f"p = {v['p_value']:.2g}"
        )
        try:
            from interleave_sdk.analysis.pipeline import analyze
            from interleave_sdk.analysis.report import write_report
        except ImportError as exc:
            print(f"report: not written ({exc})")
        else:
            full = analyze(
                exposures=result.files["exposures"],
                feedback=result.files["feedback"],
                unit=settings.unit,
                credit=settings.credit,
            )
            print(f"report: {write_report(full, args.out / 'report')}")
    else:
        print(f"verdict: {result.analysis_error}")
    story = result.story()
    print(story[0].upper() + story[1:] + ".")
    print(f"logs: {result.files['exposures']}, feedback: {result.files['feedback']}")
    print(f"took {result.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A/A with a short arm: how often item-blind users make the longer arm "win" (docs/sensitivity.md).

A returns 8 items, B returns 3 (disjoint), ``k=8``; users click without looking at the items, with
the same probability everywhere (``uniform``) or by position only (``position``). Each experiment
is 1,000 impressions with fresh draws and clicks; an experiment rejects when the exact sign test on
impression wins gives p < 0.05. Credit is the analysis's ``competitive`` rule, once with each
impression's contest (the rule as it is) and once over the whole list (the rule before short arms
were handled). Run from the repository root: ``python benchmarks/short_arms.py [--experiments N]``.
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np

from interleave_sdk.analysis.stats import sign_test
from interleave_sdk.interleaving import interleave
from interleave_sdk.simulation.outcomes import Impressions

LONG = [f"a{i}" for i in range(8)]
SHORT = [f"b{i}" for i in range(3)]
K = 8
CLICKS = {
    "uniform": np.full(K, 0.1),
    "position": 0.5 / np.arange(1, K + 1),
}


def draws(method: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` lists: teams (+1 A, -1 B) per slot and each list's contest depth."""
    rng = random.Random(seed)
    teams = np.zeros((n, K), dtype=np.int64)
    contest = np.zeros(n, dtype=np.int64)
    for row in range(n):
        result = interleave(method, {"A": LONG, "B": SHORT}, K, random.Random(rng.getrandbits(53)))
        teams[row, : len(result.teams)] = [1 if t == "A" else -1 for t in result.teams]
        contest[row] = result.contest
    return teams, contest


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a share ``hits / n``."""
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rejection_rate(method: str, model: str, experiments: int, size: int, *, contest: bool) -> str:
    """Share of A/A experiments whose sign test rejects at 0.05, with its 95 % interval."""
    teams, depth = draws(method, experiments * size, seed=11)
    shown = Impressions(teams, np.zeros(len(teams), dtype=np.int64), depth if contest else None)
    clicks = np.random.default_rng([3, experiments]).random(teams.shape) < CLICKS[model]
    codes = shown.codes(clicks, "competitive").reshape(experiments, size)
    wins_a, wins_b = (codes > 0).sum(axis=1), (codes < 0).sum(axis=1)
    rejected = sum(sign_test(int(a), int(b)) < 0.05 for a, b in zip(wins_a, wins_b, strict=True))
    low, high = wilson(rejected, experiments)
    return f"{rejected / experiments:.1%} [{low:.1%}, {high:.1%}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiments", type=int, default=400)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    started = time.process_time()
    print("| method | clicks | A/A rejections, contest honoured | over the whole list (before) |")
    print("|---|---|---|---|")
    for method in ("team_draft_v1", "optimized_v1"):
        for model in CLICKS:
            now = rejection_rate(method, model, args.experiments, args.size, contest=True)
            before = rejection_rate(method, model, args.experiments, args.size, contest=False)
            print(f"| {method} | {model} | {now} | {before} |")
    spent = time.process_time() - started
    print(f"{args.experiments} experiments x {args.size} impressions; {spent:.0f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

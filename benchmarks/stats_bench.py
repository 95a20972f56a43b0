"""Benchmark: the hand-written exact sign test against ``scipy.stats.binomtest``, side by side.

Run from the repository root: ``python benchmarks/stats_bench.py``. For each number of non-tied
votes it times both on the same 41 splits, interleaved in one run (so machine load hits both
alike), and prints the ratio of their median times and the largest relative difference of their
p-values. The analysis keeps the hand-written test only because this ratio favours it.
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np
from scipy.stats import binomtest

from interleave_sdk.analysis.stats import binomial_test_half

TRIALS = (20, 200, 1999, 2001, 20_000)
REPEATS = 5


def _time(fn: object, splits: list[int], n: int) -> float:
    call = fn  # type: ignore[assignment]
    started = time.perf_counter()
    for k in splits:
        call(k, n)  # type: ignore[operator]
    return (time.perf_counter() - started) / len(splits)


def run() -> dict[str, dict[str, float]]:
    binomtest(1, 2, 0.5)  # import and first-call costs out of the timings
    out: dict[str, dict[str, float]] = {}
    for n in TRIALS:
        splits = np.unique(np.linspace(0, n, 41).round().astype(int)).tolist()
        hand, scipy = [], []
        for _ in range(REPEATS):
            hand.append(_time(binomial_test_half, splits, n))
            scipy.append(_time(lambda k, m: binomtest(k, m, 0.5).pvalue, splits, n))
        worst = max(
            abs(binomial_test_half(k, n) - binomtest(k, n, 0.5).pvalue)
            / max(binomtest(k, n, 0.5).pvalue, 1e-300)
            for k in splits
        )
        out[str(n)] = {
            "hand_us": round(1e6 * statistics.median(hand), 1),
            "scipy_us": round(1e6 * statistics.median(scipy), 1),
            "scipy_over_hand": round(statistics.median(scipy) / statistics.median(hand), 1),
            "max_relative_difference": float(worst),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

"""Case 5: optimized interleaving's added latency at k=10, against Team Draft on the same pairs.

Variants, alternated call by call (``timing.side_by_side``):

* ``team_draft``: the baseline method.
* ``optimized warm``: the pair's overlap pattern is already solved (a cache hit: a draw and a
  list rebuild).
* ``optimized cold, default budget``: the cache is emptied before every call and the registered
  method's time budget applies, so a slow solve is cut short and Team Draft is served; the share
  of such fallbacks is reported.
* ``optimized cold, unbounded``: the cache is emptied and the budget lifted, so every call pays a
  full enumeration + HiGHS solve: what a cold pattern costs when it is allowed to finish.

The pairs are top-10 lists sharing a few items in different orders (the usual case for two
versions of a model), drawn from a seed. SciPy is loaded before timing (``warm_up``), as an
application would do at start-up.
"""

from __future__ import annotations

import random
import time
from typing import Any

from interleave_sdk import interleave
from interleave_sdk.interleaving import optimized

from .timing import side_by_side, summary

K = 10


def pairs(count: int, seed: int = 5) -> list[tuple[list[str], list[str]]]:
    """``count`` pairs of top-20 lists whose top 10s share 2-6 items."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        a = [f"v{x}" for x in rng.sample(range(400), 20)]
        shared = rng.sample(a[:K], rng.randint(2, 6))
        own = [f"v{x}" for x in rng.sample(range(400, 800), 20)]
        b = shared + own[: 20 - len(shared)]
        rng.shuffle(b)
        out.append((a, b))
    return out


def run(quick: bool) -> dict[str, Any]:
    if not optimized.warm_up():
        return {"skipped": "SciPy is not installed: pip install 'interleave-sdk[optimized]'"}
    # A cold solve costs tens of ms on a busy machine: 400 rounds keep the case near a minute.
    iterations = 100 if quick else 400
    inputs = pairs(64)
    default = optimized.optimized_linear
    unbounded = optimized.OptimizedInterleaver("optimized_v1", time_budget_ms=10_000)
    warm = optimized.OptimizedInterleaver("optimized_v1", time_budget_ms=10_000)
    for a, b in inputs:  # every pattern solved once: the warm variant only ever hits
        warm({"A": a, "B": b}, K, random.Random(0))
    fallbacks: dict[str, int] = {}
    state = {"i": 0}
    rng = random.Random(1)

    def pair() -> dict[str, list[str]]:
        a, b = inputs[state["i"] % len(inputs)]
        return {"A": a, "B": b}

    def cold_default() -> None:
        default.cache.clear()
        drawn = default(pair(), K, rng)
        if drawn.detail is not None and "fallback" in drawn.detail:
            reason = str(drawn.detail["fallback"])
            fallbacks[reason] = fallbacks.get(reason, 0) + 1

    def cold_unbounded() -> None:
        unbounded.cache.clear()
        unbounded(pair(), K, rng)

    def team_draft() -> None:
        interleave("team_draft_v1", pair(), K, rng)
        state["i"] += 1  # last variant of each round moves every variant to the next pair

    variants = {
        "optimized warm": lambda: warm(pair(), K, rng),
        "optimized cold, default budget": cold_default,
        "optimized cold, unbounded": cold_unbounded,
        "team_draft": team_draft,
    }
    samples = side_by_side(variants, iterations, warmup=3)
    figures: dict[str, Any] = {name: summary(values, scale=1e6) for name, values in samples.items()}
    base = figures["team_draft"]
    for fig in figures.values():
        fig["ratio_p50"] = fig["p50"] / base["p50"]
        fig["ratio_p99"] = fig["p99"] / base["p99"]
        fig["added_p50_us"] = fig["p50"] - base["p50"]
        fig["added_p99_us"] = fig["p99"] - base["p99"]
    # CPU time of a cold solve on this thread: the solver's own cost, apart from waiting for a core
    # (wall-clock figures above include the machine's contention).
    cpu = []
    for a, b in inputs[: 30 if quick else 64]:
        unbounded.cache.clear()
        start = time.thread_time()
        unbounded({"A": a, "B": b}, K, rng)
        cpu.append(time.thread_time() - start)
    figures["optimized cold, unbounded"]["cpu_ms"] = summary(cpu, scale=1e3)
    # The same, by k (disjoint lists: the most allowed lists, 2^k): where the default budget lies.
    by_k = {}
    for k in (4, 6, 8, 10):
        a, b = [f"a{i}" for i in range(k)], [f"b{i}" for i in range(k)]
        spent = []
        for _ in range(5 if quick else 15):
            unbounded.cache.clear()
            start = time.thread_time()
            unbounded({"A": a, "B": b}, k, rng)
            spent.append(time.thread_time() - start)
        by_k[f"k={k}, {2**k} lists"] = summary(spent, scale=1e3)
    figures["_cold_cpu_ms_by_k"] = by_k
    calls = sum(fallbacks.values())
    total = iterations + 3
    figures["optimized cold, default budget"]["fallbacks"] = dict(sorted(fallbacks.items()))
    figures["optimized cold, default budget"]["fallback_share"] = calls / total
    figures["_setup"] = {
        "k": K,
        "pairs": len(inputs),
        "default_time_budget_ms": default.time_budget_ms,
        "candidates_per_pattern": sorted(
            {int(d.candidates) for d in (warm.solve(a[:K], b[:K], K) for a, b in inputs)}
        )[:: max(1, len(inputs) // 8)],
    }
    return figures


def render(figures: dict[str, Any], row: Any) -> list[str]:
    """Table lines for the report (``row`` is the report's column formatter)."""
    if "skipped" in figures:
        return [f"  skipped: {figures['skipped']}"]
    lines = []
    for name, fig in figures.items():
        if name.startswith("_"):
            continue
        note = f"{fig['ratio_p50']:.1f}x / {fig['ratio_p99']:.1f}x"
        if "fallback_share" in fig:
            note += f"  fallback {fig['fallback_share']:.0%}"
        if "cpu_ms" in fig:
            note += f"  CPU p50 {fig['cpu_ms']['p50']:.1f} ms"
        lines.append(row("    " + name, f"{fig['p50']:.1f}", f"{fig['p90']:.1f}", f"{fig['p99']:.1f}", note))
    for name, fig in figures["_cold_cpu_ms_by_k"].items():
        cells = (f"{fig['p50']:.1f}", f"{fig['p90']:.1f}", f"{fig['p99']:.1f}")
        lines.append(row(f"    cold solve CPU ms, {name}", *cells, ""))
    setup = figures["_setup"]
    budget = setup["default_time_budget_ms"]
    lines.append(f"  k={setup['k']}, {setup['pairs']} list pairs, default budget {budget} ms")
    return lines

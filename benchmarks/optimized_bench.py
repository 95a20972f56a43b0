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

A second part, :func:`stream`, measures what share of a request stream optimized actually serves:
2,000 requests of the sample app's rankers (``v1`` against ``v2`` of
``interleave_sdk.simulation.video_recsys``, random users and sessions, so overlap patterns repeat
as they do in traffic), paced at a fixed rate, each request served by two instances side by side,
one solving cold patterns only inline (``background=False``) and one handing them to a
:class:`~interleave_sdk.interleaving.optimized.BackgroundSolver`; both with the default 5 ms budget.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

from interleave_sdk import interleave
from interleave_sdk.interleaving import optimized

from .timing import side_by_side, summary

K = 10
STREAM_RATE_PER_S = 200  # requests per second reaching one process in the stream part


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
    figures["_stream"] = stream(quick)
    figures["_setup"] = {
        "k": K,
        "pairs": len(inputs),
        "default_time_budget_ms": default.time_budget_ms,
        "candidates_per_pattern": sorted(
            {int(d.candidates) for d in (warm.solve(a[:K], b[:K], K) for a, b in inputs)}
        )[:: max(1, len(inputs) // 8)],
    }
    return figures


STREAM_PAIRS = (("v1", "v2"), ("v1", "v1_tweak"))  # a real gap; a small change (lists overlap)


def stream_requests(
    count: int, pair: tuple[str, str] = ("v1", "v2"), seed: int = 3
) -> list[tuple[list[str], list[str]]]:
    """``count`` requests' top-10 lists of two of the sample app's versions (seeded users and
    sessions: a user returns with one of five sessions, as a catalogue app sees them)."""
    from interleave_sdk.simulation.video_recsys import build_world

    world = build_world(7)
    first, second = world.ranker(pair[0]), world.ranker(pair[1])
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        user = world.users.user_ids[rng.randrange(len(world.users.user_ids))]
        context = {"session": rng.randrange(5)}
        out.append((first.ranked_ids(user, context)[:K], second.ranked_ids(user, context)[:K]))
    return out


def stream(quick: bool) -> dict[str, Any]:
    """Share of requests served optimized, inline-only against background solving, per pair."""
    if not optimized.warm_up():
        return {"skipped": "SciPy is not installed: pip install 'interleave-sdk[optimized]'"}
    count = 500 if quick else 2000
    return {" vs ".join(pair): stream_of(stream_requests(count, pair)) for pair in STREAM_PAIRS}


def stream_of(requests: list[tuple[list[str], list[str]]]) -> dict[str, Any]:
    """One paced stream, each request served by both variants (alternating which goes first)."""
    count = len(requests)
    solver = optimized.BackgroundSolver()
    variants = {
        "inline only": optimized.OptimizedInterleaver(
            "optimized_v1", background=False, solver_cost=optimized.SolverCost()
        ),
        "background solving": optimized.OptimizedInterleaver(
            "optimized_v1", background=solver, solver_cost=optimized.SolverCost()
        ),
    }
    served: dict[str, Counter[str]] = {name: Counter() for name in variants}
    late: dict[str, int] = dict.fromkeys(variants, 0)  # optimized among the second half
    latency: dict[str, list[float]] = {name: [] for name in variants}
    seen: set[Any] = set()
    repeats = 0
    gap = 1.0 / STREAM_RATE_PER_S
    slot = time.perf_counter()
    started = slot
    for i, (a, b) in enumerate(requests):
        pattern = variants["inline only"]._pattern(a, b, K)
        repeats += pattern in seen
        seen.add(pattern)
        order = list(variants.items()) if i % 2 == 0 else list(variants.items())[::-1]
        for name, method in order:
            begin = time.perf_counter()
            drawn = method({"A": a, "B": b}, K, random.Random(i))
            latency[name].append(time.perf_counter() - begin)
            fallback = (drawn.detail or {}).get("fallback")
            served[name]["optimized" if fallback is None else f"fallback {fallback}"] += 1
            late[name] += fallback is None and i >= count // 2
        slot += gap
        time.sleep(max(0.0, slot - time.perf_counter()))
    elapsed = time.perf_counter() - started
    figures: dict[str, Any] = {}
    for name in variants:
        figures[name] = {
            "optimized_share": served[name]["optimized"] / count,
            "optimized_share_second_half": late[name] / (count - count // 2),
            "served": dict(sorted(served[name].items())),
            "latency_us": summary(latency[name], scale=1e6),
        }
    figures["background solving"]["solver"] = dict(solver.counts, pending_at_end=solver.pending)
    figures["_stream_setup"] = {
        "requests": count,
        "rate_per_s": STREAM_RATE_PER_S,
        "seconds": round(elapsed, 1),
        "distinct_patterns": len(seen),
        "repeat_share": repeats / count,  # the most any cache can serve without solving inline
        "time_budget_ms": variants["inline only"].time_budget_ms,
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
    lines += render_stream(figures["_stream"])
    return lines


def render_stream(streams: dict[str, Any]) -> list[str]:
    """The stream part: share served optimized per pair and variant."""
    if "skipped" in streams:
        return [f"  stream: skipped: {streams['skipped']}"]
    lines = []
    for pair, figures in streams.items():
        lines += _render_one_stream(pair, figures)
    return lines


def _render_one_stream(pair: str, figures: dict[str, Any]) -> list[str]:
    setup = figures["_stream_setup"]
    lines = [
        f"  stream {pair}: {setup['requests']} requests at {setup['rate_per_s']}/s, "
        f"{setup['distinct_patterns']} distinct patterns (repeat share {setup['repeat_share']:.0%})"
    ]
    for name, fig in figures.items():
        if name.startswith("_"):
            continue
        lines.append(
            f"    {name}: optimized {fig['optimized_share']:.1%} "
            f"(second half {fig['optimized_share_second_half']:.1%}), "
            f"p50 {fig['latency_us']['p50']:.0f} µs, p99 {fig['latency_us']['p99']:.0f} µs"
        )
    return lines

"""Cases 1 and 2: what the SDK itself costs per request, with the rankers doing no work.

Case 1 times the interleaved path (both arms return prebuilt frames) for K = 10, 50, 100 and arms
of 100 and 500 rows, parallel on and off. Case 2 times the baseline path (mode A; INTERLEAVE but
out of sample) against the undecorated function. The log line is always written, as JSON, to a
null stream.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

from interleave_sdk import ArmExecutor, JsonLineSink, StaticConfig, interleaved

from .frames_fixture import arm_frame, arm_pair
from .timing import side_by_side, summary


def _decorate(
    a: pd.DataFrame,
    b: pd.DataFrame,
    sink: Callable[[dict[str, Any]], None],
    executor: ArmExecutor,
    k: int | None,
    **settings: Any,
) -> Callable[[str], pd.DataFrame]:
    def rank_b(user_id: str) -> pd.DataFrame:
        return b

    @interleaved(
        rankers={"B": rank_b},
        config=StaticConfig(**settings),
        k=k,
        sink=sink,
        executor=executor,
        experiment="bench",
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return a

    return recommend


def interleaved_overhead(quick: bool) -> dict[str, Any]:
    """Case 1: interleaved requests with free rankers; merge time from the log line alongside."""
    iterations = 300 if quick else 2000
    results: dict[str, Any] = {}
    with open(os.devnull, "w", encoding="utf-8") as null:
        json_sink = JsonLineSink(null)
        for rows in (100, 500):
            a, b = arm_pair(rows, seed=rows)
            for k in (10, 50, 100):
                variants: dict[str, Callable[[], Any]] = {}
                merge_ms: dict[str, list[float]] = {}
                executors = []
                for parallel in (True, False):
                    name = f"K={k} rows={rows} parallel={'on' if parallel else 'off'}"
                    merges: list[float] = []
                    merge_ms[name] = merges

                    def sink(record: dict[str, Any], merges: list[float] = merges) -> None:
                        merges.append(record["timings"]["merge_ms"])
                        json_sink(record)

                    executor = ArmExecutor(max_workers=4)
                    executors.append(executor)
                    fn = _decorate(
                        a,
                        b,
                        sink,
                        executor,
                        k,
                        mode="INTERLEAVE",
                        sampling_rate=1.0,
                        parallel_enabled=parallel,
                        timeout_ms=10_000,
                    )
                    variants[name] = lambda fn=fn: fn("user-1")
                samples = side_by_side(variants, iterations)
                for name, values in samples.items():
                    results[name] = {
                        "k": k,
                        "rows": rows,
                        "parallel": name.endswith("on"),
                        "total_ms": summary(values),
                        "merge_ms": summary([m / 1e3 for m in merge_ms[name]]),
                    }
                for executor in executors:
                    executor.shutdown()
    return results


def baseline_overhead(quick: bool) -> dict[str, Any]:
    """Case 2: decorated baseline path against the undecorated function, side by side."""
    iterations = 2000 if quick else 20000
    results: dict[str, Any] = {}
    with open(os.devnull, "w", encoding="utf-8") as null:
        sink = JsonLineSink(null)
        executor = ArmExecutor(max_workers=1)
        for rows in (10, 100):
            a = arm_frame(rows, 0, seed=7)
            b = arm_frame(rows, 5, seed=8)

            def plain(user_id: str, a: pd.DataFrame = a) -> pd.DataFrame:
                return a

            mode_a = _decorate(a, b, sink, executor, None, mode="A")
            out_of_sample = _decorate(
                a, b, sink, executor, None, mode="INTERLEAVE", sampling_rate=0.0
            )
            samples = side_by_side(
                {
                    "undecorated": lambda plain=plain: plain("user-1"),
                    "mode A": lambda fn=mode_a: fn("user-1"),
                    "INTERLEAVE, out of sample": lambda fn=out_of_sample: fn("user-1"),
                },
                iterations,
                warmup=200,
            )
            plain_us = summary(samples["undecorated"], scale=1e6)
            results[f"rows={rows} undecorated"] = {"rows": rows, "us": plain_us}
            for name in ("mode A", "INTERLEAVE, out of sample"):
                us = summary(samples[name], scale=1e6)
                results[f"rows={rows} {name}"] = {
                    "rows": rows,
                    "us": us,
                    "overhead_us": {q: us[q] - plain_us[q] for q in ("p50", "p90", "p99")},
                }
        executor.shutdown()
    return results

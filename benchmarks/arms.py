"""Case 3: does running the arms in parallel pay? Interleaved latency / max(t_A, t_B).

Three kinds of arms: I/O-bound (a wait on a socket, as a database call does), numpy-bound (score
20k x 768 float32 embeddings, take the top 100) and pure-Python-bound. For each: A alone, B alone,
interleaved with parallel on and off, timed side by side. The numpy case runs in its own process
with and without one BLAS thread (the remedy for BLAS threads fighting the arm threads); there,
and only there, the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides are dropped, so the kernel
numpy would pick on its own is measured (reported with the result).
"""

from __future__ import annotations

import heapq
import json
import os
import select
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from interleave_sdk import ArmExecutor, JsonLineSink, StaticConfig, interleaved

from .timing import side_by_side, summary

K = 100
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _compare(
    rank_a: Callable[[str], pd.DataFrame],
    rank_b: Callable[[str], pd.DataFrame],
    iterations: int,
) -> dict[str, Any]:
    """A alone, B alone, interleaved parallel on/off; ratios of p50 and p99 to max(A, B)."""
    variants: dict[str, Callable[[], Any]] = {
        "A alone": lambda: rank_a("user-1"),
        "B alone": lambda: rank_b("user-1"),
    }
    executors = []
    with open(os.devnull, "w", encoding="utf-8") as null:
        for parallel in (True, False):
            executor = ArmExecutor(max_workers=2)
            executors.append(executor)
            fn = interleaved(
                rankers={"B": rank_b},
                config=StaticConfig(
                    mode="INTERLEAVE",
                    sampling_rate=1.0,
                    parallel_enabled=parallel,
                    timeout_ms=60_000,
                ),
                k=K,
                sink=JsonLineSink(null),
                executor=executor,
                experiment="bench",
            )(rank_a)
            variants[f"parallel {'on' if parallel else 'off'}"] = lambda fn=fn: fn("user-1")
        samples = side_by_side(variants, iterations, warmup=3)
    for executor in executors:
        executor.shutdown()
    figures = {name: summary(values) for name, values in samples.items()}
    slowest = {q: max(figures["A alone"][q], figures["B alone"][q]) for q in ("p50", "p99")}
    for name in ("parallel on", "parallel off"):
        figures[name]["ratio_p50"] = figures[name]["p50"] / slowest["p50"]
        figures[name]["ratio_p99"] = figures[name]["p99"] / slowest["p99"]
        figures[name]["io_target_ms"] = 1.05 * slowest["p50"] + 1.0
    return figures


def _frame(ids: Any, scores: Any) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids, "score": scores})


def io_bound(quick: bool) -> dict[str, Any]:
    """Arms that wait 20 ms (A) and 25 ms (B) on a socket nobody writes to, then answer."""
    left, right = socket.socketpair()
    a_frame = _frame([f"item-{i}" for i in range(K)], np.linspace(1, 0, K))
    b_frame = _frame([f"item-{i}" for i in range(50, 50 + K)], np.linspace(1, 0, K))

    def waiter(seconds: float, frame: pd.DataFrame) -> Callable[[str], pd.DataFrame]:
        def rank(user_id: str) -> pd.DataFrame:
            select.select([left], [], [], seconds)
            return frame

        return rank

    try:
        return _compare(waiter(0.020, a_frame), waiter(0.025, b_frame), 40 if quick else 150)
    finally:
        left.close()
        right.close()


def python_bound(quick: bool) -> dict[str, Any]:
    """Arms that score 40k items in pure Python and keep the top 100 (the GIL is held)."""

    def scorer(salt: int) -> Callable[[str], pd.DataFrame]:
        def rank(user_id: str) -> pd.DataFrame:
            scores = [((i * 2654435761 + salt) % 1000003) / 1000003 for i in range(40_000)]
            top = heapq.nlargest(K, range(len(scores)), key=scores.__getitem__)
            return _frame([f"item-{i}" for i in top], [scores[i] for i in top])

        return rank

    return _compare(scorer(1), scorer(2), 20 if quick else 80)


def numpy_bound(quick: bool) -> dict[str, Any]:
    """Arms that score 20k x 768 float32 embeddings against a query and take the top 100.

    Runs in a child process (see the module docstring); returns its figures for the default BLAS
    thread count and for one BLAS thread, plus the BLAS library the child actually used.
    """
    env = dict(os.environ)
    removed = [name for name in OPENBLAS_OVERRIDES if env.pop(name, None) is not None]
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.arms", "quick" if quick else "full"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(child.stdout)
    result["openblas_overrides_removed"] = removed
    return result


def _numpy_child(quick: bool) -> dict[str, Any]:
    from interleave_sdk.blas import blas_info, limit_blas_threads

    rng = np.random.default_rng(768)
    embeddings = {arm: rng.standard_normal((20_000, 768), dtype=np.float32) for arm in ("A", "B")}
    query = rng.standard_normal(768, dtype=np.float32)
    ids = np.array([f"item-{i}" for i in range(20_000)], dtype=object)

    def scorer(arm: str) -> Callable[[str], pd.DataFrame]:
        matrix = embeddings[arm]

        def rank(user_id: str) -> pd.DataFrame:
            scores = matrix @ query
            top = np.argpartition(scores, -K)[-K:]
            top = top[np.argsort(scores[top])[::-1]]
            return _frame(ids[top], scores[top])

        return rank

    iterations = 20 if quick else 100
    out: dict[str, Any] = {"blas": blas_info()}
    out["default_blas_threads"] = _compare(scorer("A"), scorer("B"), iterations)
    controller = limit_blas_threads(1)
    try:
        out["one_blas_thread"] = _compare(scorer("A"), scorer("B"), iterations)
    finally:
        controller.restore_original_limits()
    return out


def run(quick: bool) -> dict[str, Any]:
    return {
        "io_bound": io_bound(quick),
        "numpy_bound": numpy_bound(quick),
        "python_bound": python_bound(quick),
    }


if __name__ == "__main__":  # the numpy child process
    print(json.dumps(_numpy_child(sys.argv[1] == "quick")))

"""Small timing helpers shared by the cases: percentiles in one shape, machine description.

Percentiles are computed over individual calls (``perf_counter_ns``), never averaged, because the
tail is what a latency budget is about.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd


def summary(samples_s: Sequence[float], scale: float = 1e3) -> dict[str, float]:
    """p50/p90/p99 (and n) of samples in seconds, reported in ms (``scale=1e3``) or µs (1e6)."""
    values = np.asarray(samples_s, dtype=float) * scale
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"n": int(values.size), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` took."""
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1e9


def side_by_side(
    variants: dict[str, Callable[[], Any]], iterations: int, warmup: int = 20
) -> dict[str, list[float]]:
    """Time each variant ``iterations`` times, alternating between them on every round.

    Alternating spreads background noise (other processes, CPU frequency) evenly over the
    variants, so their ratios are meaningful even when absolute numbers drift.
    """
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(iterations):
        for name, fn in variants.items():
            samples[name].append(timed(fn))
    return samples


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    from interleave_sdk.blas import blas_info

    np.ones(2) @ np.ones(2)  # load BLAS so threadpoolctl can see it
    try:
        import pyarrow

        arrow = pyarrow.__version__
    except ImportError:
        arrow = None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": arrow,
        "platform": platform.platform(),
        "blas": [
            {
                k: info.get(k)
                for k in (
                    "internal_api",
                    "version",
                    "architecture",
                    "num_threads",
                    "threading_layer",
                )
            }
            for info in blas_info()
        ],
        "openblas_env": {
            k: os.environ.get(k)
            for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")
        },
        "loadavg_start": list(os.getloadavg()),
    }

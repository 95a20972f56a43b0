"""Keeping BLAS thread pools from fighting the arm threads.

numpy hands matrix work to OpenBLAS/MKL, which start their own threads (one per core). Two arms
doing that at once oversubscribe the cores; limiting BLAS to one thread per arm is the remedy we
measured (docs/performance.md). ``threadpoolctl`` is optional: install ``interleave-sdk[blas]``.
"""

from __future__ import annotations

from typing import Any

from .errors import MissingDependency


def limit_blas_threads(limit: int = 1) -> Any:
    """Limit every loaded BLAS library to ``limit`` threads, process-wide; returns the controller.

    Process-wide because OpenBLAS keeps one global thread count: a limit set inside one arm thread
    would also apply to the other arm, and restoring it when one arm ends would race with the
    other. Call it once at start-up (or pass ``ArmExecutor(blas_threads=1)``, which calls it when
    the pool starts). ``.restore_original_limits()`` on the returned object undoes it.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")
    try:
        import threadpoolctl
    except ImportError as exc:
        raise MissingDependency(
            "threadpoolctl", "limiting BLAS threads", "interleave-sdk[blas]"
        ) from exc
    return threadpoolctl.threadpool_limits(limits=limit, user_api="blas")


def blas_info() -> list[dict[str, Any]]:
    """What threadpoolctl reports about the loaded BLAS libraries (empty without threadpoolctl)."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    return [
        info for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"
    ]

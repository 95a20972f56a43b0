"""The BLAS-thread remedy: limits every loaded BLAS library process-wide, only when asked, and says
clearly which package is missing when threadpoolctl is not installed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import threadpoolctl

from interleave_sdk import ArmExecutor
from interleave_sdk.blas import blas_info, limit_blas_threads
from interleave_sdk.clock import SYSTEM_CLOCK
from interleave_sdk.errors import InterleaveError, MissingDependency

np.ones(2) @ np.ones(2)  # make sure numpy's BLAS is loaded before threadpoolctl looks


@pytest.fixture
def restore_blas() -> Iterator[None]:
    """Whatever a test limits, the original BLAS thread counts are back afterwards."""
    before = {info["prefix"]: info["num_threads"] for info in blas_info()}
    yield
    threadpoolctl.threadpool_limits(limits=before)


def test_limit_applies_to_every_loaded_blas(restore_blas: None) -> None:
    """limit_blas_threads(1) leaves every BLAS library with one thread until restored."""
    controller = limit_blas_threads(1)
    assert blas_info()
    assert {info["num_threads"] for info in blas_info()} == {1}
    controller.restore_original_limits()


def test_the_executor_limits_blas_when_its_pool_starts_not_before(restore_blas: None) -> None:
    """ArmExecutor(blas_threads=1) changes nothing when built, and limits BLAS on first submit."""
    threadpoolctl.threadpool_limits(limits=2, user_api="blas")
    executor = ArmExecutor(max_workers=1, blas_threads=1)
    assert {info["num_threads"] for info in blas_info()} == {2}
    future = executor.submit("B", lambda: pd.DataFrame(), (), {}, SYSTEM_CLOCK)
    assert future is not None
    future.result()
    executor.shutdown()
    assert {info["num_threads"] for info in blas_info()} == {1}


def test_without_threadpoolctl_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """No threadpoolctl: a MissingDependency (an InterleaveError) naming interleave-sdk[blas]."""
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(MissingDependency, match=r"interleave-sdk\[blas\]") as info:
        limit_blas_threads(1)
    assert isinstance(info.value, InterleaveError)
    assert isinstance(info.value.__cause__, ImportError)


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_is_refused(limit: int) -> None:
    """Zero or negative thread counts are a programming error, reported at once."""
    with pytest.raises(ValueError, match="at least 1"):
        limit_blas_threads(limit)

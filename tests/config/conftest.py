"""Fixtures for the configuration tests: a hand-moved clock, a countable source.

The local SSM endpoint (``moto_server``, ``ssm_url``, ``admin``) is shared with the Lambda sample's
tests, so it lives in tests/conftest.py and tests/local_aws.py; the names are re-exported here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pandas as pd
import pytest

from interleave_sdk import interleaved
from interleave_sdk.config import ConfigProvider
from interleave_sdk.testing import CapturingSink

from ..conftest import ManualClock
from ..local_aws import REGION, LocalSSM, put

__all__ = ["REGION", "LocalSSM", "put"]


class CountingSource:
    """A cache source returning ``value-1``, ``value-2``, ... and counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        self.fail = False

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
            if self.fail:
                raise RuntimeError(f"source down (call {self.calls})")
            return f"value-{self.calls}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def source() -> CountingSource:
    return CountingSource()


# -- a decorated toy recommender --------------------------------------------------------------


def rank_a(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": [1, 2, 3, 4], "score": [0.9, 0.8, 0.7, 0.6]})


def rank_b(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": [4, 5, 6, 7], "score": [0.95, 0.85, 0.75, 0.65]})


Recommend = Callable[[str], pd.DataFrame]


@pytest.fixture
def make_recommender() -> Callable[[ConfigProvider], tuple[Recommend, CapturingSink]]:
    """Decorate the toy recommender with the given provider; returns it and its log sink."""

    def make(config: ConfigProvider) -> tuple[Recommend, CapturingSink]:
        sink = CapturingSink()

        @interleaved(rankers={"B": rank_b}, config=config, sink=sink, experiment="cfg-test")
        def recommend(user_id: str) -> pd.DataFrame:
            return rank_a(user_id)

        return recommend, sink

    return make

"""A streaming arm: B yields its items best first and the SDK pulls only what the draft needs.

Run: ``python samples/streaming_ranker.py``. B could yield a million items; a Team Draft of k=10
pulls about ten of them, and the log line says how many (``arms.B.produced``).
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator

import pandas as pd

from interleave_sdk import JsonLineSink, StaticConfig, interleaved


class NextBest:
    """Model version B as a stream: the next best video on each pull."""

    def __init__(self) -> None:
        self.pulled = 0

    def rank_stream(self, user_id: str) -> Iterator[dict[str, object]]:
        for i in itertools.count():  # endless: only the pulls cost anything
            self.pulled += 1
            yield {"item_id": f"b{i}", "score": 1.0 / (i + 1)}

    def rank_full(self, user_id: str) -> pd.DataFrame:
        """What B serves alone (mode "B" or pinned to B): a list of its own length."""
        return pd.DataFrame({"item_id": [f"b{i}" for i in range(50)], "score": 1.0})


log = io.StringIO()
stream = NextBest()


@interleaved(
    rankers={"B": stream},
    k=10,  # required with a streaming arm: how many items to serve
    config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0),
    sink=JsonLineSink(log),
    metrics=False,
)
def recommend(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": [f"a{i}" for i in range(50)], "score": 1.0})


served = recommend("user-1")
record = json.loads(log.getvalue())
print(list(served["item_id"]))
print(f"B was pulled {stream.pulled} times; the log says produced={record['arms']['B']['produced']}")

"""Quickstart: decorate a toy recommender, serve a few requests, look at the result and its log line.

Run with ``python samples/quickstart.py`` (``make demo`` runs the longer end-to-end demo). No
AWS account needed: the switches come from ``StaticConfig`` instead of SSM Parameter Store.
"""

from __future__ import annotations

import pandas as pd

from interleave_sdk import StaticConfig, interleaved, last_ranking_id

CATALOGUE = [f"video-{i:02d}" for i in range(20)]


def rank_a(user_id: str, context: dict[str, object]) -> pd.DataFrame:
    """The current production ranker: a fixed popularity order."""
    ids = CATALOGUE[:8]
    return pd.DataFrame({"item_id": ids, "score": [1.0 - i / 10 for i in range(8)], "meta": "pop"})


def rank_b(user_id: str, context: dict[str, object]) -> pd.DataFrame:
    """The candidate ranker: a different order that shares some items with A."""
    ids = CATALOGUE[4:12][::-1]
    return pd.DataFrame(
        {"item_id": ids, "score": [0.9 - i / 10 for i in range(8)], "meta": "two-tower"}
    )


@interleaved(
    rankers={"B": rank_b},
    config=StaticConfig(mode="INTERLEAVE", sampling_rate=0.5),
    experiment="quickstart",
)
def recommend(user_id: str, context: dict[str, object]) -> pd.DataFrame:
    return rank_a(user_id, context)  # the existing handler code, untouched


def main() -> None:
    for user in ("alice", "bob", "carol", "dave"):
        print(f"\n=== recommend({user!r}) — the JSON line above/below is the attribution log")
        frame = recommend(user, {})
        print(frame.to_string(index=False))
        print("ranking_id:", last_ranking_id())  # send it to the client, and back with clicks


if __name__ == "__main__":
    main()

"""Synthetic ranked frames shaped like a recommender's output (ids, scores, a few meta columns).

Built once per case from a seeded generator, so the timed calls do no ranker work at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES = np.array(["news", "sport", "music", "film", "kids", "docs"], dtype=object)


def arm_frame(rows: int, first_id: int, seed: int) -> pd.DataFrame:
    """``rows`` items ``item-<first_id>`` ... in a seeded random order, best first."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + rows)
    rng.shuffle(ids)
    return pd.DataFrame(
        {
            "item_id": [f"item-{i}" for i in ids],
            "score": np.sort(rng.random(rows, dtype=np.float32))[::-1],
            "rank": np.arange(1, rows + 1),
            "title": [f"title {i}" for i in ids],
            "category": CATEGORIES[ids % len(CATEGORIES)],
            "price": rng.random(rows) * 10,
        }
    )


def arm_pair(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A and B of ``rows`` items each, sharing half of them."""
    return arm_frame(rows, 0, seed), arm_frame(rows, rows // 2, seed + 1)

"""Users deciding on what they were shown: like/nope rows written back with the ranking id.

A user looks down the list and stops at some point; each video looked at gets a decision drawn
from the user's hidden taste (``World.taste``), never from either tower. The rows go to
``user_video_decisions`` exactly as the host's app would write them, ``ranking_id`` included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from interleave_sdk import last_ranking_id

from .db import Database
from .world import World

INSERT_SQL = (
    "INSERT INTO user_video_decisions (user_id, video_id, decision, ts, ranking_id)"
    " VALUES (%s, %s, %s, %s, %s)"
)


def decide(
    world: World, user_id: int, shown: list[int], rng: np.random.Generator, keep_going: float = 0.8
) -> list[tuple[int, str]]:
    """(video, 'like' or 'nope') for the videos the user looked at, top down."""
    taste = world.taste[user_id - 1]
    out: list[tuple[int, str]] = []
    for video in shown:
        affinity = float(world.video_emb[video - 1] @ taste)
        p_like = 1.0 / (1.0 + np.exp(-(affinity - 0.62) / 0.05))
        out.append((video, "like" if rng.random() < p_like else "nope"))
        if rng.random() > keep_going:
            break
    return out


def play(
    handler: Callable[..., Any],
    world: World,
    db: Database,
    requests: int,
    seed: int = 0,
    k: int = 10,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> int:
    """Serve ``requests`` random users through ``handler``, write their decisions; rows written."""
    rng = np.random.default_rng(seed)
    written = 0
    for _ in range(requests):
        user_id = int(rng.integers(1, world.n_users + 1))
        served: pd.DataFrame = handler(user_id)
        ranking_id = last_ranking_id()  # sent with the response; the app writes it back
        shown = [int(v) for v in served["item_id"].head(k)]
        decided_at = now() + timedelta(seconds=1)
        rows = [
            (user_id, video, decision, decided_at, ranking_id)
            for video, decision in decide(world, user_id, shown, rng)
        ]
        if rows:
            db.execute_many(INSERT_SQL, rows)
            written += len(rows)
    return written

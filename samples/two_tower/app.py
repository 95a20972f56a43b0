"""The host's handler, decorated: ``recommend(user_id, candidates=None)`` serving tower v1 as A,
comparing it with tower v2 as B by interleaving.

``recommend`` declares ``candidates=None`` and fetches its own context when it gets none: that is
how it runs undecorated, and how the SDK calls it when the shared stage fails. Three set-ups, the
ones the benchmark compares:

- each arm fetches its own context (no ``candidates=``): the user's row is read once per arm;
- ``shared=True``: the shared stage reads it once and every arm receives it;
- ``streaming=True``: both arms page their kNN query, so each scores only what the draft pulls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from interleave_sdk import ArmExecutor, StaticConfig, interleaved
from interleave_sdk.observability.sinks import Sink

from .db import Database
from .towers import FullTower, SharedContext, StreamingTower, UserContext, towers
from .world import World


def make_handler(
    db: Database,
    world: World,
    sink: Sink,
    *,
    executor: ArmExecutor | None = None,
    parallel: bool = True,
    shared: bool = False,
    streaming: bool = False,
    stage: Callable[..., Any] | None = None,
    k: int = 10,
    limit: int = 100,
    mode: str = "INTERLEAVE",
    timeout_ms: float = 500.0,
) -> Callable[..., pd.DataFrame]:
    """``recommend`` over towers v1 (A, the decorated function) and v2 (B).

    ``stage`` replaces the shared stage (tests count or break it); it implies ``shared``.
    """
    tower = towers(world)
    v1 = FullTower(db, tower["v1"], limit)
    rankers: dict[str, Any]
    if streaming:  # pages of k rows: the first page is all a Team Draft of k can read
        rankers = {
            "A": StreamingTower(db, tower["v1"], page=k, limit=limit),
            "B": StreamingTower(db, tower["v2"], page=k, limit=limit),
        }
    else:
        rankers = {"B": FullTower(db, tower["v2"], limit)}
    if stage is None and shared:
        stage = SharedContext(db)
    config = StaticConfig(
        mode=mode, sampling_rate=1.0, parallel_enabled=parallel, timeout_ms=timeout_ms
    )

    @interleaved(
        rankers=rankers, candidates=stage, config=config, sink=sink, executor=executor, k=k,
        metrics=False,
    )  # fmt: skip
    def recommend(user_id: int, candidates: UserContext | None = None) -> pd.DataFrame:
        return v1(user_id, candidates)

    return recommend

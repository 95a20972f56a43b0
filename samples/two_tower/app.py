"""The host's handler, decorated: ``recommend(user_id, candidates=None)`` serving tower v1 as A,
comparing it with tower v2 as B by interleaving.

``recommend`` declares ``candidates=None`` and fetches its own context when it gets none: that is
how it runs undecorated, and how the SDK calls it when it fails open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from interleave_sdk import ArmExecutor, StaticConfig, interleaved
from interleave_sdk.observability.sinks import Sink

from .db import Database
from .towers import FullTower, UserContext, towers
from .world import World


def make_handler(
    db: Database,
    world: World,
    sink: Sink,
    *,
    executor: ArmExecutor | None = None,
    parallel: bool = True,
    k: int = 10,
    limit: int = 100,
    mode: str = "INTERLEAVE",
) -> Callable[..., pd.DataFrame]:
    """``recommend`` over towers v1 (A, the decorated function) and v2 (B)."""
    tower = towers(world)
    v1 = FullTower(db, tower["v1"], limit)
    v2 = FullTower(db, tower["v2"], limit)
    config = StaticConfig(mode=mode, sampling_rate=1.0, parallel_enabled=parallel)

    @interleaved(rankers={"B": v2}, config=config, sink=sink, executor=executor, k=k, metrics=False)
    def recommend(user_id: int, candidates: UserContext | None = None) -> pd.DataFrame:
        return v1(user_id, candidates)

    return recommend


def undecorated(db: Database, world: World, version: str = "v1", limit: int = 100) -> Any:
    """One tower alone, as the host runs it without the SDK (the benchmark's reference)."""
    return FullTower(db, towers(world)[version], limit)

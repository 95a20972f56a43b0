"""The host's request handler, decorated: ``recommend(user_id, context)`` serves A, B or both.

This is the one line a team adds to its Lambda. The body is the existing code (it calls model
version A); the decorator calls version B with the same arguments when the request interleaves.
``VideoScenario`` bundles a world and two versions for the simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ...config.providers import ConfigProvider
from ...decorator import interleaved
from . import VideoWorld, build_world

Handler = Callable[[str, Mapping[str, object]], pd.DataFrame]


def make_handler(
    world: VideoWorld,
    *,
    a: str = "v1",
    b: str = "v2",
    config: ConfigProvider,
    experiment: str = "video-recsys",
    sink: Callable[[dict[str, Any]], None] | None = None,
    **options: Any,
) -> Handler:
    """``recommend`` serving version ``a`` as the baseline and ``b`` as the challenger.

    ``options`` go to ``@interleaved`` unchanged (``clock``, ``id_factory``, ``k``, ...).
    """
    rank_a = world.ranker(a)
    rank_b = world.ranker(b)

    @interleaved(
        rankers={"B": rank_b},
        config=config,
        experiment=experiment,
        sink=sink,
        **options,
    )
    def recommend(user_id: str, context: Mapping[str, object]) -> pd.DataFrame:
        return rank_a(user_id, context)

    return recommend


class VideoScenario:
    """A world plus the two versions under test, as the simulator consumes it."""

    def __init__(self, world: VideoWorld, a: str = "v1", b: str = "v2") -> None:
        self.world = world
        self.a = a
        self.b = b

    def user_ids(self) -> Sequence[str]:
        return self.world.users.user_ids

    def handler(self, *, config: ConfigProvider, experiment: str, **options: Any) -> Handler:
        return make_handler(
            self.world, a=self.a, b=self.b, config=config, experiment=experiment, **options
        )

    def grades(self, user_id: str, item_ids: Sequence[str]) -> list[int]:
        return self.world.grades(user_id, item_ids)

    def ranked_ids(self, arm: str, user_id: str, context: Mapping[str, object]) -> list[str]:
        """Arm ``A`` or ``B``'s list without the SDK, for the fast in-process path."""
        name = self.a if arm == "A" else self.b
        return self.world.ranker(name).ranked_ids(user_id, context)

    def true_quality(self, n_requests: int = 2000) -> dict[str, float]:
        """Mean nDCG@k of each arm on the hidden grades: the order a test should find."""
        return {"A": self.world.ndcg(self.a, n_requests), "B": self.world.ndcg(self.b, n_requests)}


def scenario(
    seed: int = 7, a: str = "v1", b: str = "v2", gap: float | None = None, **world: Any
) -> VideoScenario:
    """The simulator's default scenario (``interleave-sdk simulate --scenario`` takes others)."""
    if gap is not None:
        world["gap"] = gap
    return VideoScenario(build_world(seed, **world), a=a, b=b)

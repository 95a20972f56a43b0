"""A sample host recommender shaped like a video app: catalogue, users, model versions, handler.

``build_world(seed)`` draws everything from one seed (no downloads, about a second); the world
hands out rankers (``v1``, ``v2``, ``v1_tweak``) and the hidden relevance grades that simulated
users judge with. ``handler.make_handler`` wraps two versions in ``@interleaved``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .catalogue import Catalogue, make_catalogue
from .rankers import DEFAULT_GAP, DEFAULT_QUALITY, DEFAULT_TWEAK, Ranker, RankerSpec, standard_specs
from .users import Users, make_users

__all__ = ["Catalogue", "Ranker", "RankerSpec", "Users", "VideoWorld", "build_world"]


@dataclass
class VideoWorld:
    """Catalogue, users and model versions of one seed."""

    seed: int
    catalogue: Catalogue
    users: Users
    specs: dict[str, RankerSpec]
    n_candidates: int = 1500
    k: int = 10
    _rankers: dict[str, Ranker] = field(default_factory=dict, repr=False)

    def ranker(self, name: str) -> Ranker:
        """The model version ``name`` (built once, then reused)."""
        if name not in self._rankers:
            try:
                spec = self.specs[name]
            except KeyError as exc:
                raise KeyError(f"unknown ranker {name!r}; known: {', '.join(self.specs)}") from exc
            self._rankers[name] = Ranker(
                spec, self.catalogue, self.users, self.seed, self.n_candidates, self.k
            )
        return self._rankers[name]

    def grades(self, user_id: str, item_ids: Sequence[str]) -> list[int]:
        """The hidden relevance (0..4) of ``item_ids`` for ``user_id``."""
        row = self.users.index(user_id)
        cols = self.item_rows(item_ids)
        return [int(g) for g in self.users.grades[row, cols]]

    def item_rows(self, item_ids: Sequence[str]) -> npt.NDArray[np.intp]:
        """Catalogue rows of ``item_ids`` (ids are ``vid-<row>``)."""
        return np.array([int(str(i).rsplit("-", 1)[1]) for i in item_ids], dtype=np.intp)

    def ndcg(self, name: str, n_requests: int = 2000, seed: int = 0) -> float:
        """True quality of a version: mean nDCG@k on hidden grades over seeded requests.

        The ideal list is the best ``k`` of that request's candidates, so 1.0 means the ranker
        ordered its own candidates perfectly.
        """
        return float(self.ndcg_values(name, n_requests, seed).mean())

    def ndcg_values(
        self, name: str, n_requests: int = 2000, seed: int = 0
    ) -> npt.NDArray[np.float64]:
        """nDCG@k of each of ``n_requests`` seeded requests: the same requests for every version,
        so two versions' values pair up (a paired difference measures a gap precisely)."""
        ranker = self.ranker(name)
        rng = np.random.default_rng([self.seed, 3, seed])
        users = rng.integers(len(self.users), size=n_requests)
        sessions = rng.integers(2**31, size=n_requests)
        discount = 1.0 / np.log2(np.arange(2, self.k + 2))
        values = np.zeros(n_requests, dtype=np.float64)
        for i, (row, session) in enumerate(zip(users, sessions, strict=True)):
            user_id = self.users.user_ids[row]
            rows, _ = ranker.ranked_rows(user_id, {"session": int(session)})
            gains = 2.0 ** self.users.grades[row, rows].astype(np.float64) - 1.0
            ideal = np.sort(self.users.grades[row, ranker.candidates(int(row), int(session))])
            ideal_gains = 2.0 ** ideal[::-1][: self.k].astype(np.float64) - 1.0
            best = float(ideal_gains @ discount[: len(ideal_gains)])
            values[i] = float(gains @ discount[: len(gains)]) / best if best > 0 else 0.0
        return values


def build_world(
    seed: int = 7,
    *,
    n_videos: int = 3000,
    n_users: int = 1000,
    n_candidates: int = 1500,
    k: int = 10,
    gap: float = DEFAULT_GAP,
    tweak: float = DEFAULT_TWEAK,
    quality: float = DEFAULT_QUALITY,
) -> VideoWorld:
    """Everything from ``numpy.random.default_rng(seed)``; same seed, same world."""
    rng = np.random.default_rng(seed)
    catalogue = make_catalogue(rng, n_videos=n_videos)
    users = make_users(rng, catalogue, n_users=n_users)
    return VideoWorld(seed, catalogue, users, standard_specs(gap, tweak, quality), n_candidates, k)

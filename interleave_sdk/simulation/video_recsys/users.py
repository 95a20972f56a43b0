"""Users with hidden taste vectors, and the graded relevance (0..4) that taste implies.

A taste mixes a few favourite genres and makers plus a personal direction. Relevance is what the
simulated user would think of a video; rankers never see it, click models and the judge do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .catalogue import Catalogue, Matrix, unit_rows

#: Share of the catalogue at each grade for every user, from grade 4 down (the rest is grade 0).
GRADE_SHARES = (0.01, 0.03, 0.08, 0.18)


@dataclass(frozen=True)
class Users:
    """The population: ids, hidden tastes and their relevance grade for every video."""

    user_ids: tuple[str, ...]
    tastes: Matrix  # (n_users, DIM), unit rows
    grades: npt.NDArray[np.uint8]  # (n_users, n_videos), 0..4

    def __len__(self) -> int:
        return len(self.user_ids)

    def index(self, user_id: str) -> int:
        """Row of ``user_id``; ids are ``user-<row>`` so no lookup table is needed."""
        try:
            row = int(user_id.rsplit("-", 1)[1])
        except (IndexError, ValueError) as exc:
            raise KeyError(user_id) from exc
        if not 0 <= row < len(self.user_ids) or self.user_ids[row] != user_id:
            raise KeyError(user_id)
        return row


def random_tastes(rng: np.random.Generator, catalogue: Catalogue, n: int) -> Matrix:
    """``n`` taste vectors: 1-3 genres, 1-3 makers and a personal direction, mixed at random."""
    n_genres, dim = catalogue.genre_directions.shape
    n_makers = catalogue.maker_directions.shape[0]
    tastes = np.empty((n, dim), dtype=np.float64)
    for u in range(n):
        genres = rng.choice(n_genres, size=rng.integers(1, 4), replace=False)
        makers = rng.choice(n_makers, size=rng.integers(1, 4), replace=False)
        g_weights = rng.dirichlet(np.ones(len(genres)))
        m_weights = rng.dirichlet(np.ones(len(makers)))
        tastes[u] = (
            g_weights @ catalogue.genre_directions[genres]
            + 0.8 * (m_weights @ catalogue.maker_directions[makers])
            + 0.3 * rng.standard_normal(dim) / np.sqrt(dim)
        )
    return unit_rows(tastes)


def relevance_grades(tastes: Matrix, catalogue: Catalogue) -> npt.NDArray[np.uint8]:
    """Grade 4 for each user's top 1 % of videos by taste, then 3 %, 8 %, 18 %; the rest 0."""
    utility = tastes @ catalogue.embeddings.T
    order = np.argsort(-utility, axis=1, kind="stable")
    grades = np.zeros(utility.shape, dtype=np.uint8)
    n_videos = utility.shape[1]
    start = 0
    for grade, share in zip((4, 3, 2, 1), GRADE_SHARES, strict=True):
        stop = start + max(1, round(share * n_videos))
        np.put_along_axis(grades, order[:, start:stop], np.uint8(grade), axis=1)
        start = stop
    return grades


def make_users(rng: np.random.Generator, catalogue: Catalogue, n_users: int = 1000) -> Users:
    tastes = random_tastes(rng, catalogue, n_users)
    width = len(str(n_users - 1))
    return Users(
        user_ids=tuple(f"user-{u:0{width}d}" for u in range(n_users)),
        tastes=tastes,
        grades=relevance_grades(tastes, catalogue),
    )

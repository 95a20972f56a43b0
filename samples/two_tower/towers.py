"""The arms: user towers v1 and v2 ranking videos by pgvector cosine distance, full or streamed.

A tower turns the user's stored embedding into a query vector; the database does the rest with an
exact kNN (``ORDER BY embedding <=> q``), leaving out videos the user already decided on. The user's
embedding and decided set are the *candidate context*: the shared stage (:class:`SharedContext`)
fetches them once per request, and an arm called without ``candidates`` fetches its own, so each
arm also works undecorated.

The query vector travels as a binary ``float8[]`` parameter cast to ``vector``. The streaming arm
pages the same query by keyset (``(distance, id) > (last distance, last id)``),
so it asks the database for the next page only when the interleaver pulls past the current one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .db import Database, parse_vector
from .world import World, normalise

CONTEXT_SQL = """
SELECT u.embedding::text,
       coalesce(array_agg(d.video_id) FILTER (WHERE d.video_id IS NOT NULL), '{}')
FROM users u LEFT JOIN user_video_decisions d ON d.user_id = u.id
WHERE u.id = %s
GROUP BY u.id
"""

KNN_SQL = """
SELECT id, embedding <=> %b::float8[]::vector AS distance, genre, maker
FROM videos
WHERE id <> ALL(%s)
ORDER BY distance, id
LIMIT %s
"""

KNN_AFTER_SQL = """
SELECT id, embedding <=> %b::float8[]::vector AS distance, genre, maker
FROM videos
WHERE id <> ALL(%s) AND (embedding <=> %b::float8[]::vector, id) > (%s, %s)
ORDER BY distance, id
LIMIT %s
"""

COLUMNS = ["item_id", "score", "genre", "maker"]


@dataclass(frozen=True)
class UserContext:
    """What every arm needs about the user: the stored embedding and the videos already decided."""

    user_id: int
    embedding: np.ndarray
    decided: list[int]


def fetch_context(db: Database, user_id: int) -> UserContext:
    """The user's embedding and decided set, in one round trip."""
    rows = db.fetch(CONTEXT_SQL, (user_id,))
    if not rows:
        raise LookupError(f"no user {user_id!r}")
    text, decided = rows[0]
    return UserContext(int(user_id), parse_vector(text), sorted(int(v) for v in decided))


class SharedContext:
    """The shared candidate stage: called with the request's arguments, fetches the context once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.calls = 0

    def __call__(self, user_id: int, **_: Any) -> UserContext:
        self.calls += 1
        return fetch_context(self.db, user_id)


@dataclass(frozen=True)
class Tower:
    """A user tower version: a projection of the stored user embedding into the video space."""

    name: str
    project: Callable[[np.ndarray], np.ndarray]

    def query(self, user_embedding: np.ndarray) -> np.ndarray:
        return normalise(self.project(user_embedding))

    def query_param(self, user_embedding: np.ndarray) -> list[float]:
        """The query vector as a binary ``float8[]`` parameter: formatting 768 floats as text
        costs more than the round trip (the float32 values convert back exactly)."""
        return self.query(user_embedding).astype(np.float64).tolist()


def towers(world: World) -> dict[str, Tower]:
    """v1 uses the features as they are; v2 adds the quality direction it learned (it wins)."""
    learned = world.quality_dir

    def v2(f: np.ndarray) -> np.ndarray:
        return f + 0.3 * learned

    return {"v1": Tower("v1", lambda f: f), "v2": Tower("v2", v2)}


def _frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=["item_id", "distance", "genre", "maker"])
    frame.insert(1, "score", 1.0 - frame.pop("distance"))
    return frame[COLUMNS]


class FullTower:
    """The full arm: the top ``limit`` videos for the user in one query, as a DataFrame."""

    def __init__(self, db: Database, tower: Tower, limit: int = 100) -> None:
        self.db, self.tower, self.limit = db, tower, limit

    def __call__(self, user_id: int, candidates: UserContext | None = None) -> pd.DataFrame:
        context = candidates if candidates is not None else fetch_context(self.db, user_id)
        q = self.tower.query_param(context.embedding)
        return _frame(self.db.fetch(KNN_SQL, (q, context.decided, self.limit)))


class StreamingTower:
    """The streaming arm: the same ranking, fetched ``page`` rows at a time as it is pulled.

    ``rank_full`` gives the full list (what the arm serves when it is not interleaved).
    """

    def __init__(self, db: Database, tower: Tower, page: int = 12, limit: int = 100) -> None:
        self.db, self.tower, self.page = db, tower, page
        self.full = FullTower(db, tower, limit)

    def rank_full(self, user_id: int, candidates: UserContext | None = None) -> pd.DataFrame:
        return self.full(user_id, candidates)

    def rank_stream(
        self, user_id: int, candidates: UserContext | None = None
    ) -> Iterator[dict[str, Any]]:
        context = candidates if candidates is not None else fetch_context(self.db, user_id)
        q = self.tower.query_param(context.embedding)
        rows = self.db.fetch(KNN_SQL, (q, context.decided, self.page))
        while rows:
            for item_id, distance, genre, maker in rows:
                yield {"item_id": item_id, "score": 1.0 - distance, "genre": genre, "maker": maker}
            if len(rows) < self.page:
                return
            last_id, last_distance = rows[-1][0], rows[-1][1]
            rows = self.db.fetch(
                KNN_AFTER_SQL, (q, context.decided, q, last_distance, last_id, self.page)
            )

"""Model versions of the sample recommender: each scores ~1.5k candidates and returns the top k.

A ranker estimates a user's taste as a mix of the true taste (weight ``quality``) and a wrong guess
(a decoy taste of its own), plus a per-video bias. Raising ``quality`` moves the estimate toward the
truth, which is how ``v2``'s advantage over ``v1`` is dialled. ``v1_tweak`` shares v1's decoy and
bias and is a hair better: near-identical lists, the "small change" regime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from .catalogue import Catalogue, Matrix, unit_rows
from .users import Users, random_tastes

DEFAULT_QUALITY = 0.5  # v1: half truth, half decoy
DEFAULT_GAP = 0.2  # v2 = v1 + gap
DEFAULT_TWEAK = 0.02  # v1_tweak = v1 + tweak, same decoy and bias
BIAS_SCALE = 0.05  # per-video bias, comparable to the taste-score spread between grades


@dataclass(frozen=True)
class RankerSpec:
    """How one model version errs: how much truth it sees, and which mistakes it makes."""

    name: str
    quality: float  # 0 = only the decoy, 1 = the true taste
    mistakes: int  # key of the decoy tastes and video bias; equal keys make the same mistakes


def standard_specs(
    gap: float = DEFAULT_GAP,
    tweak: float = DEFAULT_TWEAK,
    quality: float = DEFAULT_QUALITY,
) -> dict[str, RankerSpec]:
    """``v1``, ``v2`` (v1 + gap, its own mistakes) and ``v1_tweak`` (v1 + tweak, v1's mistakes)."""
    for label, value in (
        ("quality", quality),
        ("quality + gap", quality + gap),
        ("quality + tweak", quality + tweak),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{label} must lie in [0, 1], got {value}")
    return {
        "v1": RankerSpec("v1", quality, mistakes=1),
        "v2": RankerSpec("v2", quality + gap, mistakes=2),
        "v1_tweak": RankerSpec("v1_tweak", quality + tweak, mistakes=1),
    }


class Ranker:
    """A model version as the host calls it: ``ranker(user_id, context) -> ranked DataFrame``."""

    def __init__(
        self,
        spec: RankerSpec,
        catalogue: Catalogue,
        users: Users,
        seed: int,
        n_candidates: int = 1500,
        k: int = 10,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.catalogue = catalogue
        self.users = users
        self.seed = seed
        self.n_candidates = min(n_candidates, len(catalogue))
        self.k = k
        mistakes = np.random.default_rng([seed, 2, spec.mistakes])
        decoys = random_tastes(mistakes, catalogue, len(users))
        q = spec.quality
        self.estimates: Matrix = unit_rows(q * users.tastes + (1.0 - q) * decoys)
        self.bias = (BIAS_SCALE * mistakes.standard_normal(len(catalogue))).astype(np.float32)
        self._scores: Matrix | None = None

    @property
    def scores(self) -> Matrix:
        """Model score of every (user, video): one matrix product, computed on first use.

        A request then reads its candidates' scores from the user's row, which is what a served
        model with precomputed user and item towers does, and keeps a request well under 1 ms.
        """
        if self._scores is None:
            self._scores = self.estimates @ self.catalogue.embeddings.T + self.bias
        return self._scores

    def candidates(self, user_row: int, session: int) -> npt.NDArray[np.intp]:
        """Retrieval stage: candidates fixed by (seed, user, session), the same for every arm."""
        rng = np.random.default_rng([self.seed, 1, user_row, session])
        picked: npt.NDArray[np.intp] = rng.choice(
            len(self.catalogue), size=self.n_candidates, replace=False
        )
        return picked

    def ranked_rows(
        self, user_id: str, context: Mapping[str, object]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """Catalogue rows of the top ``k`` candidates, best first, and their scores."""
        row = self.users.index(user_id)
        session = int(context.get("session", 0))  # type: ignore[call-overload]
        cands = self.candidates(row, session)
        scores = self.scores[row, cands]
        top = np.argpartition(-scores, self.k - 1)[: self.k]
        top = top[np.lexsort((cands[top], -scores[top]))]  # ties broken by row: deterministic
        return cands[top], scores[top]

    def ranked_ids(self, user_id: str, context: Mapping[str, object]) -> list[str]:
        rows, _ = self.ranked_rows(user_id, context)
        return [str(i) for i in self.catalogue.item_ids[rows]]

    def __call__(self, user_id: str, context: Mapping[str, object]) -> pd.DataFrame:
        rows, scores = self.ranked_rows(user_id, context)
        ranked: pd.DataFrame = pd.DataFrame(
            {
                "item_id": self.catalogue.item_ids[rows].astype(object),
                "score": scores.astype(np.float64),
                "genre": self.catalogue.genre_names(rows),
                "maker": self.catalogue.makers_of(rows),
            }
        )
        return ranked

    def __repr__(self) -> str:
        return f"Ranker({self.name!r}, quality={self.spec.quality:.3f})"

"""The video catalogue: ids, genres, makers and 768-dim embeddings clustered by both.

Each genre and each maker owns a random direction; a video's embedding mixes its genre's, its
maker's and its own direction, then is L2-normalised, so cosine similarity reflects taste clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DIM = 768
GENRES = (
    "action",
    "animation",
    "comedy",
    "crime",
    "documentary",
    "drama",
    "family",
    "horror",
    "music",
    "romance",
    "scifi",
    "sports",
)

Matrix = npt.NDArray[np.float32]


def unit_rows(x: npt.NDArray[np.floating]) -> Matrix:
    """Rows scaled to length 1, as float32 (the dtype a vector store would hand back)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    rows: Matrix = (x / norms).astype(np.float32)
    return rows


@dataclass(frozen=True)
class Catalogue:
    """Videos as parallel arrays (row ``i`` describes ``item_ids[i]``)."""

    item_ids: npt.NDArray[np.str_]
    genre: npt.NDArray[np.intp]  # index into GENRES
    maker: npt.NDArray[np.intp]  # index into maker_names
    maker_names: tuple[str, ...]
    embeddings: Matrix  # (n_videos, DIM), unit rows
    genre_directions: Matrix  # (len(GENRES), DIM), unit rows
    maker_directions: Matrix  # (n_makers, DIM), unit rows

    def __len__(self) -> int:
        return len(self.item_ids)

    def genre_names(self, rows: npt.NDArray[np.intp]) -> list[str]:
        return [GENRES[g] for g in self.genre[rows]]

    def makers_of(self, rows: npt.NDArray[np.intp]) -> list[str]:
        return [self.maker_names[m] for m in self.maker[rows]]


def make_catalogue(
    rng: np.random.Generator, n_videos: int = 3000, n_makers: int = 80, dim: int = DIM
) -> Catalogue:
    """Draw a catalogue; makers mostly publish in one home genre and differ in output volume."""
    genre_dirs = unit_rows(rng.standard_normal((len(GENRES), dim)))
    maker_dirs = unit_rows(rng.standard_normal((n_makers, dim)))
    home_genre = rng.integers(len(GENRES), size=n_makers)
    volume = rng.dirichlet(np.full(n_makers, 0.8))  # a few prolific studios, a long tail
    maker = rng.choice(n_makers, size=n_videos, p=volume)
    off_genre = rng.random(n_videos) < 0.2
    genre = np.where(off_genre, rng.integers(len(GENRES), size=n_videos), home_genre[maker])
    own = unit_rows(rng.standard_normal((n_videos, dim)))
    mixed = 1.0 * genre_dirs[genre] + 0.6 * maker_dirs[maker] + 0.7 * own
    width = len(str(n_videos - 1))
    return Catalogue(
        item_ids=np.array([f"vid-{i:0{width}d}" for i in range(n_videos)]),
        genre=genre.astype(np.intp),
        maker=maker.astype(np.intp),
        maker_names=tuple(f"maker-{m:02d}" for m in range(n_makers)),
        embeddings=unit_rows(mixed),
        genre_directions=genre_dirs,
        maker_directions=maker_dirs,
    )

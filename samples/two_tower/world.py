"""The host's data, generated from a seed: videos, users, and the users' hidden taste.

Videos cluster around genre centroids in a 768-dimensional space and carry a hidden quality along
one direction. A user's stored embedding (the features both towers see) mixes a favourite genre, a
second genre and noise; the user's true taste, which only the simulated decisions use, is the
favourite genre plus the features plus quality. Tower v1 ranks by the features as they are; v2
adds the quality direction it learned, so it finds the videos users like: v2 is built to win, and
the test checks that the analysis says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIM = 768


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (cosine distance is then 1 - dot product)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


@dataclass(frozen=True)
class World:
    """Everything generated from one seed; ``taste`` is hidden from the rankers."""

    video_emb: np.ndarray  # (n_videos, DIM) float32, unit rows
    genre: np.ndarray  # (n_videos,) int
    maker: np.ndarray  # (n_videos,) int
    user_emb: np.ndarray  # (n_users, DIM) float32, unit rows: the features both towers see
    taste: np.ndarray  # (n_users, DIM) float32, unit rows: what decisions are drawn from
    centroids: np.ndarray  # (n_genres, DIM) float32, unit rows
    quality_dir: np.ndarray  # (DIM,) float32, unit: what tower v2 learned to add

    @property
    def n_videos(self) -> int:
        return len(self.video_emb)

    @property
    def n_users(self) -> int:
        return len(self.user_emb)

    def video_ids(self) -> np.ndarray:
        return np.arange(1, self.n_videos + 1, dtype=np.int64)

    def user_ids(self) -> np.ndarray:
        return np.arange(1, self.n_users + 1, dtype=np.int64)


def generate(seed: int = 7, videos: int = 32_000, users: int = 2_000, genres: int = 24) -> World:
    """The world for ``seed``; the same arguments always give the same arrays."""
    rng = np.random.default_rng(seed)
    centroids = normalise(rng.standard_normal((genres, DIM)))
    genre = rng.integers(0, genres, size=videos)
    quality_dir = normalise(rng.standard_normal(DIM))
    noise = normalise(rng.standard_normal((videos, DIM)))
    quality = rng.standard_normal(videos)
    video_emb = normalise(centroids[genre] + 1.2 * noise + 0.4 * quality[:, None] * quality_dir)
    maker = rng.integers(0, max(8, videos // 160), size=videos)
    favourite = rng.integers(0, genres, size=users)
    second = (favourite + rng.integers(1, genres, size=users)) % genres
    user_noise = normalise(rng.standard_normal((users, DIM)))
    user_emb = normalise(0.6 * centroids[favourite] + 0.45 * centroids[second] + 0.8 * user_noise)
    taste = normalise(centroids[favourite] + 0.5 * user_emb + 0.6 * quality_dir)
    return World(video_emb, genre, maker, user_emb, taste, centroids, quality_dir)

"""Stable hashing: who is in the sample, and the seed of each draw.

Both use SHA-256 (never the built-in ``hash()``, which is salted per process), so a decision made
in one Lambda container is the same in every other one and can be recomputed from a log line.
"""

from __future__ import annotations

import hashlib

_SEP = "\x1f"  # unit separator: cannot be confused with characters of ordinary ids
_TWO_64 = float(2**64)
_SEED_BITS = 53  # seeds stay exact in JSON, JavaScript and Athena alike


def user_key(user_id: object) -> str | None:
    """The text a user id is hashed as; ``None`` for a missing id (None or empty string)."""
    if user_id is None:
        return None
    text = user_id if isinstance(user_id, str) else str(user_id)
    return text or None


def _digest(*parts: str) -> bytes:
    return hashlib.sha256(_SEP.join(parts).encode("utf-8")).digest()


def bucket(salt: str, key: str) -> float:
    """Map ``key`` to a number in [0, 1), uniform and stable for a given ``salt``.

    A request is in sample when ``bucket < sampling_rate``, so raising the rate keeps everybody who
    was already in and only adds people.
    """
    return int.from_bytes(_digest(salt, key)[:8], "big") / _TWO_64


def derive_seed(*parts: str) -> int:
    """A 53-bit seed for ``random.Random`` from text parts."""
    return int.from_bytes(_digest(*parts)[:8], "big") >> (64 - _SEED_BITS)


def seed_for(strategy: str, experiment: str, user: str | None, ranking_id: str) -> tuple[str, int]:
    """The seed strategy actually used and the seed value.

    ``user``: one seed per (experiment, user), so the same user and the same lists give the same
    interleaving on every refresh. ``request``: one per ranking_id. A request without a user id
    cannot be seeded by user and falls back to ``request``; the log records which was used.
    """
    if strategy == "user" and user is not None:
        return "user", derive_seed("user", experiment, user)
    return "request", derive_seed("request", ranking_id)

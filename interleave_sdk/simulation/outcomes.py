"""Who won one interleaved impression: clicks credited to teams under a credit rule, vectorised.

The fast in-process path and the simulator's own sequential curve use this; the analysis package
computes the same outcomes from log files, and a test checks the two agree on the same run.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt

from ..errors import SimulationError

#: Credit rules understood here (the analysis package owns the full registry).
CREDITS: tuple[str, ...] = ("competitive", "team_draft")

Codes = npt.NDArray[np.int8]  # +1 A won, -1 B won, 0 tie


def common_prefix(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Length of the top prefix both arms ranked identically."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def neutral_positions(
    items: Sequence[Hashable], top_a: Sequence[Hashable], top_b: Sequence[Hashable], credit: str
) -> list[bool]:
    """Positions whose clicks credit no one: the arms' common top prefix under ``competitive``.

    Both arms would have shown those items in those slots, so a click there says nothing about
    which ranker is better; identical lists therefore always tie.
    """
    if credit == "team_draft":
        return [False] * len(items)
    if credit != "competitive":
        raise SimulationError(f"unknown credit rule {credit!r}; valid: {', '.join(CREDITS)}")
    shared = set(top_a[: common_prefix(top_a, top_b)])
    return [item in shared for item in items]


def outcome_codes(teams: npt.ArrayLike, clicks: npt.ArrayLike, neutral: npt.ArrayLike | None = None) -> Codes:
    """Per impression: +1 when A's team got more credited clicks, -1 when B's, 0 on a tie.

    ``teams`` is ``(n, k)`` with +1 for an item drafted by A and -1 for B (0 for padding),
    ``clicks`` and ``neutral`` are boolean ``(n, k)``.
    """
    team = np.asarray(teams, dtype=np.int64)
    credited = np.asarray(clicks, dtype=bool)
    if neutral is not None:
        credited = credited & ~np.asarray(neutral, dtype=bool)
    codes: Codes = np.sign((team * credited).sum(axis=1)).astype(np.int8)
    return codes


def tally(codes: npt.ArrayLike) -> tuple[int, int, int]:
    """``(wins_a, wins_b, ties)`` of outcome codes."""
    c = np.asarray(codes)
    return int((c > 0).sum()), int((c < 0).sum()), int((c == 0).sum())

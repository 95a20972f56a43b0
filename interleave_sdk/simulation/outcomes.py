"""Who won each simulated interleaved impression, vectorised, under the analysis's credit rules.

Power curves need the outcomes of tens of thousands of impressions in milliseconds, so they cannot
go through log files. This module builds the columns a credit rule reads and asks the rule from
``interleave_sdk.analysis.credit`` which clicks count: the rule is defined once, there. A test checks
that these outcomes equal what ``analyze()`` computes from the log files of the same run.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..analysis.credit import get_credit_rule

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.int8]  # +1 A won, -1 B won, 0 tie


def common_prefix(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Length of the top prefix both arms ranked identically.

    Team Draft places exactly these items in the first slots (both teams' next pick is the same
    item until the lists part), so this equals the analysis's ``prefix_len`` of the impression.
    """
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class Impressions:
    """Interleaved lists as matrices: the team of each slot (+1 A, -1 B, 0 past the list's end)."""

    teams: Ints  # (n, k)
    prefix_len: Ints  # (n,): each impression's common top prefix
    contest_depth: Ints | None = None  # (n,): where each contest ended (None: the whole list)
    _eligible: dict[str, Bools] = field(default_factory=dict, repr=False, compare=False)

    def eligible(self, credit: str) -> Bools:
        """``(n, k)``: the slots whose clicks earn credit under the analysis rule ``credit``."""
        if credit not in self._eligible:
            rule = get_credit_rule(credit)  # an unknown name raises, listing the valid ones
            n, k = self.teams.shape
            slots = pd.DataFrame(
                {
                    "position": np.tile(np.arange(1, k + 1, dtype=np.int64), n),
                    "prefix_len": np.repeat(self.prefix_len, k),
                    "contest_depth": np.repeat(self.contests(), k),
                    "team": np.where(self.teams.ravel() > 0, "A", "B"),
                }
            )
            mask = rule.eligible(slots).to_numpy(dtype=bool).reshape(n, k)
            self._eligible[credit] = mask & (self.teams != 0)
        return self._eligible[credit]

    def contests(self) -> Ints:
        """``(n,)``: each impression's contest depth (its filled slots when none was given)."""
        if self.contest_depth is not None:
            return self.contest_depth
        filled: Ints = (self.teams != 0).sum(axis=1).astype(np.int64)
        return filled

    def credit(self, clicks: npt.ArrayLike, credit: str) -> Ints:
        """Per impression: credit A − B, the credited clicks on A's slots minus those on B's."""
        credited = np.asarray(clicks, dtype=bool) & self.eligible(credit)
        diff: Ints = (self.teams * credited).sum(axis=1).astype(np.int64)
        return diff

    def codes(self, clicks: npt.ArrayLike, credit: str) -> Codes:
        """Per impression: +1 when A's team earned more credit, -1 when B's, 0 on a tie."""
        codes: Codes = np.sign(self.credit(clicks, credit)).astype(np.int8)
        return codes


def tally(codes: npt.ArrayLike) -> tuple[int, int, int]:
    """``(wins_a, wins_b, ties)`` of outcome codes."""
    c = np.asarray(codes)
    return int((c > 0).sum()), int((c < 0).sum()), int((c == 0).sum())

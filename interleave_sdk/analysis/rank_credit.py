"""Credit for optimized lists: each click is worth the rank difference of the clicked item.

An optimized list (Radlinski & Craswell, WSDM 2013) is drawn from a distribution that is unbiased
only for the credit function it was solved for, so the analysis must credit it with that same
function, chosen per impression from the record's ``method`` (the method that actually produced
the list; a fallback to Team Draft is logged as ``team_draft_v1`` and credited as Team Draft).

A click on item ``d`` gives arm A the credit ``delta(d)`` and arm B ``-delta(d)``. With
``rank_X(d)`` the item's logged 1-based rank in arm X, capped at ``k + 1`` (``k`` the record's
requested length; an item absent from X, or ranked below its top ``k``, is at ``k + 1``):

* ``optimized_v1`` (linear rank difference): ``delta(d) = rank_B(d) - rank_A(d)``;
* ``optimized_inverse_v1`` (inverse rank): ``delta(d) = 1/rank_A(d) - 1/rank_B(d)``.

The outcomes table keeps its two credit columns: A's column sums the positive parts, B's the
negative parts, so ``credit_a - credit_b`` is the summed ``delta`` and the sign decides the
impression. The cap equals the one the method solved with (``len(top_X) + 1``) whenever each arm
returned at least ``k`` items, the normal case; an arm that returned fewer than ``k`` items is
capped at ``k + 1`` here, slightly off the served distribution for items it lacks. A click past
the impression's ``contest_depth`` (items drafted after an arm ran out) is worth nothing to
either arm, as under the ``competitive`` rule; ``optimized_v1`` never serves such a list (it
falls back to Team Draft, ``short_arm``), so this only matters for older lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

#: Summed credits closer than this are a tie (inverse-rank credits are sums of small floats).
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RankCredit:
    """One credit function, in both languages the pipeline speaks.

    ``sql`` is an expression over ``{ra}`` and ``{rb}``, the capped ranks, that gives A's credit;
    ``delta`` is the same on numpy arrays of capped ranks.
    """

    method: str
    name: str
    sql: str
    delta: Callable[[Floats, Floats], Floats]


def _linear(ra: Floats, rb: Floats) -> Floats:
    out: Floats = rb - ra
    return out


def _inverse(ra: Floats, rb: Floats) -> Floats:
    out: Floats = 1.0 / ra - 1.0 / rb
    return out


#: Method name in the log -> its credit function. Methods not listed here get the credit rule.
RANK_CREDITS: dict[str, RankCredit] = {
    credit.method: credit
    for credit in (
        RankCredit("optimized_v1", "linear", "CAST({rb} - {ra} AS double)", _linear),
        RankCredit("optimized_inverse_v1", "inverse", "1e0 / {ra} - 1e0 / {rb}", _inverse),
    )
}


def capped_rank_sql(rank: str, k: str) -> str:
    """``rank`` capped at ``k + 1``, a missing rank counting as ``k + 1``."""
    return f"least(coalesce({rank}, {k} + 1), {k} + 1)"


def sql_delta(*, method: str, rank_a: str, rank_b: str, k: str, position: str, contest: str) -> str:
    """A's credit for one clicked item as a CASE on the method; NULL for other methods, 0 past
    the contest (``position > contest``)."""
    ra, rb = capped_rank_sql(rank_a, k), capped_rank_sql(rank_b, k)
    past = f"{position} > {contest}"
    branches = " ".join(
        f"WHEN '{c.method}' THEN CASE WHEN {past} THEN 0e0 ELSE {c.sql.format(ra=ra, rb=rb)} END"
        for c in RANK_CREDITS.values()
    )
    return f"CASE {method} {branches} END"


def delta(
    method: npt.ArrayLike,
    rank_a: Floats,
    rank_b: Floats,
    k: npt.ArrayLike,
    *,
    position: npt.ArrayLike,
    contest: npt.ArrayLike,
) -> Floats:
    """A's credit per clicked item (NaN where ``method`` has no rank credit, 0 past the contest),
    vectorised over parallel arrays of methods, ranks (NaN when absent), ``k``, the item's
    position and its impression's ``contest_depth``."""
    methods = np.asarray(method, dtype=object)
    cap = np.asarray(k, dtype=np.float64) + 1.0
    ra = np.minimum(np.where(np.isnan(rank_a), cap, rank_a), cap)
    rb = np.minimum(np.where(np.isnan(rank_b), cap, rank_b), cap)
    out = np.full(ra.shape, np.nan)
    for credit in RANK_CREDITS.values():
        chosen = methods == credit.method
        if chosen.any():
            out[chosen] = credit.delta(ra[chosen], rb[chosen])
    past = np.asarray(position, dtype=np.float64) > np.asarray(contest, dtype=np.float64)
    out[past & ~np.isnan(out)] = 0.0
    return out

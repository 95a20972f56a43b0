"""Builders of per-impression outcomes tables for the statistics and report tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

START = pd.Timestamp("2026-11-01", tz="UTC")


def outcomes_frame(
    users: Sequence[str | None] | npt.NDArray[np.object_],
    credit_a: Sequence[float] | npt.NDArray[np.float64],
    credit_b: Sequence[float] | npt.NDArray[np.float64],
    *,
    first_team: Sequence[str] | npt.NDArray[np.str_] | None = None,
    slots: Sequence[int] | None = None,
    contested: Sequence[int] | None = None,
) -> pd.DataFrame:
    """An outcomes table as the credit step writes it: outcome from credits, clicked when any."""
    a = np.asarray(credit_a, dtype=np.float64)
    b = np.asarray(credit_b, dtype=np.float64)
    n = a.size
    return pd.DataFrame(
        {
            "ranking_id": np.char.add("r", np.arange(n).astype(str)),
            "user_id": pd.Series(list(users), dtype=object),
            "ts": START + pd.to_timedelta(np.arange(n), unit="min"),
            "credit_a": a,
            "credit_b": b,
            "outcome": np.where(a > b, "A", np.where(a < b, "B", "tie")),
            "clicked": (a != 0) | (b != 0),
            "first_team": list(first_team)
            if first_team is not None
            else ["A", "B"] * (n // 2) + ["A"] * (n % 2),
            "slots": list(slots) if slots is not None else [10] * n,
            "contested_slots": list(contested) if contested is not None else [5] * n,
        }
    )


def simulated_outcomes(
    rng: np.random.Generator,
    *,
    users: int,
    mean_impressions: float,
    p_a: npt.NDArray[np.float64] | float,
    p_b: npt.NDArray[np.float64] | float,
) -> pd.DataFrame:
    """Users with 1 + Poisson impressions each; impression outcome A, B or tie with per-user odds.

    ``p_a``/``p_b`` are per-user probabilities (arrays of length ``users``) or shared scalars; an
    impression that is neither A nor B is a clicked tie with credit 1 on both sides.
    """
    per_user = 1 + rng.poisson(mean_impressions - 1, size=users)
    user = np.repeat(np.arange(users), per_user)
    pa = np.broadcast_to(np.asarray(p_a, dtype=np.float64), (users,))[user]
    pb = np.broadcast_to(np.asarray(p_b, dtype=np.float64), (users,))[user]
    u = rng.random(user.size)
    won_a = u < pa
    won_b = (u >= pa) & (u < pa + pb)
    credit_a = np.where(won_b, 0.0, 1.0)
    credit_b = np.where(won_a, 0.0, 1.0)
    ids = np.char.add("u", np.arange(users).astype(str)).astype(object)
    # user_index is not part of the outcomes contract; the statistics ignore extra columns.
    return outcomes_frame(ids[user], credit_a, credit_b).assign(user_index=user)

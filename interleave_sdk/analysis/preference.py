"""The preference of N >= 2 arms, pair by pair: every pair gets the two-arm verdict, one family.

The outcomes table holds one row per impression and pair of the arms it showed (``arm_a`` <
``arm_b``). Each pair's rows are a two-arm outcomes table, so each pair gets exactly the two-arm
statistics of ``stats`` (wins, ΔAB and its bootstrap, sign test, t-test, sequential test), and two
arms are simply the one-pair case: nothing here knows arm names. Across the pairs, Holm's
step-down correction controls the family-wise error rate of the sign tests (fixed horizon) and of
the always-valid p-values (sequential: each is the smallest p-value so far, so Holm's guarantee
holds at every look at once). The best arm is the one that beats every other arm after the
correction; it stays ``None`` until one does.

The report renders a :class:`Preference`; the simulator feeds simulated per-impression credits to
:func:`preference_from_credits`, which counts wins by the same rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import OutcomesError
from .sequential import SequentialVerdict
from .stats import UNITS, Verdict, sign_test

Floats = npt.NDArray[np.float64]

#: Summed credits closer than this are a tie.
_ATOL = 1e-9


@dataclass(frozen=True)
class PairResult:
    """Row arm against column arm: units won, lost and tied, and the p-values of the pair.

    ``p_value``/``p_holm``: the sign test, alone and Holm-corrected over the pairs (fixed
    horizon). ``sequential_p``/``sequential_p_holm``: the always-valid p-value, alone and
    Holm-corrected over the pairs (valid at any look).
    """

    wins: int
    losses: int
    ties: int
    p_value: float
    p_holm: float
    sequential_p: float = 1.0
    sequential_p_holm: float = 1.0

    def as_dict(self) -> dict[str, int | float]:
        return {
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "p_value": self.p_value,
            "p_holm": self.p_holm,
            "sequential_p": self.sequential_p,
            "sequential_p_holm": self.sequential_p_holm,
        }

    def flipped(self) -> PairResult:
        return replace(self, wins=self.losses, losses=self.wins)


@dataclass(frozen=True)
class Preference:
    """The preference matrix of N arms; ``matrix[i][j]`` is arm i against arm j (i != j).

    ``best_arm`` (fixed horizon) and ``sequential_best_arm`` (anytime-valid) name the arm that
    beats every other arm after Holm's correction, or ``None``.
    """

    arms: tuple[str, ...]
    matrix: Mapping[str, Mapping[str, PairResult]]
    best_arm: str | None
    unit: str
    alpha: float
    impressions: int  # clicked impressions that compared at least one pair
    sequential_best_arm: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """``preference_matrix`` (row -> column -> counts and p-values) and ``best_arm``."""
        return {
            "preference_matrix": {
                row: {col: pair.as_dict() for col, pair in cols.items()}
                for row, cols in self.matrix.items()
            },
            "best_arm": self.best_arm,
        }

    def ranking(self) -> list[str]:
        """Arms ordered by how many others they beat (more wins than losses), then by net wins."""

        def key(arm: str) -> tuple[int, int]:
            pairs = self.matrix[arm].values()
            beaten = sum(1 for p in pairs if p.wins > p.losses)
            return (-beaten, -sum(p.wins - p.losses for p in pairs))

        return sorted(self.arms, key=key)


def holm(p_values: npt.ArrayLike) -> Floats:
    """Holm's step-down adjusted p-values along the last axis (one family per row), in place order.

    Sorted ascending, the i-th smallest (0-based) is multiplied by ``m - i``, capped at 1, and
    made monotone by a running maximum, so rejecting where ``p_holm < alpha`` controls the
    family-wise error rate at ``alpha`` without assuming independence between pairs. Rows are
    handled at once so the simulator's power curves use this very function.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    running = np.maximum.accumulate(np.minimum(1.0, ranked * (m - np.arange(m))), axis=-1)
    out = np.empty_like(running)
    np.put_along_axis(out, order, running, axis=-1)
    return out


def _best(names: Sequence[str], beats: Mapping[tuple[str, str], bool]) -> str | None:
    """The arm that beats every other arm, if one does (at most one can)."""
    for arm in names:
        if len(names) > 1 and all(beats[(arm, other)] for other in names if other != arm):
            return arm
    return None


def build(
    arms: Sequence[str],
    pairs: Mapping[tuple[str, str], tuple[Verdict, SequentialVerdict]],
    *,
    unit: str,
    alpha: float,
    impressions: int,
) -> Preference:
    """The matrix from every pair's two-arm verdicts (pair (a, b): a in A's role, b in B's).

    ``verdict.winner`` and ``sequential.decision`` name roles (``A``/``B``) here, as ``stats``
    returns them.
    """
    names = tuple(arms)
    keys = list(pairs)
    fixed = holm([pairs[k][0].p_value for k in keys]).tolist() if keys else []
    always = holm([pairs[k][1].p_value for k in keys]).tolist() if keys else []
    matrix: dict[str, dict[str, PairResult]] = {name: {} for name in names}
    beats: dict[tuple[str, str], bool] = dict.fromkeys(itertools.permutations(names, 2), False)
    beats_now: dict[tuple[str, str], bool] = dict(beats)
    for (a, b), p_holm, s_holm in zip(keys, fixed, always, strict=True):
        verdict, sequential = pairs[(a, b)]
        result = PairResult(
            verdict.wins_a, verdict.wins_b, verdict.ties, verdict.p_value, p_holm,
            sequential.p_value, s_holm,
        )
        matrix[a][b], matrix[b][a] = result, result.flipped()
        if p_holm < alpha and verdict.wins_a != verdict.wins_b:
            beats[(a, b) if verdict.wins_a > verdict.wins_b else (b, a)] = True
        # A crossing at the corrected level implies one at α, where the test named its side.
        if s_holm < alpha and sequential.decision in ("A", "B"):
            beats_now[(a, b) if sequential.decision == "A" else (b, a)] = True
    ordered = {row: {col: matrix[row][col] for col in names if col != row} for row in names}
    return Preference(
        names, ordered, _best(names, beats), unit, alpha, impressions, _best(names, beats_now)
    )


def preference_from_credits(
    arms: Sequence[str],
    credits: npt.ArrayLike,
    clicked: npt.ArrayLike,
    cluster: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    unit: str = "user",
) -> Preference:
    """The fixed-horizon matrix from per-impression credits (the simulator's entry point).

    ``credits`` is ``(impressions, arms)``, NaN where the impression did not show that arm;
    ``clicked`` flags impressions with counted feedback; ``cluster`` numbers the unit of each
    impression (users, or ``arange`` for impressions). A unit prefers the arm of the pair with
    more summed credit over its clicked impressions that showed both, as in ``stats``.
    """
    if unit not in UNITS:
        raise OutcomesError(f"unknown unit {unit!r}; valid units: {', '.join(UNITS)}")
    if not 0.0 < alpha < 1.0:
        raise OutcomesError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    names = tuple(arms)
    c = np.asarray(credits, dtype=np.float64).reshape(-1, len(names))
    hit = np.asarray(clicked, dtype=bool)
    units = np.asarray(cluster, dtype=np.int64)
    n_units = int(units.max()) + 1 if units.size else 0
    counts: dict[tuple[int, int], tuple[int, int, int]] = {}
    compared = np.zeros(len(c), dtype=bool)
    for i, j in itertools.combinations(range(len(names)), 2):
        both = hit & ~np.isnan(c[:, i]) & ~np.isnan(c[:, j])
        compared |= both
        diff = np.bincount(units[both], weights=c[both, i] - c[both, j], minlength=n_units)
        seen = np.bincount(units[both], minlength=n_units) > 0
        d = diff[seen]
        wins, losses = int((d > _ATOL).sum()), int((d < -_ATOL).sum())
        counts[(i, j)] = (wins, losses, int(d.size) - wins - losses)
    pairs = list(counts)
    p_values = [sign_test(counts[p][0], counts[p][1]) for p in pairs]
    adjusted = holm(p_values).tolist() if p_values else []
    matrix: dict[str, dict[str, PairResult]] = {name: {} for name in names}
    beats: dict[tuple[str, str], bool] = dict.fromkeys(itertools.permutations(names, 2), False)
    for (i, j), p, q in zip(pairs, p_values, adjusted, strict=True):
        wins, losses, ties = counts[(i, j)]
        result = PairResult(wins, losses, ties, p, q)
        matrix[names[i]][names[j]] = result
        matrix[names[j]][names[i]] = result.flipped()
        if q < alpha and wins != losses:
            beats[(names[i], names[j]) if wins > losses else (names[j], names[i])] = True
    ordered = {row: {col: matrix[row][col] for col in names if col != row} for row in names}
    return Preference(names, ordered, _best(names, beats), unit, alpha, int(compared.sum()))


# --------------------------------------------------------------------------------------------
# From the outcomes table to every pair's verdict


@dataclass(frozen=True)
class PairAnalysis:
    """One pair's two-arm statistics, with arm names where ``stats`` speaks of roles A and B."""

    arms: tuple[str, str]
    verdict: Verdict
    sequential: SequentialVerdict
    series: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        return {
            "arm_a": self.arms[0],
            "arm_b": self.arms[1],
            **self.verdict.as_dict(),
            "sequential": self.sequential.as_dict(),
        }


def split_pairs(outcomes: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """The outcomes table's rows per pair (``arm_a``, ``arm_b``), pairs in name order.

    A table without arm columns (outcomes built elsewhere, contract 3 before N arms) is the one
    pair ``("A", "B")``.
    """
    if "arm_a" not in outcomes.columns or "arm_b" not in outcomes.columns:
        return {("A", "B"): outcomes}
    if len(outcomes) == 0:
        return {}
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    for (a, b), frame in outcomes.groupby(["arm_a", "arm_b"], sort=True):
        frames[(str(a), str(b))] = frame.reset_index(drop=True)
    return frames


def _named(pair: tuple[str, str], role: str) -> str:
    return {"A": pair[0], "B": pair[1]}.get(role, role)


def analyse_pairs(
    outcomes: pd.DataFrame,
    *,
    unit: str,
    n_boot: int,
    seed: int,
    alpha: float,
    series_points: int,
    closed_by: pd.Timestamp | None = None,
) -> tuple[dict[tuple[str, str], PairAnalysis], Preference]:
    """Every pair's verdict, sequential verdict and series, and the matrix of them all.

    ``closed_by``: the sequential test scores only impressions shown at or before it (see
    ``stats.compute_sequential``; None: all)."""
    from .stats import compute_sequential, compute_verdict, cumulative_series

    frames = split_pairs(outcomes) or {("A", "B"): outcomes.iloc[:0]}
    arms = tuple(sorted({arm for pair in frames for arm in pair}))
    roles: dict[tuple[str, str], tuple[Verdict, SequentialVerdict]] = {}
    pairs: dict[tuple[str, str], PairAnalysis] = {}
    for pair, frame in frames.items():
        verdict = compute_verdict(frame, unit=unit, n_boot=n_boot, seed=seed, alpha=alpha)
        sequential = compute_sequential(frame, unit=unit, alpha=alpha, closed_by=closed_by)
        series = cumulative_series(
            frame if series_points else frame.iloc[:0],
            points=max(series_points, 1),
            unit=unit,
            n_boot=n_boot,
            seed=seed,
            alpha=alpha,
            closed_by=closed_by,
        )
        if len(series):
            series["decision"] = series["decision"].map({"A": pair[0], "B": pair[1]}).fillna(
                series["decision"]
            )
        roles[pair] = (verdict, sequential)
        pairs[pair] = PairAnalysis(
            pair,
            replace(verdict, winner=_named(pair, verdict.winner)),
            replace(sequential, decision=_named(pair, sequential.decision)),
            series,
        )
    clicked = outcomes.loc[outcomes["clicked"].astype(bool), "ranking_id"] if len(outcomes) else None
    impressions = int(clicked.nunique()) if clicked is not None and "ranking_id" in outcomes else 0
    preference = build(arms, roles, unit=unit, alpha=alpha, impressions=impressions)
    return pairs, preference


def headline(
    pairs: Mapping[tuple[str, str], PairAnalysis], preference: Preference
) -> PairAnalysis:
    """What the summary leads with: the one pair of two arms; for more, the N-arm answer.

    With three or more arms it is the pair of the two leading arms (the best arm, when there is
    one, against the runner-up), its ``winner`` replaced by ``best_arm`` (or ``none``) and its
    sequential decision by the anytime-valid best arm (or ``continue``), so that no field of the
    summary can name another winner than the matrix does.
    """
    if len(pairs) == 1:
        return next(iter(pairs.values()))
    lead, runner = preference.ranking()[:2]
    top = pairs[(lead, runner) if lead < runner else (runner, lead)]
    others = [preference.matrix[lead][arm] for arm in preference.arms if arm != lead]
    sequential = replace(
        top.sequential,
        decision=preference.sequential_best_arm or "continue",
        p_value=max(pair.sequential_p_holm for pair in others),
        ci_low=None,
        ci_high=None,
        stopped_at=None,
        stopped_at_impressions=None,
        units=max(pair.sequential.units for pair in pairs.values()),
    )
    verdict = replace(top.verdict, winner=preference.best_arm or "none")
    return PairAnalysis(top.arms, verdict, sequential, top.series)

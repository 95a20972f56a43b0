"""The fast in-process path: interleave id lists and simulate clicks without the decorator or logs.

A pool of request slates (each arm's top-k list and the user's grades) is ranked once; every
impression then draws a fresh Team Draft interleaving through the public ``interleave`` API and
fresh clicks from the click model, vectorised. Power curves resample these per-impression
outcomes; a test checks this path agrees with the real decorated handler on the same scenario.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..interleaving.api import interleave
from .click_models import ClickModel
from .outcomes import Codes, Impressions, common_prefix
from .simulator import Scenario, traffic

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SlatePool:
    """Ranked lists of both arms for a sample of requests, with the hidden grades of their items."""

    users: tuple[str, ...]
    lists: dict[str, tuple[tuple[str, ...], ...]]  # arm -> one id list per request
    grades: tuple[dict[str, int], ...]  # per request: item id -> grade, for both arms' items

    def __len__(self) -> int:
        return len(self.users)

    def arm_grades(self, arm: str) -> Ints:
        """``(n, k)`` grades of arm ``arm``'s lists, as an A/B impression would show them."""
        return np.array([[g[i] for i in ids] for ids, g in zip(self.lists[arm], self.grades, strict=True)])


def build_pool(scenario: Scenario, n: int, seed: int) -> SlatePool:
    """Rank ``n`` seeded requests with both arms (the expensive step, done once)."""
    requests = traffic(scenario.user_ids(), n, seed)
    lists: dict[str, list[tuple[str, ...]]] = {"A": [], "B": []}
    grades: list[dict[str, int]] = []
    for req in requests:
        context = {"session": req.session}
        a = tuple(scenario.ranked_ids("A", req.user_id, context))
        b = tuple(scenario.ranked_ids("B", req.user_id, context))
        union = list(dict.fromkeys(a + b))
        grades.append(dict(zip(union, scenario.grades(req.user_id, union), strict=True)))
        lists["A"].append(a)
        lists["B"].append(b)
    return SlatePool(
        users=tuple(r.user_id for r in requests),
        lists={arm: tuple(v) for arm, v in lists.items()},
        grades=tuple(grades),
    )


@dataclass(frozen=True)
class InterleavedDraws:
    """Per impression: which pool entry it showed, its interleaved slots and their grades."""

    slate: Ints  # which pool entry each impression showed
    impressions: Impressions  # teams (n, k) and common prefix lengths (n,)
    grades: Ints  # (n, k)

    def codes(self, model: ClickModel, rng: np.random.Generator, credit: str) -> Codes:
        """Outcome codes (+1 A, -1 B, 0 tie) with fresh clicks from ``model``."""
        clicks = model.click_matrix(self.grades, rng)
        return self.impressions.codes(clicks, credit)


def draw_interleavings(pool: SlatePool, n: int, seed: int, method: str = "team_draft_v1") -> InterleavedDraws:
    """``n`` impressions: a pool entry at random, a fresh interleaving drawn by the real API."""
    rng = np.random.default_rng([seed, 7])
    slates = rng.integers(len(pool), size=n)
    seeds = rng.integers(2**53, size=n)
    k = max(len(ids) for ids in pool.lists["A"])
    teams = np.zeros((n, k), dtype=np.int64)
    grades = np.zeros((n, k), dtype=np.int64)
    contest = np.zeros(n, dtype=np.int64)
    prefix = np.array([common_prefix(a, b) for a, b in zip(pool.lists["A"], pool.lists["B"], strict=True)])
    for row, (s, draw_seed) in enumerate(zip(slates, seeds, strict=True)):
        a, b = pool.lists["A"][s], pool.lists["B"][s]
        result = interleave(method, {"A": a, "B": b}, len(a), random.Random(int(draw_seed)))
        width = len(result.items)
        contest[row] = result.contest
        teams[row, :width] = [1 if t == "A" else -1 for t in result.teams]
        grades[row, :width] = [pool.grades[s][str(i)] for i in result.items]
    impressions = Impressions(teams, np.minimum(prefix[slates], (teams != 0).sum(axis=1)), contest)
    return InterleavedDraws(slates.astype(np.int64), impressions, grades)


@dataclass(frozen=True)
class Experiments:
    """Many simulated experiments as ``(experiments, impressions)`` arrays, in time order."""

    users: Ints  # dense user ids (0..U-1) of each impression
    credit: Ints  # interleaving: credit A − B of each impression (0 without credited clicks)


def resample_experiments(
    pool: SlatePool,
    draws: InterleavedDraws,
    model: ClickModel,
    *,
    experiments: int,
    impressions: int,
    credit: str,
    rng: np.random.Generator,
) -> Experiments:
    """``experiments`` runs of ``impressions`` each: drawn impressions at random, fresh clicks.

    Each impression keeps its user (the pool entry's), so a user's impressions within a run are
    correlated exactly as the scenario makes them; clicks are drawn afresh for every copy.
    """
    pick = rng.integers(len(draws.slate), size=(experiments, impressions))
    _, dense = np.unique(np.asarray(pool.users, dtype=object).astype(str), return_inverse=True)
    users = dense.astype(np.int64)[draws.slate[pick]]
    flat = pick.ravel()
    shown = draws.impressions
    chosen = Impressions(shown.teams[flat], shown.prefix_len[flat], shown.contests()[flat])
    clicks = model.click_matrix(draws.grades[flat], rng)
    diff = chosen.credit(clicks, credit).reshape(experiments, impressions)
    return Experiments(users=users, credit=diff)


@dataclass(frozen=True)
class ABExperiments:
    """Many simulated A/B experiments: each impression's arm and metrics, in time order."""

    is_b: npt.NDArray[np.bool_]  # (experiments, impressions)
    clicks: npt.NDArray[np.float64]  # clicks per impression
    rr: npt.NDArray[np.float64]  # reciprocal rank of the first click, 0 without a click


def resample_ab(
    pool: SlatePool,
    model: ClickModel,
    *,
    experiments: int,
    impressions: int,
    rng: np.random.Generator,
) -> ABExperiments:
    """A/B runs: each impression a random pool request shown by a random arm, fresh clicks."""
    grades = {arm: pool.arm_grades(arm) for arm in ("A", "B")}
    pick = rng.integers(len(pool), size=(experiments, impressions))
    is_b = rng.integers(2, size=(experiments, impressions)).astype(bool)
    shown = np.where(is_b.ravel()[:, None], grades["B"][pick.ravel()], grades["A"][pick.ravel()])
    clicks = model.click_matrix(shown, rng)
    first = np.where(clicks.any(axis=1), clicks.argmax(axis=1) + 1, 0)
    rr = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    return ABExperiments(
        is_b=is_b,
        clicks=clicks.sum(axis=1).astype(np.float64).reshape(experiments, impressions),
        rr=rr.reshape(experiments, impressions),
    )


def ab_metrics(
    pool: SlatePool, model: ClickModel, rng: np.random.Generator, repeats: int = 1
) -> dict[str, dict[str, npt.NDArray[np.float64]]]:
    """Per-impression clicks and reciprocal rank of the first click, for each arm shown alone."""
    out: dict[str, dict[str, npt.NDArray[np.float64]]] = {}
    for arm in ("A", "B"):
        grades = np.tile(pool.arm_grades(arm), (repeats, 1))
        clicks = model.click_matrix(grades, rng)
        first = np.where(clicks.any(axis=1), clicks.argmax(axis=1) + 1, 0)
        rr = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
        out[arm] = {"clicks": clicks.sum(axis=1).astype(np.float64), "rr": rr}
    return out

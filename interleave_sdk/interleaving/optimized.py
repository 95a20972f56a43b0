"""Optimized interleaving (Radlinski & Craswell, WSDM 2013) for two arms, never failing a request.

The method chooses a *distribution* over merged lists rather than a drafting rule:

* **Allowed lists.** Every prefix of a served list is the union of a prefix of A and a prefix of B.
  Equivalently, the list is built by repeatedly placing the top not-yet-placed item of A or of B.
  Each such list is named by its *choices*, one character per position: ``a`` (A's top unplaced
  item), ``b`` (B's), or ``=`` (both tops were the same item, so there was no choice). A list of
  length ``n`` only ever uses the top ``n`` items of each arm, so only those are read.
* **Credit.** A click on item ``d`` gives A the credit ``delta(d)`` (B gets ``-delta(d)``). With
  ``rank_X(d)`` the 1-based rank of ``d`` in arm X's top list (the first ``min(k, len(X))`` items)
  and ``len(top_X) + 1`` when ``d`` is not in it:

  - ``linear`` (``optimized_v1``): ``delta(d) = rank_B(d) - rank_A(d)``;
  - ``inverse`` (``optimized_inverse_v1``): ``delta(d) = 1/rank_A(d) - 1/rank_B(d)``.

  Positive credit favours A. The analysis recomputes it from each logged item's per-arm ``ranks``.
* **Unbiasedness.** A user who clicks without looking at the items (any click probability that
  depends on the position only) must give each arm zero expected credit at every cut-off ``j``:
  ``sum_L p_L * sum_{i<=j} delta(L_i) = 0`` for ``j = 1..n``, which is the same as
  ``sum_L p_L * delta(L_j) = 0`` for every position ``j``.
* **Sensitivity.** Among unbiased distributions take one maximising ``sum_L p_L * s(L)`` with
  position weights ``w_i = (1/i) / sum_{j<=n} 1/j`` (clicks are likelier near the top),
  ``W_A = sum of w_i where delta(L_i) > 0``, ``W_B`` likewise for ``< 0``, and
  ``s(L) = (W_A + W_B) * H(W_A / (W_A + W_B))`` with ``H`` the binary entropy in bits (``s = 0``
  when ``W_A + W_B = 0``): a list is sensitive when likely clicks separate the arms, on both sides.

The linear program (one variable per allowed list, ``n + 1`` equalities) is solved with SciPy's
HiGHS, imported only when first needed (``pip install 'interleave-sdk[optimized]'``). It depends
only on the overlap pattern of the two top lists, never on the ids, so solved distributions are
kept in a bounded LRU cache keyed by that pattern.

Never failing: anything that stops a distribution from being found (not two arms, duplicate ids,
too many allowed lists, the time budget spent or expected to be, an infeasible or inexact LP, a
solver error, SciPy missing or still loading) serves Team Draft for this request instead, drawn
with the same untouched generator, with ``method="team_draft_v1"`` and
``detail={"fallback": <reason>, ...}``. A stream that raises while its top items are read is the
arm's failure and propagates, as it does for Team Draft.

Cold patterns are solved in the background: a pattern whose solve is not expected to fit in the
request's time budget serves Team Draft now (``time_budget``) and is handed to one daemon thread
(:class:`BackgroundSolver`, bounded queue, deduplicated) that solves and caches it, so the next
request with that pattern is optimized. ``background=False`` keeps solving inline only.

Loading SciPy takes about half a second, far past any request's budget, so a request never waits
for it: the first one that needs the solver starts the import in a background thread and serves
Team Draft (``solver_loading``). Call :func:`warm_up` at start-up (e.g. a Lambda's init phase) to
load it before traffic arrives.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections.abc import Hashable, Mapping
from typing import Any, Literal, get_args

from ..clock import SYSTEM_CLOCK, Clock
from .api import Interleaving, Ranking, Rankings, register, register_rebuild
from .optimized_lp import (
    Distribution,
    Fallback,
    Pattern,
    _solve,
    count_lists,
    credits_of,
)
from .solver_runtime import (
    _LOADER,
    SHARED_BACKGROUND_SOLVER,
    SHARED_SOLVER_COST,
    BackgroundSolver,
    PatternCache,
    SolverCost,
    _SolverLoader,
    warm_up,
)
from .team_draft import team_draft

__all__ = [
    "CREDITS", "BackgroundSolver", "Credit", "Distribution", "Fallback", "OptimizedInterleaver",
    "Pattern", "PatternCache", "SolverCost", "_SolverLoader", "count_lists", "credits_of",
    "optimized_inverse", "optimized_linear", "warm_up",
]  # fmt: skip

Credit = Literal["linear", "inverse"]
CREDITS: tuple[Credit, ...] = get_args(Credit)


class OptimizedInterleaver:
    """Optimized interleaving as a registered method: ``(rankings, k, rng) -> Interleaving``.

    ``credit``: ``"linear"`` or ``"inverse"`` (see the module docstring). ``time_budget_ms``: the
    most a cold pattern may add to a request (enumerating the allowed lists plus HiGHS, whose own
    ``time_limit`` is set to what is left); past it this request serves Team Draft and the pattern
    is tried again next time. ``max_candidates``: the most allowed lists enumerated (two disjoint
    top-10 lists have 1,024; top-12, 4,096). ``cache_size``: solved patterns kept. ``clock``:
    the package :class:`~interleave_sdk.clock.Clock` whose ``monotonic()`` times the budget.
    ``solver_cost``: the learnt cost of a HiGHS call that gates starting one (shared by the
    registered methods; see :class:`SolverCost`).
    ``background``: ``True`` (the default) hands a pattern whose solve does not fit the budget to
    the process's :class:`BackgroundSolver` (``detail["background"]`` says what became of it), a
    :class:`BackgroundSolver` of your own uses that one, ``False`` solves only inline (a skipped
    pattern is then solved only by an occasional probe request).
    """

    def __init__(
        self,
        name: str,
        credit: Credit = "linear",
        *,
        time_budget_ms: float = 5.0,
        max_candidates: int = 4096,
        cache_size: int = 1024,
        clock: Clock = SYSTEM_CLOCK,
        solver_cost: SolverCost | None = None,
        background: bool | BackgroundSolver = True,
    ) -> None:
        if credit not in CREDITS:
            raise ValueError(f"credit must be one of {', '.join(CREDITS)}; got {credit!r}")
        if time_budget_ms < 0:
            raise ValueError(f"time_budget_ms must be >= 0, got {time_budget_ms}")
        if max_candidates < 1:
            raise ValueError(f"max_candidates must be >= 1, got {max_candidates}")
        self.name = name
        self.credit: Credit = credit
        self.time_budget_ms = time_budget_ms
        self.max_candidates = max_candidates
        self.cache = PatternCache(cache_size)
        self.clock = clock
        self.solver_cost = SHARED_SOLVER_COST if solver_cost is None else solver_cost
        if isinstance(background, BackgroundSolver):
            self.background: BackgroundSolver | None = background
        elif background is True:
            self.background = SHARED_BACKGROUND_SOLVER
        elif background is False:
            self.background = None
        else:
            raise ValueError(f"background must be True, False or a BackgroundSolver; got {background!r}")

    def __call__(self, rankings: Rankings, k: int, rng: random.Random) -> Interleaving:
        names = list(rankings)
        if len(names) != 2:
            return self._fallback(rankings, k, rng, Fallback("not_two_arms", arms=len(names)))
        name_a, name_b = names
        # Reading the tops is the arms' business: a stream that raises here is a bad arm, not a
        # reason to fall back, so this stays outside the guarded part.
        top_a, top_b = _head(rankings[name_a], k), _head(rankings[name_b], k)
        try:
            pattern = self._pattern(top_a, top_b, k)
            _check_contest(top_a, top_b, pattern[1])
            distribution, cached = self._distribution(pattern)
        except Fallback as why:
            return self._fallback(rankings, k, rng, why)
        except Exception as exc:  # the solver stack must never fail a request
            error = Fallback("solver_error", error=f"{type(exc).__name__}: {exc}"[:200])
            return self._fallback(rankings, k, rng, error)
        index = distribution.pick(rng.random())
        choices = distribution.choices[index]
        items, teams = _build(name_a, top_a, name_b, top_b, choices)
        detail = {
            "credit": self.credit,
            "choices": choices,
            # absent items are credited at rank len(top) + 1: the analysis needs these lengths
            "top_lengths": {name_a: len(top_a), name_b: len(top_b)},
            "candidates": distribution.candidates,
            "support": len(distribution.choices),
            "cache": "hit" if cached else "miss",
        }
        return Interleaving(tuple(items), tuple(teams), self.name, detail)

    def register(self) -> OptimizedInterleaver:
        """Register this instance under its name, with its rebuild for replay; returns it."""
        register(self.name)(self)
        register_rebuild(self.name)(self.rebuild)
        return self

    def rebuild(self, rankings: Rankings, k: int, detail: Mapping[str, Any]) -> Interleaving:
        """The logged list again, from the arms' top lists and ``detail["choices"]`` alone."""
        names = list(rankings)
        if len(names) != 2:
            raise ValueError(f"an optimized list has two arms, the record has {len(names)}")
        choices = detail.get("choices")
        if not isinstance(choices, str) or len(choices) > k:
            raise ValueError(f"detail lacks valid choices: {choices!r}")
        name_a, name_b = names
        top_a, top_b = _head(rankings[name_a], k), _head(rankings[name_b], k)
        items, teams = _build(name_a, top_a, name_b, top_b, choices)
        return Interleaving(tuple(items), tuple(teams), self.name, dict(detail))

    def solve(self, top_a: list[Hashable], top_b: list[Hashable], k: int) -> Distribution:
        """The distribution for two top lists (cached by pattern); raises :class:`Fallback`."""
        return self._distribution(self._pattern(top_a, top_b, k))[0]

    # -- the steps ---------------------------------------------------------------------------

    def _fallback(
        self, rankings: Rankings, k: int, rng: random.Random, why: Fallback
    ) -> Interleaving:
        served = team_draft(rankings, k, rng)
        detail = {"fallback": why.reason, "requested": self.name, **why.facts}
        return dataclasses.replace(served, detail=detail)

    def _pattern(self, top_a: list[Hashable], top_b: list[Hashable], k: int) -> Pattern:
        position_a = {item: i for i, item in enumerate(top_a)}
        if len(position_a) != len(top_a) or len(set(top_b)) != len(top_b):
            raise Fallback("duplicate_ids")
        b_in_a = tuple(position_a.get(item, -1) for item in top_b)
        n = min(k, len(top_a) + b_in_a.count(-1))  # the union's size, capped at k
        return (self.credit, n, len(top_a), b_in_a)

    def _distribution(self, pattern: Pattern) -> tuple[Distribution, bool]:
        entry = self.cache.get(pattern)
        if isinstance(entry, Distribution):
            return entry, True
        if entry is not None:  # a pattern already proven infeasible: no need to solve again
            raise Fallback(entry, cached=True)
        _LOADER.check()
        deadline = self.clock.monotonic() + self.time_budget_ms / 1e3
        background = self.background
        try:
            distribution = self._solve_and_cache(pattern, deadline, probe=background is None)
        except Fallback as why:
            if why.reason == "time_budget" and background is not None:
                # This request keeps its budget; the pattern is solved off the request path.
                job = functools.partial(self._solve_in_background, pattern, background.time_limit_s)
                why.facts["background"] = background.submit((id(self), pattern), job)
            raise
        return distribution, False

    def _solve_and_cache(self, pattern: Pattern, deadline: float, *, probe: bool) -> Distribution:
        try:
            distribution = _solve(
                pattern, self.max_candidates, deadline, self.clock.monotonic, self.solver_cost, probe=probe
            )
        except Fallback as why:
            if why.reason in ("infeasible", "inexact_solution", "too_many_candidates"):
                self.cache.put(pattern, why.reason)  # deterministic in the pattern
            raise
        self.cache.put(pattern, distribution)
        return distribution

    def _solve_in_background(self, pattern: Pattern, time_limit_s: float) -> None:
        if pattern in self.cache:  # solved (or proven infeasible) since it was queued
            return
        self._solve_and_cache(pattern, self.clock.monotonic() + time_limit_s, probe=False)


def _check_contest(top_a: list[Hashable], top_b: list[Hashable], n: int) -> None:
    """Refuse a pair in which an arm runs out before the list is full (``short_arm``).

    Every allowed list then ends with slots only the longer arm can fill, and the rank credit
    counts a click there as preference for it (an item-blind user made the long arm win). Team
    Draft, the fallback, records where its contest ended and the analysis credits only that part
    (docs/concepts.md, "Short arms").
    """
    if min(len(top_a), len(top_b)) < n:
        raise Fallback("short_arm", lengths=[len(top_a), len(top_b)], slots=n)


def _head(ranking: Ranking, k: int) -> list[Hashable]:
    """The first ``k`` items (fewer when the ranking ends), read by increasing index only."""
    top: list[Hashable] = []
    try:
        for i in range(k):
            top.append(ranking[i])
    except IndexError:
        pass
    return top


def _build(
    name_a: str, top_a: list[Hashable], name_b: str, top_b: list[Hashable], choices: str
) -> tuple[list[Hashable], list[str]]:
    """Replay ``choices`` on two top lists; the team of an item is the arm it was taken from
    (for ``=``, the arm ranking it higher, A on a tie). Raises ``ValueError`` if they disagree."""
    placed: set[Hashable] = set()
    items: list[Hashable] = []
    teams: list[str] = []
    pa = pb = 0
    for choice in choices:
        while pa < len(top_a) and top_a[pa] in placed:
            pa += 1
        while pb < len(top_b) and top_b[pb] in placed:
            pb += 1
        has_a, has_b = pa < len(top_a), pb < len(top_b)
        same = has_a and has_b and top_a[pa] == top_b[pb]
        if choice == "=" and same:
            item, team = top_a[pa], name_a if pa <= pb else name_b
        elif choice == "a" and has_a and not same:
            item, team = top_a[pa], name_a
        elif choice == "b" and has_b and not same:
            item, team = top_b[pb], name_b
        else:
            raise ValueError(f"choices {choices!r} do not fit these lists at position {len(items)}")
        placed.add(item)
        items.append(item)
        teams.append(team)
    return items, teams


optimized_linear = OptimizedInterleaver("optimized_v1", "linear").register()
optimized_inverse = OptimizedInterleaver("optimized_inverse_v1", "inverse").register()

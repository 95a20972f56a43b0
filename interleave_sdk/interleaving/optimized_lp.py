"""The optimized-interleaving linear program (Radlinski & Craswell, WSDM 2013): pure, id-free.

Given the overlap *pattern* of two top lists, enumerate the allowed lists, compute each list's
credits and sensitivity, and solve for the most sensitive unbiased distribution with SciPy's
HiGHS (``pip install 'interleave-sdk[optimized]'``, imported only here and only when solving).
Anything that stops a distribution from being found raises :class:`Fallback` with a reason from
``reasons.MethodFallback``; the method (:mod:`.optimized`) serves Team Draft then. The math is in
the method's module docstring.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..reasons import MethodFallback

INSTALL_HINT = "pip install 'interleave-sdk[optimized]'"

# A served distribution must meet every unbiasedness equality to this absolute tolerance.
UNBIASED_TOLERANCE = 1e-9

# (credit, n, len(top A), for each item of top B its index in top A or -1)
Pattern = tuple[str, int, int, tuple[int, ...]]


class Fallback(Exception):
    """Why no optimized distribution is served for this request (internal control flow)."""

    def __init__(self, reason: MethodFallback, **facts: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.facts = facts


@dataclass(frozen=True)
class Distribution:
    """A solved LP, id-free: the allowed lists with positive probability, by their choices."""

    choices: tuple[str, ...]
    cumulative: tuple[float, ...]  # running sums of the probabilities, last ~1
    candidates: int  # how many allowed lists the LP chose among
    sensitivity: float  # the objective reached

    def probabilities(self) -> tuple[float, ...]:
        """What the sampler realises for each list in ``choices`` (cumulative differences)."""
        total = self.cumulative[-1]
        previous = 0.0
        out = []
        for c in self.cumulative:
            out.append((c - previous) / total)
            previous = c
        return tuple(out)

    def pick(self, u: float) -> int:
        """Index of the list a uniform draw ``u`` in [0, 1) selects."""
        i = bisect.bisect_right(self.cumulative, u * self.cumulative[-1])
        return min(i, len(self.choices) - 1)


class CostModel(Protocol):
    """What gates starting a solve: the learnt cost of one (``solver_runtime.SolverCost``)."""

    def allows(self, left_s: float, candidates: int, *, probe: bool = True) -> bool: ...

    def estimate_s(self, candidates: int) -> float | None: ...

    def observe(self, seconds: float, candidates: int) -> None: ...


def _transitions(pattern: Pattern) -> tuple[list[list[int]], int]:
    """The pattern's prefix states and their moves: rows ``[item_a, next_a, code_a, item_b, next_b]``.

    A prefix of an allowed list is ``A[:i] ∪ B[:j]``, so a state is the pair of pointers ``(i, j)``
    moved past placed items; there are at most ``(len A + 1) * (len B + 1)`` of them, however many
    lists pass through. Items are union indices (A's top list first, then B's items not in A);
    ``-1`` marks a list with nothing left; ``code_a`` is 0 (``a``) or 2 (``=``, both tops equal,
    then there is no B move). State 0 is the empty prefix.
    """
    _, _, len_a, b_in_a = pattern
    b_idx: list[int] = []
    fresh = len_a
    for i in b_in_a:
        b_idx.append(i if i >= 0 else fresh)
        fresh += (i < 0)
    len_b = len(b_idx)
    pos_b = [len_b] * fresh  # rank in B (0-based) of every union item; len_b when absent
    for j, u in enumerate(b_idx):
        pos_b[u] = j

    def settle(i: int, j: int) -> tuple[int, int]:
        # A[i] is placed iff B[:j] holds it; B[j] is placed iff A[:i] holds it (ids are unique).
        while True:
            moved = False
            while i < len_a and pos_b[i] < j:
                i, moved = i + 1, True
            while j < len_b and b_idx[j] < i:
                j, moved = j + 1, True
            if not moved:
                return i, j

    ids: dict[tuple[int, int], int] = {settle(0, 0): 0}
    order = [settle(0, 0)]
    rows: list[list[int]] = []
    for i, j in order:  # grows while it is walked: every reachable state once
        item_a = i if i < len_a else -1
        item_b = b_idx[j] if j < len_b else -1
        row = [item_a, -1, 2 if item_a >= 0 and item_a == item_b else 0, item_b, -1]
        if item_a >= 0:
            row[1] = ids.setdefault(settle(i + 1, j), len(order))
            if row[1] == len(order):
                order.append(settle(i + 1, j))
        if item_b >= 0 and row[2] == 0:
            row[4] = ids.setdefault(settle(i, j + 1), len(order))
            if row[4] == len(order):
                order.append(settle(i, j + 1))
        rows.append(row)
    return rows, fresh


def count_lists(pattern: Pattern) -> int:
    """How many allowed lists the pattern has, counted over the prefix states (no enumeration):
    cheap enough to decide on the candidate cap and the expected solver cost before any work."""
    rows, _ = _transitions(pattern)
    paths = {0: 1}
    for _ in range(pattern[1]):
        following: dict[int, int] = {}
        for state, count in paths.items():
            for child in (rows[state][1], rows[state][4]):
                if child >= 0:
                    following[child] = following.get(child, 0) + count
        paths = following
    return sum(paths.values())


def _enumerate(
    pattern: Pattern, max_candidates: int, deadline: float, clock: Callable[[], float]
) -> tuple[Any, Any]:
    """Every allowed list of the pattern: (choice codes, union indices), two ``(lists, n)`` arrays.

    Level by level over the prefix states, with numpy, so the candidate cap and the deadline are
    checked before the work grows past them; the lists are read back through parent pointers.
    """
    import numpy as np

    n = pattern[1]
    rows, _ = _transitions(pattern)
    table = np.asarray(rows, dtype=np.intp)
    item_a, next_a, code_a, item_b, next_b = table.T
    states = np.zeros(1, dtype=np.intp)
    levels: list[tuple[Any, Any, Any]] = []
    for _ in range(n):
        if clock() > deadline:
            raise Fallback("time_budget", stage="enumeration")
        take_a = next_a[states] >= 0
        take_b = next_b[states] >= 0
        if int(take_a.sum() + take_b.sum()) > max_candidates:
            raise Fallback("too_many_candidates", limit=max_candidates)
        index = np.arange(states.size)
        parent = np.concatenate([index[take_a], index[take_b]])
        item = np.concatenate([item_a[states][take_a], item_b[states][take_b]])
        code = np.concatenate([code_a[states][take_a], np.ones(int(take_b.sum()), dtype=np.intp)])
        states = np.concatenate([next_a[states][take_a], next_b[states][take_b]])
        levels.append((parent, item, code))
    m = states.size
    items = np.empty((m, n), dtype=np.intp)
    codes = np.empty((m, n), dtype=np.intp)
    back = np.arange(m)
    for t in range(n - 1, -1, -1):
        parent, item, code = levels[t]
        items[:, t] = item[back]
        codes[:, t] = code[back]
        back = parent[back]
    return codes, items


def credits_of(pattern: Pattern) -> list[float]:
    """``delta`` of every union item (A's top first, then B's items not in A), per the credit."""
    credit, _, len_a, b_in_a = pattern
    len_b = len(b_in_a)
    size = len_a + sum(1 for i in b_in_a if i < 0)
    rank_a = [len_a + 1] * size
    rank_b = [len_b + 1] * size
    for i in range(len_a):
        rank_a[i] = i + 1
    fresh = len_a
    for j, i in enumerate(b_in_a):
        if i >= 0:
            rank_b[i] = j + 1
        else:
            rank_b[fresh] = j + 1
            fresh += 1
    if credit == "linear":
        return [float(rb - ra) for ra, rb in zip(rank_a, rank_b, strict=True)]
    return [1.0 / ra - 1.0 / rb for ra, rb in zip(rank_a, rank_b, strict=True)]


def _solve(
    pattern: Pattern,
    max_candidates: int,
    deadline: float,
    clock: Callable[[], float],
    cost: CostModel,
    *,
    probe: bool = True,
) -> Distribution:
    try:
        import numpy as np
        from scipy.optimize import linprog
        from scipy.sparse import csc_array
    except ImportError as exc:
        raise Fallback("scipy_missing", install=INSTALL_HINT) from exc

    n = pattern[1]
    if n == 0:
        return Distribution(("",), (1.0,), 1, 0.0)
    candidates = count_lists(pattern)
    if candidates > max_candidates:
        raise Fallback("too_many_candidates", limit=max_candidates, candidates=candidates)
    if not cost.allows(deadline - clock(), candidates, probe=probe):
        expected = round((cost.estimate_s(candidates) or 0.0) * 1e3, 3)
        raise Fallback("time_budget", stage="predicted", expected_ms=expected, candidates=candidates)
    began = clock()  # the learnt cost covers enumeration, model building and the solve
    codes, lists = _enumerate(pattern, max_candidates, deadline, clock)
    delta = np.asarray(credits_of(pattern))
    per_position = delta[lists]  # (lists, n): the credit at each position of each list
    weights = 1.0 / np.arange(1, n + 1)
    weights /= weights.sum()
    w_a = (per_position > 0) @ weights
    w_b = (per_position < 0) @ weights
    total = w_a + w_b
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, w_a / np.where(total > 0, total, 1.0), 0.5)
        entropy = -(
            np.where(share > 0, share * np.log2(np.where(share > 0, share, 1.0)), 0.0)
            + np.where(share < 1, (1 - share) * np.log2(np.where(share < 1, 1 - share, 1.0)), 0.0)
        )
    s = np.where(total > 0, total * entropy, 0.0)
    a_eq = np.vstack([np.ones(len(lists)), per_position.T])
    b_eq = np.zeros(n + 1)
    b_eq[0] = 1.0
    started = clock()
    left = deadline - started
    if left <= 0:
        raise Fallback("time_budget", stage="before_solver", candidates=len(lists))
    # Sparse in, presolve off: for ~1,000 columns and ~11 rows, converting and presolving cost
    # more than the simplex itself.
    result = linprog(
        -s,
        A_eq=csc_array(a_eq),
        b_eq=b_eq,
        bounds=(0, None),
        method="highs",
        options={"time_limit": left, "presolve": False},
    )
    cost.observe(clock() - began, len(lists))
    if result.status == 2:
        raise Fallback("infeasible", candidates=len(lists))
    if result.status == 1:  # HiGHS stopped at its time limit
        raise Fallback("time_budget", stage="solver", candidates=len(lists))
    if result.status != 0 or result.x is None:
        raise Fallback("solver_error", status=int(result.status), message=str(result.message))
    x = np.clip(result.x, 0.0, None)
    support = np.flatnonzero(x > 1e-12)
    # Polish: solve the equalities again on the support alone, so rounding in the simplex does not
    # leave a bias larger than the tolerance; refuse the answer if that is not possible.
    polished, *_ = np.linalg.lstsq(a_eq[:, support], b_eq, rcond=None)
    if polished.min() >= 0:
        x_s = polished
    else:
        x_s = x[support]
    residual = np.abs(a_eq[:, support] @ x_s - b_eq)
    cumulative_bias = np.abs(np.cumsum(per_position[support].T @ x_s))
    if residual.max() > UNBIASED_TOLERANCE or cumulative_bias.max() > UNBIASED_TOLERANCE:
        raise Fallback("inexact_solution", candidates=len(lists), residual=float(residual.max()))
    cumulative = tuple(float(c) for c in np.cumsum(x_s))
    return Distribution(
        tuple("".join("ab="[c] for c in codes[i]) for i in support),
        cumulative,
        len(lists),
        float(s[support] @ x_s),
    )

"""Optimized interleaving: allowed lists, unbiasedness, optimality, exact sampling, fallbacks, replay."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

from interleave_sdk import interleave
from interleave_sdk.interleaving import api
from interleave_sdk.interleaving import optimized as opt
from interleave_sdk.interleaving.lazy import LazyRanking
from interleave_sdk.interleaving.optimized import OptimizedInterleaver

from .test_team_draft import canonical_pairs, relabel

# -- an independent statement of the method, written from the definitions -----------------------


def top(ranking: Sequence[int], k: int) -> list[int]:
    return list(ranking[:k])


def allowed_lists(a: Sequence[int], b: Sequence[int], k: int) -> set[tuple[int, ...]]:
    """Lists of length min(k, |A_k ∪ B_k|) whose every prefix is a union of prefixes of A_k and B_k."""
    ta, tb = top(a, k), top(b, k)
    union = set(ta) | set(tb)
    n = min(k, len(union))
    unions = {frozenset(ta[:i]) | frozenset(tb[:j]) for i in range(len(ta) + 1) for j in range(len(tb) + 1)}
    found: set[tuple[int, ...]] = set()

    def grow(prefix: tuple[int, ...]) -> None:
        if len(prefix) == n:
            found.add(prefix)
            return
        for x in union - set(prefix):
            if frozenset(prefix) | {x} in unions:
                grow((*prefix, x))

    grow(())
    return found


def credit(item: int, a: Sequence[int], b: Sequence[int], k: int, kind: str) -> float:
    """delta(d): linear = rank_B - rank_A; inverse = 1/rank_A - 1/rank_B; absent = len(top) + 1."""
    ta, tb = top(a, k), top(b, k)
    ra = ta.index(item) + 1 if item in ta else len(ta) + 1
    rb = tb.index(item) + 1 if item in tb else len(tb) + 1
    return float(rb - ra) if kind == "linear" else 1 / ra - 1 / rb


def list_sensitivity(deltas: Sequence[float]) -> float:
    """s(L) = (W_A + W_B) * H(W_A / (W_A + W_B)) with weights 1/i normalised over the list."""
    if len(deltas) == 0:
        return 0.0
    norm = sum(1 / i for i in range(1, len(deltas) + 1))
    wa = sum(1 / (i + 1) for i, d in enumerate(deltas) if d > 0) / norm
    wb = sum(1 / (i + 1) for i, d in enumerate(deltas) if d < 0) / norm
    if wa + wb == 0:
        return 0.0
    p = wa / (wa + wb)
    return (wa + wb) * -sum(q * math.log2(q) for q in (p, 1 - p) if q > 0)


def reference_optimum(a: Sequence[int], b: Sequence[int], k: int, kind: str) -> float | None:
    """The LP's optimal sensitivity over the independently enumerated lists; None if infeasible."""
    lists = sorted(allowed_lists(a, b, k))
    deltas = np.array([[credit(x, a, b, k, kind) for x in lst] for lst in lists])
    s = np.array([list_sensitivity(row) for row in deltas])
    a_eq = np.vstack([np.ones(len(lists)), np.cumsum(deltas, axis=1).T])  # one row per cut-off
    b_eq = np.zeros(a_eq.shape[0])
    b_eq[0] = 1
    res = linprog(-s, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    return None if res.status == 2 else float(-res.fun)


class FixedRandom(random.Random):
    """``random()`` returns a given value: selects one interval of the sampler exactly."""

    def __init__(self, u: float) -> None:
        super().__init__(0)
        self.u = u

    def random(self) -> float:
        return self.u


def served_distribution(
    method: OptimizedInterleaver, a: Sequence[int], b: Sequence[int], k: int
) -> dict[tuple[int, ...], float]:
    """What the sampler realises: each list of the solved support, reached through the public call
    with a draw in the middle of its interval, with the interval's width as its probability."""
    solved = method.solve(top(a, k), top(b, k), k)
    out: dict[tuple[int, ...], float] = {}
    previous = 0.0
    for c in solved.cumulative:
        width = (c - previous) / solved.cumulative[-1]
        mid = (previous + c) / 2 / solved.cumulative[-1]
        previous = c
        drawn = method({"A": list(a), "B": list(b)}, k, FixedRandom(mid))
        assert drawn.method == method.name
        out[tuple(drawn.items)] = out.get(tuple(drawn.items), 0.0) + width  # type: ignore[arg-type]
    return out


def solve_or_reason(
    method: OptimizedInterleaver, a: Sequence[int], b: Sequence[int], k: int
) -> opt.Distribution | str:
    """The solved distribution, or the fallback reason when there is none."""
    try:
        return method.solve(list(a[:k]), list(b[:k]), k)
    except opt.Fallback as why:
        return why.reason


def small_cases() -> list[tuple[tuple[int, ...], tuple[int, ...], int]]:
    """Every pair of lists (≤ 4 items over ≤ 6 ids, up to relabelling) with every k ≤ 4, reduced to
    the distinct (top-k A, top-k B) pairs up to relabelling: the method reads only those."""
    seen: set[tuple[tuple[int, ...], tuple[int, ...], int]] = set()
    for a, b in canonical_pairs():
        for k in range(1, 5):
            ta, tb = relabel(a[:k], b[:k])
            seen.add((ta, tb, k))
    return sorted(seen)


SMALL = small_cases()


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["linear", "inverse"])
def test_small_cases_exactly_unbiased_optimal_and_sampled_as_solved(kind: str) -> None:
    """Every small pair: support ⊆ allowed lists, unbiased at every cut-off to 1e-9, optimal, and
    the sampler realises the solved probabilities."""
    method = OptimizedInterleaver(f"test_{kind}", kind, time_budget_ms=10_000)  # type: ignore[arg-type]
    served_optimized = fell_back = 0
    for a, b, k in SMALL:
        expected = reference_optimum(a, b, k, kind)
        solved = solve_or_reason(method, a, b, k)
        if isinstance(solved, str):
            assert solved == "infeasible" and expected is None, (a, b, k, solved)
            drawn = method({"A": list(a), "B": list(b)}, k, random.Random(0))
            assert drawn.method == "team_draft_v1" and drawn.detail is not None
            assert drawn.detail["fallback"] == "infeasible"
            fell_back += 1
            continue
        assert expected is not None, (a, b, k)
        dist = served_distribution(method, a, b, k)
        assert set(dist) <= allowed_lists(a, b, k), (a, b, k)
        assert abs(sum(dist.values()) - 1) < 1e-12
        assert all(p > 0 for p in dist.values())
        for j in range(1, min(k, len(set(a[:k]) | set(b[:k]))) + 1):
            bias = sum(p * sum(credit(x, a, b, k, kind) for x in lst[:j]) for lst, p in dist.items())
            assert abs(bias) <= 1e-9, (a, b, k, j, bias)
        reached = sum(
            p * list_sensitivity([credit(x, a, b, k, kind) for x in lst]) for lst, p in dist.items()
        )
        assert reached == pytest.approx(expected, abs=1e-7), (a, b, k)
        assert solved.sensitivity == pytest.approx(expected, abs=1e-7)
        served_optimized += 1
    assert served_optimized > 500
    assert len(SMALL) == served_optimized + fell_back


def test_allowed_lists_are_exactly_those_the_method_considers() -> None:
    """The number of candidate lists equals the independent enumeration, on every small case."""
    method = OptimizedInterleaver("test_count", time_budget_ms=10_000, cache_size=0)
    for a, b, k in SMALL[::7]:
        solved = solve_or_reason(method, a, b, k)
        if isinstance(solved, str):
            continue
        assert solved.candidates == len(allowed_lists(a, b, k)), (a, b, k)


def test_disjoint_top_ten_has_1024_candidates_and_is_served() -> None:
    """Two disjoint top-10 lists: 2^10 allowed lists, a distribution is found and a list served."""
    method = OptimizedInterleaver("test_big", time_budget_ms=10_000)
    a, b = list(range(10)), list(range(10, 20))
    drawn = method({"A": a, "B": b}, 10, random.Random(1))
    assert drawn.method == "test_big" and drawn.detail is not None
    assert drawn.detail["candidates"] == 1024
    assert len(drawn.items) == 10 and len(set(drawn.items)) == 10


def random_pair(rng: random.Random, k: int) -> tuple[list[int], list[int]]:
    """Two different top-k lists sharing some items."""
    a = rng.sample(range(3 * k), k)
    b = rng.sample(a[: k // 2], k // 3) + rng.sample(range(3 * k, 5 * k), k - k // 3)
    rng.shuffle(b)
    return a, b


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["linear", "inverse"])
def test_random_clicks_give_zero_mean_credit(kind: str) -> None:
    """20k seeded draws at k=8, clicks independent of the items: mean credit is 0 within its 99 % CI."""
    method = OptimizedInterleaver(f"test_clicks_{kind}", kind, time_budget_ms=10_000)  # type: ignore[arg-type]
    chooser = random.Random(7)
    a, b = random_pair(chooser, 8)
    rng = random.Random(11)
    clicks_rng = np.random.default_rng(3)
    totals = []
    for _ in range(20_000):
        drawn = method({"A": a, "B": b}, 8, rng)
        assert drawn.method == method.name
        clicked = clicks_rng.random(len(drawn.items)) < 0.3
        totals.append(sum(credit(x, a, b, 8, kind) for x, c in zip(drawn.items, clicked, strict=True) if c))
    values = np.asarray(totals)
    half_width = 2.576 * values.std(ddof=1) / math.sqrt(values.size)
    assert values.std() > 0  # the lists differ, so individual impressions do carry credit
    assert abs(values.mean()) <= half_width, (values.mean(), half_width)


def test_a_list_with_one_empty_arm_is_infeasible_and_falls_back_to_team_draft() -> None:
    """One arm empty: B's items all credit B, no unbiased distribution: Team Draft, reason logged."""
    method = OptimizedInterleaver("test_infeasible")
    drawn = method({"A": [1, 2, 3], "B": []}, 3, random.Random(5))
    assert drawn.method == "team_draft_v1"
    assert drawn.items == (1, 2, 3)
    assert drawn.detail == {"fallback": "infeasible", "requested": "test_infeasible", "candidates": 1}
    again = method({"A": [4, 5, 6], "B": []}, 3, random.Random(5))  # same pattern: cached verdict
    assert again.detail is not None and again.detail["fallback"] == "infeasible"
    assert again.detail.get("cached") is True


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"time_budget_ms": 0}, "time_budget"),
        ({"max_candidates": 3}, "too_many_candidates"),
    ],
)
def test_budget_and_candidate_cap_fall_back_with_a_valid_team_draft(
    options: dict[str, float], reason: str
) -> None:
    """A spent time budget or too many allowed lists: exactly Team Draft's list, the reason in detail."""
    method = OptimizedInterleaver("test_limits", **options)  # type: ignore[arg-type]
    a, b = list(range(6)), list(range(3, 9))
    drawn = method({"A": a, "B": b}, 6, random.Random(9))
    assert drawn.method == "team_draft_v1"
    assert drawn.detail is not None and drawn.detail["fallback"] == reason
    plain = interleave("team_draft_v1", {"A": a, "B": b}, 6, random.Random(9))
    assert (drawn.items, drawn.teams) == (plain.items, plain.teams)


def test_enumeration_that_spends_the_budget_skips_the_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    """The enumeration is counted in the budget: if it spends it, the LP is not started."""
    now = [0.0]
    enumerate_lists = opt._enumerate

    def slow(*args: Any) -> Any:
        out = enumerate_lists(*args)
        now[0] += 1.0  # the enumeration "took" a second
        return out

    monkeypatch.setattr(opt, "_enumerate", slow)
    method = OptimizedInterleaver("test_clock", time_budget_ms=5, clock=lambda: now[0])
    drawn = method({"A": [1, 2, 3], "B": [3, 4, 5]}, 3, random.Random(0))
    assert drawn.method == "team_draft_v1"
    assert drawn.detail is not None
    assert (drawn.detail["fallback"], drawn.detail["stage"]) == ("time_budget", "before_solver")


def test_scipy_missing_falls_back_and_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SciPy the request still gets Team Draft, and detail says which extra to install."""
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    method = OptimizedInterleaver("test_noscipy")
    drawn = method({"A": [1, 2], "B": [2, 3]}, 2, random.Random(0))
    assert drawn.method == "team_draft_v1"
    assert drawn.detail is not None and drawn.detail["fallback"] == "scipy_missing"
    assert "interleave-sdk[optimized]" in drawn.detail["install"]


def test_a_solver_exception_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any error inside the solve (here linprog raising) is a fallback, never the request's error."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("scipy.optimize.linprog", broken)
    method = OptimizedInterleaver("test_broken")
    drawn = method({"A": [1, 2], "B": [3, 4]}, 2, random.Random(0))
    assert drawn.method == "team_draft_v1"
    assert drawn.detail is not None and drawn.detail["fallback"] == "solver_error"
    assert "boom" in drawn.detail["error"]


def test_three_arms_fall_back_to_multileaving() -> None:
    """Optimized is defined for two arms: three arms serve Team Draft multileaving, saying why."""
    drawn = interleave("optimized_v1", {"A": [1, 2], "B": [3, 4], "C": [5, 6]}, 6, random.Random(0))
    assert drawn.method == "team_draft_v1"
    assert drawn.detail == {"fallback": "not_two_arms", "requested": "optimized_v1", "arms": 3}
    assert sorted(drawn.teams) == ["A", "A", "B", "B", "C", "C"]


def test_duplicate_ids_fall_back() -> None:
    """An arm repeating an id has no well-defined ranks: Team Draft (which skips repeats) is served."""
    drawn = interleave("optimized_v1", {"A": [1, 1, 2], "B": [3, 4, 5]}, 3, random.Random(0))
    assert drawn.method == "team_draft_v1"
    assert drawn.detail is not None and drawn.detail["fallback"] == "duplicate_ids"


def test_the_cache_is_keyed_by_overlap_pattern_not_ids() -> None:
    """Two pairs with the same overlap pattern and different ids solve once; the second is a hit."""
    method = OptimizedInterleaver("test_cache", time_budget_ms=10_000)
    first = method({"A": [1, 2, 3, 4], "B": [3, 5, 1, 6]}, 4, random.Random(0))
    second = method({"A": ["w", "x", "y", "z"], "B": ["y", "q", "w", "r"]}, 4, random.Random(0))
    assert first.detail is not None and first.detail["cache"] == "miss"
    assert second.detail is not None and second.detail["cache"] == "hit"
    assert first.detail["choices"] == second.detail["choices"]
    assert len(method.cache) == 1


def test_the_cache_is_bounded() -> None:
    """Past its size the least recently used pattern is dropped."""
    method = OptimizedInterleaver("test_lru", time_budget_ms=10_000, cache_size=2)
    for b in ([1, 9], [9, 1], [1, 2], [9, 8]):
        method({"A": [1, 2], "B": b}, 2, random.Random(0))
    assert len(method.cache) == 2


@pytest.mark.parametrize("name", ["optimized_v1", "optimized_inverse_v1"])
def test_replay_from_detail_and_seed_reproduces_100_draws(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The logged method, detail and seed rebuild the served list, without solving anything again."""
    chooser = random.Random(42)
    served = []
    for i in range(100):
        a, b = random_pair(chooser, 6) if i % 10 else ([1, 2, 3], [])  # some fallbacks too
        drawn = interleave(name, {"A": a, "B": b}, 6, random.Random(i))
        served.append((a, b, i, drawn))
    assert {d.method for *_, d in served} == {name, "team_draft_v1"}

    def no_solving(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay must not solve the LP")

    monkeypatch.setattr(opt, "_solve", no_solving)
    for a, b, seed, drawn in served:
        again = api.reproduce(drawn.method, {"A": a, "B": b}, 6, random.Random(seed), drawn.detail)
        assert (again.items, again.teams, again.method) == (drawn.items, drawn.teams, drawn.method)


def test_replay_refuses_choices_that_do_not_fit() -> None:
    """A detail whose choices do not fit the logged lists is an error, not a silently different list."""
    with pytest.raises(ValueError, match="do not fit"):
        api.reproduce("optimized_v1", {"A": [1, 2], "B": [1, 3]}, 2, random.Random(0), {"choices": "ab"})


def test_streams_are_read_only_to_their_top_k() -> None:
    """Lazy rankings: exactly k items are pulled from each arm, and the list equals the list path."""
    a, b = random_pair(random.Random(3), 10)
    lazy_a = LazyRanking(iter(a + list(range(1000, 11_000))))
    lazy_b = LazyRanking(iter(b + list(range(20_000, 30_000))))
    method = OptimizedInterleaver("test_lazy", time_budget_ms=10_000)
    drawn = method({"A": lazy_a, "B": lazy_b}, 10, random.Random(4))
    plain = method({"A": a, "B": b}, 10, random.Random(4))
    assert drawn.method == "test_lazy"
    assert (drawn.items, drawn.teams) == (plain.items, plain.teams)
    assert lazy_a.pulled == 10 and lazy_b.pulled == 10


def test_a_stream_that_raises_is_the_arms_failure_not_a_fallback() -> None:
    """An arm's stream failing while its top items are read propagates, as it does for Team Draft."""

    def failing() -> Iterator[int]:
        yield 1
        raise ConnectionError("db went away")

    with pytest.raises(ConnectionError):
        interleave("optimized_v1", {"A": LazyRanking(failing()), "B": [2, 3]}, 3, random.Random(0))


def test_teams_name_the_arm_each_item_was_taken_from() -> None:
    """Every item is credited to an arm whose top list holds it (the shared top item to A or B)."""
    a, b = [1, 2, 3, 4], [1, 5, 2, 6]
    for seed in range(50):
        drawn = interleave("optimized_v1", {"A": a, "B": b}, 4, random.Random(seed))
        for item, team in zip(drawn.items, drawn.teams, strict=True):
            assert item in (a if team == "A" else b)


def test_constructor_refuses_bad_options() -> None:
    """Wrong options fail at construction, naming the valid values."""
    with pytest.raises(ValueError, match="linear, inverse"):
        OptimizedInterleaver("x", "cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time_budget_ms"):
        OptimizedInterleaver("x", time_budget_ms=-1)
    with pytest.raises(ValueError, match="max_candidates"):
        OptimizedInterleaver("x", max_candidates=0)


def test_both_credit_options_are_registered() -> None:
    """optimized_v1 (linear) and optimized_inverse_v1 (inverse) are config names, and their credits differ."""
    assert {"optimized_v1", "optimized_inverse_v1"} <= set(api.available_methods())
    assert api.get_method("optimized_v1") is opt.optimized_linear
    assert api.get_method("optimized_inverse_v1") is opt.optimized_inverse
    assert (opt.optimized_linear.credit, opt.optimized_inverse.credit) == ("linear", "inverse")
    assert opt.credits_of(("linear", 4, 4, (3, 2, 1, 0))) != opt.credits_of(("inverse", 4, 4, (3, 2, 1, 0)))

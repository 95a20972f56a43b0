"""Optimized interleaving: allowed lists, unbiasedness, optimality, exact sampling, fallbacks, replay."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

from interleave_sdk import interleave
from interleave_sdk.interleaving import api
from interleave_sdk.interleaving import optimized as opt
from interleave_sdk.interleaving import optimized_lp as lp
from interleave_sdk.interleaving.lazy import LazyRanking
from interleave_sdk.interleaving.optimized import SolverCost

from .test_team_draft import canonical_pairs, relabel


class StepClock:
    """A clock whose monotonic() reads ``now[0]`` (the test moves it)."""

    def __init__(self, now: list[float]) -> None:
        self.now_s = now

    def monotonic(self) -> float:
        return self.now_s[0]

    def now(self) -> Any:
        raise NotImplementedError


def OptimizedInterleaver(name: str, *args: Any, **kwargs: Any) -> opt.OptimizedInterleaver:
    """A test instance with its own solver-cost estimate (tests never skew the shared one)
    and no background solving unless asked (the shared solver's thread stays unstarted)."""
    kwargs.setdefault("solver_cost", SolverCost())
    kwargs.setdefault("background", False)  # inline only, unless a test is about the background
    return opt.OptimizedInterleaver(name, *args, **kwargs)


# Load the solver before any test draws, as an application would at start-up.
assert opt.warm_up()

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
    method: opt.OptimizedInterleaver, a: Sequence[int], b: Sequence[int], k: int
) -> dict[tuple[int, ...], float]:
    """What the sampler realises: each list of the solved support, reached through the public call
    with a draw in the middle of its interval, with the interval's width as its probability."""
    solved = method.solve(top(a, k), top(b, k), k)
    out: dict[tuple[int, ...], float] = {}
    widths = solved.probabilities()
    assert all(w > 0 for w in widths)
    for i, width in enumerate(widths):
        mid = sum(widths[:i]) + width / 2
        assert solved.pick(mid) == i
        drawn = method({"A": list(a), "B": list(b)}, k, FixedRandom(mid))
        assert drawn.method == method.name and drawn.detail is not None
        assert drawn.detail["choices"] == solved.choices[i]  # the interval's own list
        out[tuple(drawn.items)] = out.get(tuple(drawn.items), 0.0) + width  # type: ignore[arg-type]
    return out


def solve_or_reason(
    method: opt.OptimizedInterleaver, a: Sequence[int], b: Sequence[int], k: int
) -> opt.Distribution | str:
    """The solved distribution, or the fallback reason when there is none."""
    try:
        return method.solve(list(a[:k]), list(b[:k]), k)
    except opt.Fallback as why:
        return why.reason


def solved_n(a: Sequence[int], b: Sequence[int], k: int) -> int:
    return min(k, len(set(a[:k]) | set(b[:k])))


def in_a(a: Sequence[int], b: Sequence[int], k: int) -> tuple[int, ...]:
    """For each item of top-k B, its index in top-k A or -1 (the pattern's overlap part)."""
    return tuple(list(a[:k]).index(x) if x in a[:k] else -1 for x in b[:k])


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
        # An arm that runs out before the list is full is never served optimized (short_arm).
        short = min(len(a[:k]), len(b[:k])) < solved_n(a, b, k)
        if isinstance(solved, str) or short:
            drawn = method({"A": list(a), "B": list(b)}, k, random.Random(0))
            assert drawn.method == "team_draft_v1" and drawn.detail is not None
            assert drawn.detail["fallback"] == ("short_arm" if short else "infeasible")
        if isinstance(solved, str):
            assert solved == "infeasible" and expected is None, (a, b, k, solved)
            fell_back += 1
            continue
        assert expected is not None, (a, b, k)
        if short:  # the solver's answer is still checked, read from the solution itself
            dist = {
                tuple(opt._build("A", top(a, k), "B", top(b, k), choices)[0]): p
                for choices, p in zip(solved.choices, solved.probabilities(), strict=True)
            }
        else:
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
        pattern = ("linear", solved_n(a, b, k), min(k, len(a)), in_a(a, b, k))
        assert opt.count_lists(pattern) == solved.candidates


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


def test_a_list_with_one_empty_arm_falls_back_to_team_draft_as_a_short_arm() -> None:
    """One arm empty: it runs out at once, so Team Draft serves, saying short_arm; no contest."""
    method = OptimizedInterleaver("test_short")
    drawn = method({"A": [1, 2, 3], "B": []}, 3, random.Random(5))
    assert drawn.method == "team_draft_v1"
    assert drawn.items == (1, 2, 3)
    assert drawn.detail == {"fallback": "short_arm", "requested": "test_short", "lengths": [3, 0], "slots": 3}
    assert drawn.contest == 0


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
    enumerate_lists = lp._enumerate

    def slow(*args: Any) -> Any:
        out = enumerate_lists(*args)
        now[0] += 1.0  # the enumeration "took" a second
        return out

    monkeypatch.setattr(lp, "_enumerate", slow)
    method = OptimizedInterleaver("test_clock", time_budget_ms=5, clock=StepClock(now))
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


def test_first_request_does_not_wait_for_scipy_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the solver is loaded a request serves Team Draft at once and starts the load; once
    loaded, the next request is optimized."""
    loader = opt._SolverLoader()
    monkeypatch.setattr(opt, "_LOADER", loader)
    method = OptimizedInterleaver("test_loading", time_budget_ms=10_000)
    first = method({"A": [1, 2], "B": [3, 4]}, 2, random.Random(0))
    assert first.method == "team_draft_v1"
    assert first.detail is not None and first.detail["fallback"] == "solver_loading"
    loader.wait(30)
    assert loader.ready
    assert method({"A": [1, 2], "B": [3, 4]}, 2, random.Random(0)).method == "test_loading"


def test_a_solver_exception_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any error inside the solve (here linprog raising) is a fallback, never the request's error."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("scipy.optimize.linprog", broken)
    method = OptimizedInterleaver("test_broken", time_budget_ms=10_000)  # a loaded machine may be slow
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


@pytest.fixture(params=["linear", "inverse"])
def registered(request: pytest.FixtureRequest) -> Iterator[str]:
    """An optimized method registered under a test name with a generous budget (no timing luck)."""
    method = OptimizedInterleaver(f"test_replay_{request.param}", request.param, time_budget_ms=10_000)
    method.register()
    yield method.name
    api.unregister(method.name)


def test_replay_from_detail_and_seed_reproduces_100_draws(
    registered: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The logged method, detail and seed rebuild the served list, without solving anything again."""
    chooser = random.Random(42)
    served = []
    for i in range(100):
        a, b = random_pair(chooser, 6) if i % 10 else ([1, 2, 3], [])  # some fallbacks too
        drawn = interleave(registered, {"A": a, "B": b}, 6, random.Random(i))
        served.append((a, b, i, drawn))
    assert {d.method for *_, d in served} == {registered, "team_draft_v1"}

    def no_solving(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay must not solve the LP")

    monkeypatch.setattr(opt, "_solve", no_solving)
    for a, b, seed, drawn in served:
        again = api.reproduce(drawn.method, {"A": a, "B": b}, 6, random.Random(seed), drawn.detail)
        assert (again.items, again.teams, again.method) == (drawn.items, drawn.teams, drawn.method)


def test_registered_methods_replay_through_reproduce() -> None:
    """optimized_v1's own rebuild is registered: a logged detail replays without the solver."""
    a, b = [1, 2, 3, 4], [3, 5, 1, 6]
    again = api.reproduce("optimized_v1", {"A": a, "B": b}, 4, random.Random(0), {"choices": "abab"})
    assert again.items == (1, 3, 2, 5) and again.method == "optimized_v1"


def test_an_expected_solver_cost_past_the_budget_skips_the_solve_but_probes_now_and_then() -> None:
    """A learnt solver cost larger than the budget: Team Draft without calling HiGHS, except every
    probe_every-th time, which solves and refreshes the estimate."""
    cost = SolverCost(initial_s=100.0, probe_every=3)
    method = OptimizedInterleaver("test_predicted", time_budget_ms=10_000, solver_cost=cost, cache_size=0)
    pair = {"A": [1, 2, 3], "B": [3, 4, 5]}
    first, second, third = (method(pair, 3, random.Random(0)) for _ in range(3))
    for skipped in (first, second):
        assert skipped.method == "team_draft_v1" and skipped.detail is not None
        assert (skipped.detail["fallback"], skipped.detail["stage"]) == ("time_budget", "predicted")
    assert third.method == "test_predicted"
    learnt = cost.estimate_s(third.detail["candidates"] if third.detail else 0)
    assert learnt is not None and learnt < 100.0


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


def test_the_methods_sample_runs(run_sample: Callable[[str], str]) -> None:
    """samples/interleaving_methods.py serves an optimized list, replays it, and multileaves."""
    out = run_sample("interleaving_methods.py").splitlines()
    assert out[0].startswith("optimized_roomy_v1 ")
    assert "'choices'" in out[1]
    assert out[2].startswith("team_draft_v1 ") and "not_two_arms" in out[2]


def test_solver_cost_is_learnt_per_size() -> None:
    """A slow solve over ~1,000 lists does not stop a solve over 16 lists from being tried."""
    cost = SolverCost()
    assert cost.allows(0.005, 1000)  # nothing known: try and learn
    cost.observe(0.050, 1000)
    assert not cost.allows(0.005, 1000)
    assert cost.allows(0.005, 16)
    cost.observe(0.001, 16)
    assert cost.estimate_s(16) == pytest.approx(0.001)
    assert cost.estimate_s(1000) == pytest.approx(0.050)


def test_a_solution_missing_the_tolerance_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver answer that does not meet the unbiasedness equations to the tolerance is not served."""
    monkeypatch.setattr(lp, "UNBIASED_TOLERANCE", -1.0)  # no answer can meet it
    method = OptimizedInterleaver("test_inexact", time_budget_ms=10_000)
    drawn = method({"A": [1, 2, 3], "B": [3, 4, 5]}, 3, random.Random(2))
    assert drawn.method == "team_draft_v1"
    assert drawn.detail is not None and drawn.detail["fallback"] == "inexact_solution"
    plain = interleave("team_draft_v1", {"A": [1, 2, 3], "B": [3, 4, 5]}, 3, random.Random(2))
    assert drawn.items == plain.items


def is_allowed(lst: Sequence[int], a: Sequence[int], b: Sequence[int], k: int) -> bool:
    """Every prefix of ``lst`` is a union of a prefix of top-k A and a prefix of top-k B."""
    ta, tb = top(a, k), top(b, k)
    unions = {frozenset(ta[:i]) | frozenset(tb[:j]) for i in range(len(ta) + 1) for j in range(len(tb) + 1)}
    return all(frozenset(lst[:m]) in unions for m in range(1, len(lst) + 1))


@pytest.mark.parametrize("case", range(16))
def test_larger_random_pairs_are_allowed_and_unbiased(case: int) -> None:
    """Random overlapping pairs at k = 6 and 8: every list served is allowed, and the served
    distribution is unbiased at every cut-off to 1e-9 under both credits."""
    chooser = random.Random(500 + case)
    k = 6 if case % 2 else 8
    a, b = random_pair(chooser, k)
    for kind in ("linear", "inverse"):
        method = OptimizedInterleaver(f"test_random_{kind}", kind, time_budget_ms=10_000)
        solved = solve_or_reason(method, a, b, k)
        assert not isinstance(solved, str), (a, b, k, solved)
        dist = served_distribution(method, a, b, k)
        assert all(is_allowed(lst, a, b, k) for lst in dist)
        for j in range(1, k + 1):
            bias = sum(p * sum(credit(x, a, b, k, kind) for x in lst[:j]) for lst, p in dist.items())
            assert abs(bias) <= 1e-9, (a, b, k, j, bias)

"""Team Draft: exact outcome distribution, invariants, determinism and first-pick balance."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from interleave_sdk import UnknownMethodError, available_methods, derive_seed, interleave
from interleave_sdk.interleaving.lazy import LazyRanking

Outcome = tuple[tuple[Hashable, str], ...]


def reference_team_draft(a: Sequence[int], b: Sequence[int], k: int) -> dict[Outcome, Fraction]:
    """Team Draft as defined in the literature, enumerated recursively with exact probabilities.

    Fewer picks drafts; equal picks: fair coin; each team takes its best unplaced item; an exhausted
    team drops out and the other keeps drafting; length min(k, |A ∪ B|).
    """
    target = min(k, len(set(a) | set(b)))
    result: Counter[Outcome] = Counter()

    def best(ranking: Sequence[int], placed: set[int]) -> int | None:
        return next((x for x in ranking if x not in placed), None)

    def draft(out: Outcome, na: int, nb: int, p: Fraction) -> None:
        if len(out) == target:
            result[out] += p  # type: ignore[assignment]
            return
        placed = {item for item, _ in out}
        xa, xb = best(a, placed), best(b, placed)
        if xb is None or (xa is not None and na < nb):
            draft((*out, (xa, "A")), na + 1, nb, p)
        elif xa is None or nb < na:
            draft((*out, (xb, "B")), na, nb + 1, p)
        else:
            draft((*out, (xa, "A")), na + 1, nb, p / 2)
            draft((*out, (xb, "B")), na, nb + 1, p / 2)

    draft((), 0, 0, Fraction(1))
    return dict(result)


class ScriptedRandom(random.Random):
    """Answers ``randrange`` from a script (then 0), remembering how many choices each call had."""

    def __init__(self, script: list[int]) -> None:
        super().__init__(0)
        self.script = script
        self.sizes: list[int] = []
        self.choices: list[int] = []

    def randrange(self, n: int) -> int:  # type: ignore[override]
        i = len(self.choices)
        choice = self.script[i] if i < len(self.script) else 0
        self.sizes.append(n)
        self.choices.append(choice)
        return choice


def sdk_distribution(a: Sequence[int], b: Sequence[int], k: int) -> dict[Outcome, Fraction]:
    """Every outcome the SDK's method can produce, with its exact probability (all coin paths)."""
    result: Counter[Outcome] = Counter()
    stack: list[list[int]] = [[]]
    while stack:
        script = stack.pop()
        rng = ScriptedRandom(script)
        drawn = interleave("team_draft_v1", {"A": a, "B": b}, k, rng)
        p = Fraction(1)
        for n in rng.sizes:
            p /= n
        result[tuple(zip(drawn.items, drawn.teams, strict=True))] += p  # type: ignore[assignment]
        for i in range(len(script), len(rng.sizes)):
            for alternative in range(1, rng.sizes[i]):
                stack.append([*rng.choices[:i], alternative])
    return dict(result)


def canonical_pairs(max_len: int = 4, max_ids: int = 6) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every pair of duplicate-free lists up to relabelling of ids (A is 0..n-1; B's new ids ascend)."""
    pairs = []
    for la in range(max_len + 1):
        a = tuple(range(la))
        for lb in range(max_len + 1):
            for b in itertools.product(range(max_ids), repeat=lb):
                if len(set(b)) != lb:
                    continue
                new = [x for x in b if x >= la]
                if new != list(range(la, la + len(new))):
                    continue
                pairs.append((a, b))
    return pairs


PAIRS = canonical_pairs()


def relabel(a: Sequence[int], b: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Rename ids by first appearance in A then B, the canonical form of a pair."""
    names: dict[int, int] = {}
    for x in (*a, *b):
        names.setdefault(x, len(names))
    return tuple(names[x] for x in a), tuple(names[x] for x in b)


def test_canonical_pairs_cover_every_pair() -> None:
    """Every pair of lists (≤ 3 items here, ≤ 6 ids) is a relabelling of an enumerated pair."""
    canonical = set(PAIRS)
    lists = [p for n in range(4) for p in itertools.permutations(range(6), n)]
    assert all(relabel(a, b) in canonical for a in lists for b in lists)
    assert ((0, 1, 2, 3), (3, 2, 1, 0)) in canonical


def test_outcomes_are_exactly_team_draft_with_exact_probabilities() -> None:
    """For every pair of lists (≤ 4 items, ≤ 6 ids) and every k, outcomes and probabilities match."""
    checked = 0
    for a, b in PAIRS:
        union = len(set(a) | set(b))
        for k in range(union + 2):
            assert sdk_distribution(a, b, k) == reference_team_draft(a, b, k), (a, b, k)
            checked += 1
    assert checked > 3000


@pytest.mark.parametrize("case", range(12))
def test_seeded_draws_follow_the_exact_distribution(case: int) -> None:
    """20k draws with seeded generators: chi-square does not reject the exact distribution."""
    chooser = random.Random(1000 + case)
    candidates = [(a, b) for a, b in PAIRS if len(a) >= 2 and len(b) >= 2]
    a, b = chooser.choice(candidates)
    k = len(set(a) | set(b))
    expected = reference_team_draft(a, b, k)
    rng = random.Random(case)
    counts: Counter[Outcome] = Counter()
    for _ in range(20_000):
        drawn = interleave("team_draft_v1", {"A": a, "B": b}, k, rng)
        counts[tuple(zip(drawn.items, drawn.teams, strict=True))] += 1
    assert set(counts) <= set(expected)
    outcomes = sorted(expected, key=repr)
    observed = [counts[o] for o in outcomes]
    if len(outcomes) > 1:
        _, p_value = chisquare(observed, [float(expected[o]) * 20_000 for o in outcomes])
        assert p_value > 0.001, (a, b, counts)


id_lists = st.lists(st.integers(0, 30), max_size=25, unique=True)


@settings(max_examples=300, deadline=None)
@given(a=id_lists, b=id_lists, k=st.integers(0, 60), seed=st.integers(0, 2**53 - 1))
def test_invariants_hold_for_any_lists(a: list[int], b: list[int], k: int, seed: int) -> None:
    """No duplicates; length min(k, |A ∪ B|); each team drafts in its own order; sizes balanced."""
    drawn = interleave("team_draft_v1", {"A": a, "B": b}, k, random.Random(seed))
    union = set(a) | set(b)
    assert len(drawn.items) == len(set(drawn.items)) == min(k, len(union))
    assert set(drawn.items) <= union
    for team, ranking in (("A", a), ("B", b)):
        picks = drawn.picks(team)
        positions = [ranking.index(x) for x in picks]
        assert positions == sorted(positions)  # a team never drafts a worse item before a better one
        for x in picks:  # and it always took its best item not yet placed
            before = drawn.items[: drawn.items.index(x)]
            assert all(y in before for y in ranking[: ranking.index(x)])
    # While both lists still had unplaced items, the team sizes differed by at most one.
    na = nb = 0
    for i, team in enumerate(drawn.teams):
        placed = set(drawn.items[:i])
        if any(x not in placed for x in a) and any(x not in placed for x in b):
            assert abs(na - nb) <= 1
        na, nb = na + (team == "A"), nb + (team == "B")


@settings(max_examples=100, deadline=None)
@given(a=id_lists, seed=st.integers(0, 2**53 - 1))
def test_identical_lists_give_the_same_list(a: list[int], seed: int) -> None:
    """Interleaving a list with itself returns that list, whatever the coin says."""
    drawn = interleave("team_draft_v1", {"A": a, "B": a}, len(a), random.Random(seed))
    assert list(drawn.items) == a


def test_shorter_list_does_not_truncate() -> None:
    """When A runs out, B keeps drafting: the result is never cut to the shorter list."""
    drawn = interleave("team_draft_v1", {"A": ["a"], "B": ["b", "c", "d"]}, 10, random.Random(1))
    assert sorted(drawn.items) == ["a", "b", "c", "d"]
    assert drawn.picks("B") == ("b", "c", "d")


def test_same_seed_same_result_and_different_seeds_differ() -> None:
    """The draw is a function of the seed alone."""
    a, b = list(range(20)), list(range(19, -1, -1))
    first = interleave("team_draft_v1", {"A": a, "B": b}, 10, random.Random(7))
    assert first == interleave("team_draft_v1", {"A": a, "B": b}, 10, random.Random(7))
    draws = {interleave("team_draft_v1", {"A": a, "B": b}, 10, random.Random(s)).teams for s in range(50)}
    assert len(draws) > 1


SCRIPT = """
import random, sys
from interleave_sdk import interleave, derive_seed
out = []
for i in range(200):
    a = [f"v{j}" for j in range(i % 7, i % 7 + 12)]
    b = [f"v{j}" for j in range(20, 5, -1)]
    seed = derive_seed("request", f"rid-{i}")
    r = interleave("team_draft_v1", {"A": a, "B": b}, 10, random.Random(seed))
    out.append("|".join(f"{x}:{t}" for x, t in zip(r.items, r.teams)))
print(seed)
print(repr(out))
"""


def test_determinism_across_processes_and_hash_seeds() -> None:
    """Two interpreters with different PYTHONHASHSEED draw identical interleavings."""
    outputs = []
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert str(derive_seed("request", "rid-199")) == outputs[0].splitlines()[0]


def test_first_slot_goes_to_a_half_of_the_time() -> None:
    """Over 10k request seeds A drafts the first slot 50 % ± 2 % of the time."""
    a, b = list(range(10)), list(range(10, 20))
    first_a = sum(
        interleave(
            "team_draft_v1", {"A": a, "B": b}, 10, random.Random(derive_seed("request", f"r{i}"))
        ).teams[0]
        == "A"
        for i in range(10_000)
    )
    assert 0.48 <= first_a / 10_000 <= 0.52


def test_unknown_method_lists_valid_ones() -> None:
    """An unknown method name raises an error naming the registered methods."""
    with pytest.raises(UnknownMethodError, match="team_draft_v1"):
        interleave("nope_v9", {"A": [1], "B": [2]}, 2, random.Random(0))
    assert "team_draft_v1" in available_methods()


def test_negative_k_is_rejected() -> None:
    """k below zero is a programming error, reported as such."""
    with pytest.raises(ValueError, match="k must be"):
        interleave("team_draft_v1", {"A": [1], "B": [2]}, -1, random.Random(0))


@settings(max_examples=200, deadline=None)
@given(a=id_lists, b=id_lists, k=st.integers(0, 60), seed=st.integers(0, 2**53 - 1))
def test_two_team_fast_path_equals_the_general_loop(a: list[int], b: list[int], k: int, seed: int) -> None:
    """The unrolled two-team draft and the n-team loop give the same list for the same seed."""
    from interleave_sdk.interleaving.team_draft import _n_teams, _two_teams

    k = min(k, len(set(a) | set(b)))
    fast = _two_teams("A", a, "B", b, k, random.Random(seed))
    general = _n_teams({"A": a, "B": b}, k, random.Random(seed))
    assert fast == general


def test_three_teams_draft_in_turn() -> None:
    """Multileaving seam: with three teams each drafts once per round, by its own order."""
    drawn = interleave("team_draft_v1", {"A": [1, 2, 3], "B": [4, 5, 6], "C": [7, 8, 9]}, 9, random.Random(3))
    assert sorted(drawn.teams) == ["A"] * 3 + ["B"] * 3 + ["C"] * 3
    for r in range(3):
        assert sorted(drawn.teams[3 * r : 3 * r + 3]) == ["A", "B", "C"]
    assert drawn.picks("C") == (7, 8, 9)


# -- lazy rankings (streaming arms) ------------------------------------------------------------


def counting_stream(ids: Sequence[int], pulls: list[int]) -> Iterator[int]:
    """A generator over ``ids`` that counts in ``pulls[0]`` how many items it has yielded."""
    for x in ids:
        pulls[0] += 1
        yield x


def test_lazy_ranking_pulls_only_up_to_the_index_read() -> None:
    """Reading index i pulls exactly i + 1 items; re-reading pulls nothing more."""
    pulls = [0]
    ranking = LazyRanking(counting_stream(range(100), pulls))
    assert ranking.pulled == 0 and pulls == [0]
    assert ranking[4] == 4 and ranking.pulled == 5 and pulls == [5]
    assert ranking[2] == 2 and pulls == [5]
    assert ranking.head() == (0, 1, 2, 3, 4)
    assert not ranking.exhausted


def test_lazy_ranking_ends_with_index_error_and_has_no_length() -> None:
    """Past the end is IndexError (the end-of-list signal); len() and negative indexes are refused."""
    ranking = LazyRanking(iter([7, 8]))
    assert ranking[1] == 8
    with pytest.raises(IndexError):
        ranking[2]
    assert ranking.exhausted and ranking.pulled == 2
    with pytest.raises(TypeError):
        len(ranking)  # type: ignore[arg-type]
    with pytest.raises(IndexError, match="negative"):
        ranking[-1]


@pytest.mark.parametrize("seed", range(20))
def test_streams_of_10000_are_pulled_at_most_k_plus_2_and_serve_the_full_list_result(seed: int) -> None:
    """k=10 from two 10,000-item generators: ≤ 12 pulls per arm, same list as full-list Team Draft."""
    chooser = random.Random(seed)
    universe = list(range(20_000))
    a = chooser.sample(universe, 10_000)
    # B shares a few of A's top items, in another order, then goes its own way.
    b_top = chooser.sample(a[:12], 5) + chooser.sample(universe, 20)
    b = list(dict.fromkeys(b_top + chooser.sample(universe, 10_000)))[:10_000]
    pulls_a, pulls_b = [0], [0]
    lazy = {"A": LazyRanking(counting_stream(a, pulls_a)), "B": LazyRanking(counting_stream(b, pulls_b))}
    streamed = interleave("team_draft_v1", lazy, 10, random.Random(seed))
    full = interleave("team_draft_v1", {"A": a, "B": b}, 10, random.Random(seed))
    assert streamed == full
    assert a != b
    assert pulls_a[0] <= 12 and pulls_b[0] <= 12, (pulls_a, pulls_b)


@settings(max_examples=200, deadline=None)
@given(a=id_lists, b=id_lists, k=st.integers(0, 60), seed=st.integers(0, 2**53 - 1))
def test_lazy_path_equals_the_list_path(a: list[int], b: list[int], k: int, seed: int) -> None:
    """Two teams: the generic (stream) path and the list fast path give the same list for a seed."""
    lazy = {"A": LazyRanking(iter(a)), "B": LazyRanking(iter(b))}
    assert interleave("team_draft_v1", lazy, k, random.Random(seed)) == interleave(
        "team_draft_v1", {"A": a, "B": b}, k, random.Random(seed)
    )


@settings(max_examples=100, deadline=None)
@given(lists=st.lists(id_lists, min_size=3, max_size=5), k=st.integers(0, 40), seed=st.integers(0, 2**53 - 1))
def test_lazy_multileaving_equals_lists(lists: list[list[int]], k: int, seed: int) -> None:
    """Three to five teams: streams and lists give the same list for a seed."""
    names = [f"arm{i}" for i in range(len(lists))]
    lazy = {n: LazyRanking(iter(ids)) for n, ids in zip(names, lists, strict=True)}
    plain = dict(zip(names, lists, strict=True))
    assert interleave("team_draft_v1", lazy, k, random.Random(seed)) == interleave(
        "team_draft_v1", plain, k, random.Random(seed)
    )


def test_a_finished_stream_is_not_read_again() -> None:
    """Once a stream has ended, the draft never asks it for another item."""

    class Once:
        """A ranking that fails the test if read past its end twice."""

        def __init__(self, ids: list[int]) -> None:
            self.ids, self.ended = ids, 0

        def __getitem__(self, i: int) -> int:
            if i >= len(self.ids):
                self.ended += 1
                assert self.ended == 1, "read past the end twice"
                raise IndexError(i)
            return self.ids[i]

    short = Once([1])
    drawn = interleave("team_draft_v1", {"A": short, "B": [2, 3, 4, 5]}, 5, random.Random(0))
    assert sorted(drawn.items) == [1, 2, 3, 4, 5]
    three = Once([1])
    drawn = interleave("team_draft_v1", {"A": three, "B": [2, 3], "C": [4, 5]}, 5, random.Random(0))
    assert sorted(drawn.items) == [1, 2, 3, 4, 5]


def test_k_is_required_with_a_stream() -> None:
    """k=None cannot default to a stream's length: a clear error instead of draining it."""
    with pytest.raises(ValueError, match="k is required"):
        interleave("team_draft_v1", {"A": LazyRanking(iter([1])), "B": [2]}, None, random.Random(0))

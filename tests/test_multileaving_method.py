"""Team Draft multileaving (three or more arms): exact distribution and the draft's invariants."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from interleave_sdk import interleave
from interleave_sdk.interleaving.api import Interleaving

from .test_team_draft import ScriptedRandom

Outcome = tuple[tuple[int, str], ...]


def reference_multileave(lists: dict[str, Sequence[int]], k: int) -> dict[Outcome, Fraction]:
    """Team Draft multileaving from its definition, every coin path with its exact probability.

    Among teams with an unplaced item, those with the fewest picks are tied and one of them,
    uniformly, drafts its best unplaced item; the result has min(k, |union|) items.
    """
    union = set().union(*map(set, lists.values()))
    target = min(k, len(union))
    result: Counter[Outcome] = Counter()

    def draft(out: Outcome, counts: dict[str, int], p: Fraction) -> None:
        if len(out) == target:
            result[out] += p  # type: ignore[assignment]
            return
        placed = {item for item, _ in out}
        left = {t: [x for x in r if x not in placed] for t, r in lists.items()}
        best = {t: remaining[0] for t, remaining in left.items() if remaining}
        fewest = min(counts[t] for t in best)
        tied = [t for t in lists if t in best and counts[t] == fewest]
        for t in tied:
            draft((*out, (best[t], t)), {**counts, t: counts[t] + 1}, p / len(tied))

    draft((), dict.fromkeys(lists, 0), Fraction(1))
    return dict(result)


def sdk_distribution(lists: dict[str, Sequence[int]], k: int) -> dict[Outcome, Fraction]:
    """Every outcome the SDK can produce (all scripted coin paths) with its exact probability."""
    result: Counter[Outcome] = Counter()
    stack: list[list[int]] = [[]]
    while stack:
        script = stack.pop()
        rng = ScriptedRandom(script)
        drawn = interleave("team_draft_v1", lists, k, rng)
        p = Fraction(1)
        for n in rng.sizes:
            p /= n
        result[tuple(zip(drawn.items, drawn.teams, strict=True))] += p  # type: ignore[arg-type,assignment]
        for i in range(len(script), len(rng.sizes)):
            for alternative in range(1, rng.sizes[i]):
                stack.append([*rng.choices[:i], alternative])
    return dict(result)


def check_invariants(lists: dict[str, Sequence[int]], k: int, drawn: Interleaving) -> None:
    """No duplicates; length min(k, |union|); each pick is its team's best remaining item; while
    every team still has items, team sizes differ by at most one."""
    union = set().union(*map(set, lists.values()))
    assert len(drawn.items) == len(set(drawn.items)) == min(k, len(union))
    assert set(drawn.teams) <= set(lists)
    counts = dict.fromkeys(lists, 0)
    for i, (item, team) in enumerate(zip(drawn.items, drawn.teams, strict=True)):
        placed = set(drawn.items[:i])
        remaining = [x for x in lists[team] if x not in placed]
        assert remaining and remaining[0] == item, (lists, drawn)  # its own best remaining item
        if all(any(x not in placed for x in r) for r in lists.values()):
            assert max(counts.values()) - min(counts.values()) <= 1
            assert counts[team] == min(counts.values())  # only a team with the fewest picks drafts
        counts[team] += 1


def small_triples() -> list[dict[str, tuple[int, ...]]]:
    """Three arms: A canonical (0..n-1, n ≤ 3), B and C any list of ≤ 2 items over 4 ids."""
    short = [p for n in range(3) for p in itertools.permutations(range(4), n)]
    return [
        {"A": tuple(range(la)), "B": b, "C": c} for la in range(4) for b in short for c in short
    ]


def test_three_arms_exhaustively_match_the_definition() -> None:
    """Every small triple of lists and k: outcomes and exact probabilities equal the definition's."""
    checked = 0
    for lists in small_triples():
        union = len(set().union(*map(set, lists.values())))
        for k in {max(union - 1, 0), union}:
            expected = reference_multileave(lists, k)
            got = sdk_distribution(lists, k)
            assert got == expected, (lists, k)
            for outcome in got:
                items = tuple(x for x, _ in outcome)
                teams = tuple(t for _, t in outcome)
                check_invariants(lists, k, Interleaving(items, teams, "team_draft_v1"))  # type: ignore[arg-type]
            checked += 1
    assert checked > 1000


def test_first_round_order_is_uniform_over_the_arms() -> None:
    """Three disjoint arms: each of the 6 orders of the first round has probability exactly 1/6."""
    lists = {"A": (1, 2), "B": (3, 4), "C": (5, 6)}
    firsts: Counter[tuple[str, ...]] = Counter()
    for outcome, p in sdk_distribution(lists, 6).items():
        firsts[tuple(t for _, t in outcome[:3])] += p  # type: ignore[assignment]
    assert firsts == dict.fromkeys(itertools.permutations("ABC"), Fraction(1, 6))


arm_lists = st.lists(st.integers(0, 25), max_size=15, unique=True)


@settings(max_examples=300, deadline=None)
@given(
    lists=st.lists(arm_lists, min_size=3, max_size=5),
    k=st.integers(0, 50),
    seed=st.integers(0, 2**53 - 1),
)
def test_invariants_hold_for_any_three_to_five_arms(lists: list[list[int]], k: int, seed: int) -> None:
    """Random arms (3-5, overlapping, any lengths): the served list keeps every draft invariant."""
    named = {f"v{i}": ids for i, ids in enumerate(lists)}
    drawn = interleave("team_draft_v1", named, k, random.Random(seed))
    check_invariants(named, k, drawn)


def test_arm_names_beyond_a_b_c_and_order_of_the_mapping() -> None:
    """Any arm names work; every arm gets a fair share of a long list of disjoint items."""
    named = {
        "control": list(range(10)),
        "v2": list(range(10, 20)),
        "v3-beta": list(range(20, 30)),
        "z": list(range(30, 40)),
    }
    drawn = interleave("team_draft_v1", named, 20, random.Random(5))
    assert Counter(drawn.teams) == dict.fromkeys(named, 5)

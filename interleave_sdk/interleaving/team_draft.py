"""Team Draft interleaving (Radlinski, Kurup & Joachims, CIKM 2008), generalised to n teams.

Like picking sides for a game: the team with fewer picks so far drafts next (a seeded coin decides
between tied teams), and a team always drafts its highest-ranked item not already placed. An item
both arms rank appears once, credited to whichever team drafted it.

Exhaustion policy: when a team has no unplaced items left it drops out and the remaining teams keep
drafting, so the result has exactly ``min(k, |union|)`` items and is never truncated to the shorter
list. Team sizes therefore differ by at most one only while every list still has items. The picks
made after a team ran out are no contest (one arm filling slots the other cannot would otherwise
win preference by length alone): ``contest_depth`` is then ``teams * min(picks)``, the complete
rounds in which every team drafted, and the whole list when no pick was made short-handed.

With three or more arms this is Team Draft multileaving (Schuth et al., CIKM 2014): the same rule,
the fewest picks drafting next, ties broken uniformly by the coin.

Laziness: a ranking is read by increasing index only and each team looks one item past its last
pick, so a stream (:class:`~.lazy.LazyRanking`) is pulled at most its team's picks plus the items
it skipped because another team placed them, plus one look-ahead. Plain lists and tuples take an
unrolled path that may use ``len()``; other rankings take the generic path; both make the same
draws, so a stream and its list give the same result for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence

from .api import Interleaving, Ranking, Rankings, register


@register("team_draft_v1")
def team_draft(rankings: Rankings, k: int, rng: random.Random) -> Interleaving:
    """Draft ``min(k, |union|)`` items: drafting stops once every list is exhausted."""
    names = list(rankings)
    if len(names) == 2:
        a, b = rankings[names[0]], rankings[names[1]]
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return _two_teams(names[0], a, names[1], b, k, rng)
        return _two_teams_lazy(names[0], a, names[1], b, k, rng)
    return _n_teams(rankings, k, rng)


def _contest_depth(slots: int, short: bool, picks: Sequence[int]) -> int:
    """The whole list, or only its complete rounds once a team drafted while another had run out.

    Whole rounds, not "up to the last pick of the arm that ran out": which arm drafts first in a
    round is the coin's, so cutting a round in half would credit its first drafter more often.
    """
    return len(picks) * min(picks) if short else slots


def _first_unplaced(ranking: Ranking, start: int, placed: set[Hashable]) -> int:
    """Index of the first item at or after ``start`` not yet placed; -1 when the ranking ends."""
    p = start
    try:
        while ranking[p] in placed:
            p += 1
    except IndexError:
        return -1
    return p


def _n_teams(rankings: Rankings, k: int, rng: random.Random) -> Interleaving:
    """Any number of teams (team-draft multileaving): the fewest picks drafts, ties by the coin."""
    names = list(rankings)
    lists = [rankings[name] for name in names]
    pointer = [0] * len(names)
    counts = [0] * len(names)
    done = [False] * len(names)
    placed: set[Hashable] = set()
    items: list[Hashable] = []
    teams: list[str] = []
    short = False
    while len(items) < k:
        # Skip each team's pointer past items already placed; a team with nothing left drops out
        # (and is never read again, so a finished stream is not asked twice).
        active: list[int] = []
        for t, ranking in enumerate(lists):
            if done[t]:
                continue
            p = _first_unplaced(ranking, pointer[t], placed)
            if p < 0:
                done[t] = True
                continue
            pointer[t] = p
            active.append(t)
        if not active:  # every list exhausted: k exceeded the union
            break
        short = short or len(active) < len(names)
        fewest = min(counts[t] for t in active)
        tied = [t for t in active if counts[t] == fewest]
        team = tied[0] if len(tied) == 1 else tied[rng.randrange(len(tied))]
        item = lists[team][pointer[team]]
        pointer[team] += 1
        placed.add(item)
        counts[team] += 1
        items.append(item)
        teams.append(names[team])
    depth = _contest_depth(len(items), short, counts)
    return Interleaving(tuple(items), tuple(teams), "team_draft_v1", contest_depth=depth)


def _two_teams_lazy(
    name_a: str,
    a: Ranking,
    name_b: str,
    b: Ranking,
    k: int,
    rng: random.Random,
) -> Interleaving:
    """Two teams over any rankings (streams included): the same rule and draws as
    :func:`_two_teams`, ending a list on ``IndexError`` instead of comparing with its length."""
    pa = pb = na = nb = 0
    a_left = b_left = True
    placed: set[Hashable] = set()
    items: list[Hashable] = []
    teams: list[str] = []
    short = False
    while len(items) < k:
        if a_left:
            pa = _first_unplaced(a, pa, placed)
            a_left = pa >= 0
        if b_left:
            pb = _first_unplaced(b, pb, placed)
            b_left = pb >= 0
        if not (a_left or b_left):
            break
        short = short or not (a_left and b_left)
        if a_left and (not b_left or na < nb or (na == nb and rng.randrange(2) == 0)):
            item = a[pa]
            pa += 1
            na += 1
            teams.append(name_a)
        else:
            item = b[pb]
            pb += 1
            nb += 1
            teams.append(name_b)
        placed.add(item)
        items.append(item)
    depth = _contest_depth(len(items), short, (na, nb))
    return Interleaving(tuple(items), tuple(teams), "team_draft_v1", contest_depth=depth)


def _two_teams(
    name_a: str,
    a: Sequence[Hashable],
    name_b: str,
    b: Sequence[Hashable],
    k: int,
    rng: random.Random,
) -> Interleaving:
    """The common case, unrolled: same rule and same draws from ``rng`` as the general loop.

    The coin is consulted only when both teams have items left and equal picks, exactly as in the
    n-team loop (``tied[rng.randrange(2)]``), so both paths give identical lists for a seed.
    """
    len_a, len_b = len(a), len(b)
    pa = pb = na = nb = 0
    placed: set[Hashable] = set()
    items: list[Hashable] = []
    teams: list[str] = []
    short = False
    while len(items) < k:
        while pa < len_a and a[pa] in placed:
            pa += 1
        while pb < len_b and b[pb] in placed:
            pb += 1
        a_left, b_left = pa < len_a, pb < len_b
        if not (a_left or b_left):
            break
        short = short or not (a_left and b_left)
        if a_left and (not b_left or na < nb or (na == nb and rng.randrange(2) == 0)):
            item = a[pa]
            pa += 1
            na += 1
            teams.append(name_a)
        else:
            item = b[pb]
            pb += 1
            nb += 1
            teams.append(name_b)
        placed.add(item)
        items.append(item)
    depth = _contest_depth(len(items), short, (na, nb))
    return Interleaving(tuple(items), tuple(teams), "team_draft_v1", contest_depth=depth)

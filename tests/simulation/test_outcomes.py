"""The fast path's outcomes apply the analysis's credit rules: hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from interleave_sdk.errors import UnknownCreditRuleError
from interleave_sdk.simulation.outcomes import Impressions, common_prefix

# Two impressions of three slots. Row 0: A, B, A with a common prefix of 1 (the first slot).
# Row 1: B, A, B with no common prefix. A click on every slot but the last of row 1.
TEAMS = np.array([[1, -1, 1], [-1, 1, -1]])
CLICKS = np.array([[True, True, False], [True, True, False]])


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(["x", "y"], ["x", "y"], 2), (["x", "y"], ["x", "z"], 1), (["x"], ["y"], 0), ([], ["y"], 0)],
)
def test_common_prefix_counts_identical_top_slots(a: list[str], b: list[str], expected: int) -> None:
    """The common prefix is the run of equal ids from the top."""
    assert common_prefix(a, b) == expected


def test_competitive_credit_ignores_clicks_in_the_common_prefix() -> None:
    """Row 0's click on the shared first slot earns nothing, so B's click wins it."""
    impressions = Impressions(TEAMS, np.array([1, 0]))
    assert impressions.codes(CLICKS, "competitive").tolist() == [-1, 0]


def test_team_draft_credit_counts_every_click() -> None:
    """Under team_draft the shared slot counts for its drafter, and row 0 ties."""
    impressions = Impressions(TEAMS, np.array([1, 0]))
    assert impressions.codes(CLICKS, "team_draft").tolist() == [0, 0]


def test_identical_lists_always_tie_under_competitive_credit() -> None:
    """A prefix covering the whole list leaves no slot able to earn credit."""
    impressions = Impressions(TEAMS, np.array([3, 3]))
    assert not impressions.codes(np.ones_like(CLICKS), "competitive").any()


def test_padding_slots_never_earn_credit() -> None:
    """A click flagged past the end of a short list (team 0) is ignored."""
    impressions = Impressions(np.array([[1, 0]]), np.array([0]))
    assert impressions.codes(np.array([[False, True]]), "team_draft").tolist() == [0]


def test_unknown_credit_rule_is_refused_with_the_valid_names() -> None:
    """Credit names resolve through the analysis registry."""
    with pytest.raises(UnknownCreditRuleError, match="competitive"):
        Impressions(TEAMS, np.array([0, 0])).eligible("first_click")

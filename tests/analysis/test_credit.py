"""Credit rules on hand-computed impressions: who earns what, and ties."""

from __future__ import annotations

import pytest

from interleave_sdk.analysis import available_credit_rules, get_credit_rule
from interleave_sdk.analysis.outcomes import OUTCOME_COLUMNS
from interleave_sdk.errors import UnknownCreditRuleError

from .conftest import event, events, rec

# A and B rank x1 first and x2 second; then they differ. Team Draft shows x1 (A), x2 (B), x3 (A),
# x4 (B): the common prefix is two slots long.
SHARED_PREFIX = [("x1", "A", 1, 1), ("x2", "B", 2, 2), ("x3", "A", 3, None), ("x4", "B", None, 3)]
IDENTICAL = [("y1", "B", 1, 1), ("y2", "A", 2, 2), ("y3", "B", 3, 3)]


def outcome_of(result, ranking_id="r1"):
    row = result.outcomes.set_index("ranking_id").loc[ranking_id]
    return row["credit_a"], row["credit_b"], row["outcome"], bool(row["clicked"])


@pytest.mark.parametrize("credit", ["competitive", "team_draft"])
def test_identical_lists_always_tie(run, credit):
    """Identical arms tie under every rule when the rule ignores shared placements."""
    result = run(
        [rec("r1", "u1", 0, IDENTICAL)],
        events(event("u1", "y1", 5, rid="r1"), event("u1", "y3", 6, rid="r1")),
        credit=credit,
    )
    a, b, outcome, clicked = outcome_of(result)
    assert clicked
    if credit == "competitive":
        assert (a, b, outcome) == (0.0, 0.0, "tie")
    else:  # team_draft credits y1 and y3 to B, who drafted both
        assert (a, b, outcome) == (0.0, 2.0, "B")


def test_competitive_prefix_is_neutral(run):
    """Clicks on the common prefix credit no one under competitive; x3 still wins for A."""
    fb = events(
        event("u1", "x1", 5, rid="r1"),
        event("u1", "x2", 6, rid="r1"),
        event("u1", "x3", 7, rid="r1"),
    )
    result = run([rec("r1", "u1", 0, SHARED_PREFIX)], fb, credit="competitive")
    assert outcome_of(result) == (1.0, 0.0, "A", True)
    assert result.outcomes.loc[0, "contested_slots"] == 2


def test_team_draft_counts_every_click_for_its_drafter(run):
    """Under team_draft x1 and x3 count for A, x2 for B."""
    fb = events(
        event("u1", "x1", 5, rid="r1"),
        event("u1", "x2", 6, rid="r1"),
        event("u1", "x3", 7, rid="r1"),
    )
    result = run([rec("r1", "u1", 0, SHARED_PREFIX)], fb, credit="team_draft")
    assert outcome_of(result) == (2.0, 1.0, "A", True)


def test_prefix_only_clicks_are_a_clicked_tie(run):
    """A click only on the shared prefix is counted as a clicked impression that ties."""
    result = run([rec("r1", "u1", 0, SHARED_PREFIX)], events(event("u1", "x2", 5, rid="r1")))
    assert outcome_of(result) == (0.0, 0.0, "tie", True)


@pytest.mark.parametrize(
    ("negative_counts", "expected"),
    [(False, (0.0, 1.0, "B", True)), (True, (-1.0, 1.0, "B", True))],
)
def test_negative_feedback_counts_against_drafter_only_when_asked(run, negative_counts, expected):
    """A 'nope' on A's x3 subtracts from A only with negative_counts."""
    fb = events(event("u1", "x3", 5, "nope", "r1"), event("u1", "x4", 6, "like", "r1"))
    result = run([rec("r1", "u1", 0, SHARED_PREFIX)], fb, negative_counts=negative_counts)
    assert outcome_of(result) == expected


def test_negative_alone_marks_clicked_only_when_counted(run):
    """An impression with only a negative event is unclicked unless negatives count."""
    fb = events(event("u1", "x3", 5, "nope", "r1"))
    assert outcome_of(run([rec("r1", "u1", 0, SHARED_PREFIX)], fb))[3] is False
    counted = run([rec("r1", "u1", 0, SHARED_PREFIX)], fb, negative_counts=True)
    assert outcome_of(counted) == (-1.0, 0.0, "B", True)


def test_double_click_on_one_item_counts_once(run):
    """Two clicks on the same item of one impression are one point."""
    fb = events(
        event("u1", "x3", 5, rid="r1"),
        event("u1", "x3", 9, rid="r1"),
        event("u1", "x4", 6, rid="r1"),
    )
    result = run([rec("r1", "u1", 0, SHARED_PREFIX)], fb, credit="team_draft")
    assert outcome_of(result) == (1.0, 1.0, "tie", True)


def test_unclicked_impressions_are_kept_as_ties(run):
    """Every interleaved impression gets a row; one without feedback is an unclicked tie."""
    result = run([rec("r1", "u1", 0, SHARED_PREFIX), rec("r2", "u2", 1, IDENTICAL)], events())
    assert list(result.outcomes["ranking_id"]) == ["r1", "r2"]
    assert list(result.outcomes["outcome"]) == ["tie", "tie"]
    assert not result.outcomes["clicked"].any()
    assert list(result.outcomes["first_team"]) == ["A", "B"]
    assert list(result.outcomes["slots"]) == [4, 3]
    assert list(result.outcomes["contested_slots"]) == [2, 0]


def test_outcomes_follow_contract_columns(run):
    """The outcomes frame has exactly the contract's columns and dtypes."""
    result = run([rec("r1", None, 0, SHARED_PREFIX)], events())
    assert list(result.outcomes.columns) == list(OUTCOME_COLUMNS)
    assert str(result.outcomes["ts"].dtype) == "datetime64[us, UTC]"
    assert result.outcomes.loc[0, "user_id"] is None


def test_registry_lists_both_rules():
    """Both rules are registered under their documented names."""
    assert available_credit_rules() == ("competitive", "team_draft")


def test_unknown_rule_lists_valid_names():
    """An unknown credit rule names the valid ones."""
    with pytest.raises(UnknownCreditRuleError, match="competitive, team_draft"):
        get_credit_rule("first_click")

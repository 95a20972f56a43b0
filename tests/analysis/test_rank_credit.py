"""Optimized lists are credited by rank difference, chosen per impression from the logged method."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from interleave_sdk.analysis.pipeline import attribute
from interleave_sdk.analysis.rank_credit import RANK_CREDITS, delta
from interleave_sdk.analysis.testing import (
    synthetic_feedback,
    synthetic_rankings,
    write_json_lines,
)

from .conftest import event, events, rec


def optimized(ranking_id: str, items: list, method: str = "optimized_v1", k: int | None = 2) -> dict:
    record = rec(ranking_id, "u1", 0, items, method=method)
    record["k"] = k
    return record


def test_linear_credit_is_the_rank_difference(run):
    """A click on B's top item, absent from A's top 2, gives B rank_A - rank_B = 3 - 1 = 2."""
    log = [optimized("r1", [("x", "A", 1, 3), ("y", "B", None, 1)])]
    result = run(log, events(event("u1", "y", 5, rid="r1")))
    row = result.outcomes.iloc[0]
    assert (row["credit_a"], row["credit_b"], row["outcome"]) == (0.0, 2.0, "B")


def test_inverse_credit_uses_reciprocal_ranks(run):
    """``optimized_inverse_v1``: a click on (rank_A 1, rank_B 2) gives A 1/1 - 1/2."""
    log = [optimized("r1", [("x", "A", 1, 2), ("y", "B", 2, 1)], method="optimized_inverse_v1")]
    result = run(log, events(event("u1", "x", 5, rid="r1")))
    row = result.outcomes.iloc[0]
    assert row["credit_a"] == pytest.approx(0.5)
    assert (row["credit_b"], row["outcome"]) == (0.0, "A")


def test_ranks_below_k_are_capped_at_k_plus_one(run):
    """Rank 9 in B with k = 2 counts as rank 3, the value the method solved with."""
    log = [optimized("r1", [("x", "A", 1, 9), ("y", "B", 2, 1)])]
    result = run(log, events(event("u1", "x", 5, rid="r1")))
    assert result.outcomes.iloc[0]["credit_a"] == 2.0


def test_missing_k_falls_back_to_the_list_length(run):
    """Without a usable ``k`` the cap is the number of shown items plus one."""
    log = [optimized("r1", [("x", "A", 1, None), ("y", "B", None, 1)], k=None)]
    log[0]["k"] = "ten"
    result = run(log, events(event("u1", "x", 5, rid="r1")))
    assert result.outcomes.iloc[0]["credit_a"] == 2.0


def test_team_draft_lines_keep_the_credit_rule(run):
    """In one log, a team_draft_v1 line is credited by team, an optimized_v1 line by rank."""
    items = [("x", "A", 1, 4), ("y", "B", 3, 1)]
    log = [rec("r1", "u1", 0, items), optimized("r2", items, k=4)]
    result = run(
        log, events(event("u1", "y", 5, rid="r1"), event("u1", "y", 6, rid="r2"))
    )
    by_id = result.outcomes.set_index("ranking_id")
    assert (by_id.loc["r1", "credit_a"], by_id.loc["r1", "credit_b"]) == (0.0, 1.0)
    assert (by_id.loc["r2", "credit_a"], by_id.loc["r2", "credit_b"]) == (0.0, 2.0)


def test_negative_feedback_subtracts_the_rank_credit(run):
    """With negative_counts a 'nope' on an item A ranked higher takes A's credit away."""
    log = [optimized("r1", [("x", "A", 1, 3), ("y", "B", 3, 1)])]
    result = run(log, events(event("u1", "x", 5, "nope", rid="r1")), negative_counts=True)
    row = result.outcomes.iloc[0]
    assert (row["credit_a"], row["outcome"]) == (-2.0, "B")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A seeded log mixing team_draft_v1, optimized_v1 and optimized_inverse_v1 lines."""
    rng = random.Random(3)
    records = list(synthetic_rankings(1200, k=6, n_users=100, n_catalog=40, seed=5))
    for record in records:
        roll = rng.random()
        if roll < 0.35:
            record["method"] = "optimized_v1"
        elif roll < 0.7:
            record["method"] = "optimized_inverse_v1"
        record["k"] = rng.choice([6, 6, 6, 8, None, "6"])
    folder = tmp_path_factory.mktemp("mixed")
    write_json_lines(folder / "log.jsonl", records)
    return folder / "log.jsonl", synthetic_feedback(records, 2500, seed=9)


@pytest.mark.parametrize("negative_counts", [False, True])
def test_duckdb_equals_pandas_on_a_mixed_log(mixed, negative_counts):
    """Both engines credit every kind of line identically, row for row."""
    path, feedback = mixed
    sql, _ = attribute(path, feedback, engine="duckdb", negative_counts=negative_counts)
    ref, _ = attribute(path, feedback, engine="pandas", negative_counts=negative_counts)
    pd.testing.assert_frame_equal(sql.outcomes, ref.outcomes)
    pd.testing.assert_frame_equal(sql.events, ref.events)
    assert sql.data_quality == ref.data_quality
    clicked = sql.outcomes[sql.outcomes["clicked"]]
    assert set(clicked["outcome"]) == {"A", "B", "tie"}
    # Rank credit is not an integer count: the inverse lines show it.
    fractional = clicked["credit_a"] % 1 != 0
    assert fractional.any()


def test_vectorised_delta_matches_each_definition():
    """``delta`` applies each method's own function and leaves other methods undefined."""
    import numpy as np

    methods = np.array(["optimized_v1", "optimized_inverse_v1", "team_draft_v1"], dtype=object)
    out = delta(methods, np.array([1.0, 1.0, 1.0]), np.array([np.nan, 4.0, 2.0]), np.array([3, 3, 3]))
    assert out[0] == 4.0 - 1.0
    assert out[1] == pytest.approx(1.0 - 1.0 / 4.0)
    assert np.isnan(out[2])
    assert sorted(RANK_CREDITS) == ["optimized_inverse_v1", "optimized_v1"]

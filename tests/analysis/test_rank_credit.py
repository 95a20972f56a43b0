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
    ranks = (np.array([1.0, 1.0, 1.0]), np.array([np.nan, 4.0, 2.0]), np.array([3, 3, 3]))
    out = delta(methods, *ranks, position=np.array([1, 2, 3]), contest=np.array([3, 3, 3]))
    assert out[0] == 4.0 - 1.0
    assert out[1] == pytest.approx(1.0 - 1.0 / 4.0)
    assert np.isnan(out[2])
    assert sorted(RANK_CREDITS) == ["optimized_inverse_v1", "optimized_v1"]


def test_a_click_past_the_contest_earns_no_rank_credit():
    """Rank credit is zero past the impression's contest_depth (where an arm ran out)."""
    import numpy as np

    methods = np.array(["optimized_v1", "optimized_v1"], dtype=object)
    out = delta(
        methods,
        np.array([1.0, 5.0]),
        np.array([np.nan, np.nan]),
        np.array([8, 8]),
        position=np.array([1, 5]),
        contest=np.array([4, 4]),
    )
    assert out.tolist() == [8.0, 0.0]


def optimized_log(n: int, seed: int) -> list[dict]:
    """``n`` optimized_v1 lines over a few overlapping list pairs (few LP patterns to solve)."""
    from interleave_sdk.analysis.testing import merged_record
    from interleave_sdk.interleaving.optimized import OptimizedInterleaver, warm_up

    from .conftest import at

    rng = random.Random(seed)
    assert warm_up()  # SciPy loaded first: no list falls back while it loads
    method = OptimizedInterleaver("optimized_v1", "linear", time_budget_ms=5000)  # no time fallback
    pairs = []
    for _ in range(12):
        a = rng.sample(range(30), 5)
        keep = rng.randrange(4)
        b = a[:keep] + [x for x in rng.sample(range(30), 10) if x not in a[:keep]][: 5 - keep]
        pairs.append({"A": [f"v{x}" for x in a], "B": [f"v{x}" for x in b]})
    records = []
    for i in range(n):
        lists = pairs[rng.randrange(len(pairs))]
        merged = method(lists, 5, random.Random(rng.getrandbits(64)))
        records.append(merged_record(f"r{i:06d}", f"u{i}", at(i), lists, merged, k=5))
    return records


def clicks_on(records: list[dict], p_click, seed: int):
    """Each shown item clicked with ``p_click(record, item)``, independently."""
    rng = random.Random(seed)
    rows = [
        event(r["user_id"], item["item_id"], 1 + int(r["ranking_id"][1:]), rid=r["ranking_id"])
        for r in records
        for item in r["items"]
        if rng.random() < p_click(r, item)
    ]
    return events(*rows)


@pytest.fixture(scope="module")
def optimized_lines():
    return optimized_log(6000, seed=4)


def credit_difference(tmp_path, records, feedback):
    path = write_json_lines(tmp_path / "log.jsonl", records)
    result, _ = attribute(path, feedback, engine="duckdb", credit="team_draft")
    clicked = result.outcomes[result.outcomes["clicked"]]
    diff = clicked["credit_a"] - clicked["credit_b"]
    return float(diff.mean()), float(diff.std(ddof=1) / len(diff) ** 0.5), len(diff)


@pytest.mark.slow
def test_random_clicks_on_optimized_lists_credit_no_one(tmp_path, optimized_lines):
    """Clicks blind to the items: the mean credit difference is 0 within 3 standard errors."""
    served = {r["method"] for r in optimized_lines}
    assert served == {"optimized_v1"}
    blind = clicks_on(optimized_lines, lambda record, item: 0.3, 1)
    mean, se, n = credit_difference(tmp_path, optimized_lines, blind)
    assert n > 4000
    assert abs(mean) < 3 * se


@pytest.mark.slow
def test_clicks_that_prefer_a_show_up_in_the_credit(tmp_path, optimized_lines):
    """The same check has power: clicks on A's top-2 items make the difference clearly positive."""

    def likes_a(record, item):
        rank = item["ranks"]["A"]
        return 0.6 if rank is not None and rank <= 2 else 0.2

    mean, se, _ = credit_difference(tmp_path, optimized_lines, clicks_on(optimized_lines, likes_a, 2))
    assert mean > 5 * se

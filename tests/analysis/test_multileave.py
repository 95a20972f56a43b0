"""Multileaving analysis: per-arm credit, pairwise outcomes, Holm-corrected preference matrix."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.preference import holm, preference_from_credits
from interleave_sdk.analysis.testing import arms_record, write_json_lines

from .conftest import at, event, events, rec

ARMS3 = ("A", "B", "C")


def three(rid: str, user: str, seconds: float, items: list) -> dict:
    """A three-arm line; items as (item_id, team, rank A, rank B, rank C)."""
    return arms_record(
        rid, user, at(seconds), [(i, t, {"A": a, "B": b, "C": c}) for i, t, a, b, c in items]
    )


ITEMS = [("x", "A", 1, 2, 3), ("y", "B", 2, 1, 2), ("z", "C", 3, 3, 1)]


def holm_by_definition(p: list[float], alpha: float) -> set[int]:
    """Holm's procedure as a rejection rule: step down while p_(i) <= alpha / (m - i)."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    rejected: set[int] = set()
    for step, i in enumerate(order):
        if p[i] > alpha / (len(p) - step):
            break
        rejected.add(i)
    return rejected


@pytest.mark.parametrize("seed", range(20))
def test_holm_matches_the_step_down_procedure(seed):
    """Adjusted p <= alpha exactly where Holm's procedure rejects, at every alpha."""
    rng = random.Random(seed)
    p = [rng.choice([rng.random(), rng.random() / 50, 0.01, 0.02]) for _ in range(rng.randint(1, 8))]
    adjusted = holm(p)
    for alpha in (0.001, 0.01, 0.0125, 0.02, 0.04, 0.05, 0.1, 0.5):
        assert {i for i, q in enumerate(adjusted) if q <= alpha} == holm_by_definition(p, alpha)
    assert all(q >= x for q, x in zip(adjusted, p, strict=True))


def test_holm_on_rows_equals_holm_per_row():
    """The vectorised form the simulator uses gives each family its own correction."""
    rng = np.random.default_rng(1)
    p = rng.random((50, 6)) ** 3
    assert np.array_equal(holm(p), np.array([holm(row) for row in p]))


def test_each_arm_earns_its_own_drafted_clicks(tmp_path, engine):
    """Clicks on B's and C's items credit B and C; A beats nobody; the matrix is antisymmetric."""
    log = [three(f"r{u}", f"u{u}", u, ITEMS) for u in range(3)]
    clicks = [event(f"u{u}", "y", u + 1, rid=f"r{u}") for u in range(3)]
    clicks.append(event("u0", "z", 2, rid="r0"))
    path = write_json_lines(tmp_path / "log.jsonl", log)
    result = analyze(path, events(*clicks), engine=engine, n_boot=10)
    m = result.as_dict()["preference_matrix"]
    assert (m["B"]["A"]["wins"], m["B"]["A"]["losses"], m["B"]["A"]["ties"]) == (3, 0, 0)
    assert (m["C"]["A"]["wins"], m["C"]["A"]["losses"], m["C"]["A"]["ties"]) == (1, 0, 2)
    assert (m["B"]["C"]["wins"], m["B"]["C"]["losses"], m["B"]["C"]["ties"]) == (2, 0, 1)
    for row, col in itertools.permutations(ARMS3, 2):
        assert m[row][col]["wins"] == m[col][row]["losses"]
    assert result.data_quality["multileaved_rankings"] == 3
    assert result.data_quality["invalid_items"] == 0


def test_preference_matrix_json_shape(tmp_path):
    """row -> column -> wins, losses, ties, p_value, p_holm for every ordered pair; best_arm key."""
    log = [three(f"r{u}", f"u{u}", u, ITEMS) for u in range(12)]
    clicks = [event(f"u{u}", "z", u + 1, rid=f"r{u}") for u in range(12)]
    path = write_json_lines(tmp_path / "log.jsonl", log)
    out = json.loads(json.dumps(analyze(path, events(*clicks), n_boot=10).as_dict()))
    matrix = out["preference_matrix"]
    assert set(matrix) == set(ARMS3)
    for row in ARMS3:
        assert set(matrix[row]) == set(ARMS3) - {row}
        for cell in matrix[row].values():
            assert set(cell) == {"wins", "losses", "ties", "p_value", "p_holm"} | {
                "sequential_p",
                "sequential_p_holm",
            }
            assert 0.0 <= cell["p_value"] <= cell["p_holm"] <= 1.0
    # C won every user against both others: 12 of 12 gives p = 2 / 2**12 per pair.
    assert matrix["C"]["A"]["p_value"] == pytest.approx(2 / 2**12)
    assert out["best_arm"] == "C"


def test_no_best_arm_without_significance(tmp_path):
    """One user's clicks decide nothing: best_arm is null."""
    path = write_json_lines(tmp_path / "log.jsonl", [three("r1", "u1", 0, ITEMS)])
    out = analyze(path, events(event("u1", "x", 1, rid="r1")), n_boot=10).as_dict()
    assert out["best_arm"] is None
    assert out["preference_matrix"]["A"]["B"]["wins"] == 1


def test_two_arm_json_carries_the_verdict_as_a_one_pair_matrix(tmp_path):
    """Two arms: the matrix is the verdict's wins, losses and p-value; best_arm is the winner."""
    log = [rec(f"r{u}", f"u{u}", u, [("a", "A", 1, 2), ("b", "B", 2, 1)]) for u in range(10)]
    clicks = [event(f"u{u}", "a", u + 1, rid=f"r{u}") for u in range(10)]
    path = write_json_lines(tmp_path / "log.jsonl", log)
    out = analyze(path, events(*clicks), n_boot=10).as_dict()
    cell = out["preference_matrix"]["A"]["B"]
    assert (cell["wins"], cell["losses"], cell["ties"]) == (out["wins_a"], out["wins_b"], out["ties"])
    assert cell["p_value"] == cell["p_holm"] == out["p_value"]
    assert out["best_arm"] == out["winner"] == "A"
    assert "multileaved_rankings" not in out["data_quality"]


def test_users_are_the_unit_by_default():
    """A user's impressions are summed before the pair is decided; per impression they are not."""
    credits = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    clicked = np.ones(3, dtype=bool)
    by_user = preference_from_credits(("A", "B"), credits, clicked, np.array([0, 0, 0]))
    by_imp = preference_from_credits(("A", "B"), credits, clicked, np.arange(3), unit="impression")
    assert (by_user.matrix["A"]["B"].wins, by_user.matrix["A"]["B"].ties) == (0, 1)
    assert (by_imp.matrix["A"]["B"].wins, by_imp.matrix["A"]["B"].losses) == (1, 2)


def test_pairs_only_count_impressions_showing_both_arms():
    """An impression without arm C (NaN credit) leaves every pair with C out."""
    credits = np.array([[1.0, 0.0, np.nan], [0.0, 0.0, 1.0]])
    pref = preference_from_credits(ARMS3, credits, np.ones(2, dtype=bool), np.arange(2))
    assert pref.matrix["A"]["B"].wins == 1
    assert (pref.matrix["C"]["A"].wins, pref.matrix["C"]["A"].ties) == (1, 0)


def test_report_and_cli_render_the_matrix(tmp_path, capsys):
    """The Markdown report and the CLI's text output both show the three-arm matrix."""
    from interleave_sdk.analysis.report import write_report
    from interleave_sdk.cli import main

    log = [three(f"r{u}", f"u{u}", u, ITEMS) for u in range(4)]
    clicks = [event(f"u{u}", "y", u + 1, rid=f"r{u}") for u in range(4)]
    path = write_json_lines(tmp_path / "log.jsonl", log)
    result = analyze(path, events(*clicks), n_boot=10)
    text = write_report(result, tmp_path / "report").read_text(encoding="utf-8")
    assert "## Preference matrix" in text
    assert "| B | 4/0/0 (p_holm 0.375) | — | 4/0/0 (p_holm 0.375) |" in text
    feedback = tmp_path / "feedback.csv"
    events(*clicks).to_csv(feedback, index=False)
    assert main(["analyze", "--exposures", str(path), "--feedback", str(feedback), "--n-boot", "10"]) == 0
    out = capsys.readouterr().out
    assert "Preference matrix (unit: user" in out
    assert "best arm: no arm beats every other significantly" in out


def test_lines_of_the_decorated_handler_with_three_arms(tmp_path):
    """The engine's own three-arm lines: C's items get the clicks, C beats A and B."""
    import pandas as pd

    from interleave_sdk import StaticConfig, interleaved, last_ranking_id

    def arm(prefix: str):
        return lambda user_id: pd.DataFrame({"item_id": [f"{prefix}{i}" for i in range(4)]})

    lines: list[dict] = []

    @interleaved(
        rankers={"B": arm("b"), "C": arm("c")},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0),
        sink=lines.append,
        metrics=False,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return arm("a")(user_id)

    clicks = []
    for u in range(30):
        frame = recommend(f"u{u}")
        rid = last_ranking_id()
        shown_at = lines[-1]["ts"].replace("Z", "+00:00")
        clicks += [
            {"user_id": f"u{u}", "item_id": i, "ts": shown_at, "kind": "click", "ranking_id": rid}
            for i in frame["item_id"]
            if i.startswith("c")
        ]
    path = write_json_lines(tmp_path / "log.jsonl", lines)
    out = analyze(path, events(*clicks), n_boot=10).as_dict()
    assert {line["served"] for line in lines} == {"interleaved"}
    assert set(out["preference_matrix"]) == set(ARMS3)
    assert out["preference_matrix"]["C"]["A"]["wins"] == 30
    assert out["best_arm"] == "C"
    assert out["data_quality"]["multileaved_rankings"] == 30


def test_multileaving_sample_finds_the_order_it_simulates(run_sample):
    """samples/multileaving.py (shown in docs/multileaving.md) prints a matrix with C best."""
    out = run_sample("multileaving.py")
    assert out.startswith("Preference matrix (unit: user;")
    assert "best arm: C beats every other arm" in out
    page = (Path(__file__).parents[2] / "docs" / "multileaving.md").read_text(encoding="utf-8")
    assert f"```text\n{out}```" in page  # the page shows what the sample prints


def test_both_engines_attribute_multileaved_lines_alike(tmp_path):
    """Random three-arm lines with messy feedback: DuckDB and pandas give the same outcomes."""
    import pandas as pd

    from interleave_sdk.analysis.pipeline import attribute
    from interleave_sdk.analysis.testing import merged_record, synthetic_feedback
    from interleave_sdk.interleaving.api import interleave

    rng = random.Random(2)
    records = []
    for n in range(400):
        lists = {arm: [f"v{x}" for x in rng.sample(range(20), 5)] for arm in ARMS3}
        merged = interleave("team_draft_v1", lists, 6, rng)
        records.append(merged_record(f"r{n}", f"u{rng.randrange(60)}", at(3 * n), lists, merged))
    path = write_json_lines(tmp_path / "log.jsonl", records)
    feedback = synthetic_feedback(records, 900, seed=3)
    kwargs = {"credit": "competitive", "negative_counts": True, "window_hours": 1.0}
    sql, _ = attribute(path, feedback, engine="duckdb", **kwargs)
    ref, _ = attribute(path, feedback, engine="pandas", **kwargs)
    pd.testing.assert_frame_equal(sql.events, ref.events)
    pd.testing.assert_frame_equal(sql.outcomes, ref.outcomes)
    assert set(sql.events["status"]) >= {"ranking_id", "window", "before_exposure"}
    assert len(sql.outcomes) == 3 * 400  # one row per impression and pair
    assert (sql.outcomes["credit_a"] + sql.outcomes["credit_b"]).abs().sum() > 100


def test_filters_select_multileaved_lines_too(tmp_path):
    """experiment / since select the three-arm lines as they select two-arm ones."""
    log = [three(f"r{u}", f"u{u}", 100 * u, ITEMS) for u in range(6)]
    clicks = [event(f"u{u}", "z", 100 * u + 1, rid=f"r{u}") for u in range(6)]
    path = write_json_lines(tmp_path / "log.jsonl", log)
    everything = analyze(path, events(*clicks), n_boot=10).as_dict()
    assert everything["preference_matrix"]["C"]["A"]["wins"] == 6
    later = analyze(path, events(*clicks), n_boot=10, since=at(250)).as_dict()
    assert later["preference_matrix"]["C"]["A"]["wins"] == 3
    other = analyze(path, events(*clicks), n_boot=10, experiment="elsewhere").as_dict()
    assert set(other["preference_matrix"]) == {"A", "B"}
    assert other["best_arm"] is None

"""One pipeline for any number of arms: names are data, and every output gives one answer."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.report import write_report
from interleave_sdk.analysis.testing import merged_record, synthetic_feedback, write_json_lines
from interleave_sdk.cli import main
from interleave_sdk.interleaving.api import interleave

from .conftest import at


def traffic(arms: tuple[str, ...], n: int = 300, seed: int = 4) -> tuple[list[dict], pd.DataFrame]:
    """Team Draft lines over ``arms`` and messy feedback; the last arm's items get extra clicks."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        lists = {arm: [f"v{x}" for x in rng.sample(range(12), 6)] for arm in arms}
        merged = interleave("team_draft_v1", lists, 6, rng)
        records.append(merged_record(f"r{i}", f"u{rng.randrange(80)}", at(5 * i), lists, merged))
    feedback = synthetic_feedback(records, 700, seed=seed)
    best = arms[-1]
    extra = [
        {
            "user_id": r["user_id"],
            "item_id": item["item_id"],
            "ts": r["ts"].replace("Z", "+00:00"),
            "kind": "click",
            "ranking_id": r["ranking_id"],
        }
        for r in records
        for item in r["items"][:3]
        if item["source_ranker"] == best
    ]
    return records, pd.concat([feedback, pd.DataFrame(extra)], ignore_index=True)


def renamed(records: list[dict], names: dict[str, str]) -> list[dict]:
    """The same lines with every arm renamed (teams, ranks keys, arms object)."""
    text = json.dumps(records)
    for old, new in names.items():
        text = text.replace(f'"source_ranker": "{old}"', f'"source_ranker": "{new}"')
        text = text.replace(f'"{old}": ', f'"{new}": ')
    return json.loads(text)


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_arms_named_base_and_cand_give_the_numbers_of_a_and_b(tmp_path, engine):
    """Two arms called base/cand: every statistic equals the same traffic called A/B."""
    records, feedback = traffic(("A", "B"))
    ab = write_json_lines(tmp_path / "ab.jsonl", records)
    named = write_json_lines(tmp_path / "named.jsonl", renamed(records, {"A": "base", "B": "cand"}))
    first = analyze(ab, feedback, engine=engine, n_boot=50, series_points=5).as_dict()
    second = analyze(named, feedback, engine=engine, n_boot=50, series_points=5).as_dict()
    names = {"A": "base", "B": "cand"}
    assert second["arms"] == ["base", "cand"]
    assert first["impressions"] > 50 and first["winner"] == "B"
    for key, value in first.items():
        if key in ("arms", "parameters", "pairs", "preference_matrix"):
            continue
        if key in ("winner", "best_arm", "sequential_best_arm"):
            assert second[key] == names.get(value, value), key
        elif key == "sequential":
            assert second[key] == {**value, "decision": names.get(value["decision"], value["decision"])}
        else:
            assert second[key] == value, key
    assert second["preference_matrix"]["cand"]["base"] == first["preference_matrix"]["B"]["A"]


def test_a_three_arm_log_gives_one_answer_everywhere(tmp_path, capsys):
    """CLI table, JSON and report and the Python API agree on best_arm; nothing is 'unmatched'."""
    records, feedback = traffic(("A", "B", "C"), n=400)
    log = write_json_lines(tmp_path / "log.jsonl", records)
    fb = tmp_path / "feedback.csv"
    feedback.to_csv(fb, index=False)
    result = analyze(log, feedback, n_boot=50)
    api = result.as_dict()
    assert api["best_arm"] == "C" == api["winner"] == result.verdict.winner
    assert api["sequential"]["decision"] in ("C", "continue")
    assert api["sequential"]["decision"] == (api["sequential_best_arm"] or "continue")
    assert result.matching["unmatched"] < result.matching["by_ranking_id"]
    assert "wins_a" not in api and len(api["pairs"]) == 3

    base = ["analyze", "--exposures", str(log), "--feedback", str(fb), "--n-boot", "50"]
    assert main([*base, "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert (cli["best_arm"], cli["winner"], cli["preference_matrix"]) == (
        api["best_arm"],
        api["winner"],
        api["preference_matrix"],
    )
    assert cli["matching"] == api["matching"]

    assert main([*base, "--report", str(tmp_path / "report")]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    head = next(n for n, line in enumerate(lines) if line.startswith("Multileaving verdict, 3 arms"))
    assert lines[head + 1].split()[:4] == ["best", "arm", "C", "beats"]  # leads, after health
    assert "winner" not in table.split("Preference matrix")[0]
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "Users prefer **C** to every other arm" in report
    assert "No clicked interleaved impressions" not in report
    assert "## Preference matrix" in report and "### A against B" in report
    for n in (1, 2, 3):
        assert (tmp_path / "report" / f"pair{n}_cumulative_delta_ab.png").stat().st_size > 0


def test_a_three_arm_report_from_the_api_matches_the_json(tmp_path):
    """write_report on the API's result names the JSON's best arm and each pair's winner."""
    records, feedback = traffic(("A", "B", "C"), n=400)
    result = analyze(write_json_lines(tmp_path / "log.jsonl", records), feedback, n_boot=50)
    text = write_report(result, tmp_path / "r").read_text(encoding="utf-8")
    for pair in result.as_dict()["pairs"]:
        assert f"### {pair['arm_a']} against {pair['arm_b']}" in text
    assert f"**{result.preference.best_arm}**" in text

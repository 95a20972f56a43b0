"""Log schema versions: a major version the SDK does not know is refused and counted on every
engine, never analysed as a known one; the result says which versions it read."""

from __future__ import annotations

import json
import re

import pytest

from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.testing import synthetic_feedback, synthetic_rankings, write_json_lines
from interleave_sdk.analysis.versions import is_known
from interleave_sdk.cli import main

from .athena_stand_in import DuckDBAthena, FakeClock, engine_for, in_place


def future_log(tmp_path):
    """120 rankings: 40 written by a future SDK (schema 2), one by a minor revision (1.3)."""
    records = list(synthetic_rankings(120, k=6, n_users=40, seed=3))
    for line in records[:40]:
        line["schema_version"] = 2
    records[50]["schema_version"] = "1.3"
    path = write_json_lines(tmp_path / "log.jsonl", records)
    return str(path), synthetic_feedback(records, 400, seed=4)


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_future_major_version_is_refused_and_counted(tmp_path, engine):
    """Version-2 lines are neither impressions nor rankings read; they are counted and named."""
    log, feedback = future_log(tmp_path)
    result = analyze(log, feedback, engine=engine, n_boot=10, series_points=0)
    assert result.data_quality["unknown_schema"] == 40
    assert result.verdict.impressions_total == 80
    assert result.schema_versions == {"read": {"1": 79, "1.3": 1}, "refused": {"2": 40}}
    unknown = {c.name: c for c in result.health}["unknown_schema"]
    assert unknown.status == "fail" and "2 (40)" in unknown.message


def test_athena_refuses_the_same_lines(aws, tmp_path):
    """The Athena engine's SQL (run as sent on DuckDB) refuses and counts them alike."""
    log, feedback = future_log(tmp_path)
    DuckDBAthena(aws, log, tmp_path).hook(aws["athena"])
    engine = engine_for(aws, FakeClock())
    got = analyze(None, in_place(aws, feedback), engine=engine, n_boot=10, series_points=0)
    expected = analyze(log, feedback, engine="duckdb", n_boot=10, series_points=0)
    assert got.schema_versions == expected.schema_versions == {
        "read": {"1": 79, "1.3": 1},
        "refused": {"2": 40},
    }
    assert got.data_quality["unknown_schema"] == 40
    assert got.verdict == expected.verdict


def test_versions_read_are_stated_in_the_json_and_the_table(tmp_path, capsys):
    """--format json carries schema_versions; the table names the versions read and refused."""
    log, feedback = future_log(tmp_path)
    feedback.to_csv(tmp_path / "fb.csv", index=False)
    args = ["analyze", "--exposures", log, "--feedback", str(tmp_path / "fb.csv"), "--n-boot", "10"]
    assert main([*args, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["schema_versions"] == {"read": {"1": 79, "1.3": 1}, "refused": {"2": 40}}
    assert main(args) == 0
    table = capsys.readouterr().out
    assert re.search(r"log schema versions +1 \(79\), 1\.3 \(1\); refused: 2 \(40\)\n", table)


@pytest.mark.parametrize(
    ("version", "known"),
    [(None, True), ("1", True), ("1.7", True), ("2", False), ("10", False), ("v1", False)],
)
def test_only_major_version_1_is_known(version, known):
    """The major (text before the first dot) decides; a line without the field is version 1."""
    assert is_known(version) is known


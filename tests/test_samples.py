"""Samples are real programs: the ones the docs show run and do what the docs say."""

from __future__ import annotations

import ast
from collections.abc import Callable

import jsonschema
import orjson

from interleave_sdk import log_schema


def test_quickstart_serves_and_logs(run_sample: Callable[[str], str]) -> None:
    """samples/quickstart.py prints valid log lines, at least one interleaved list among them."""
    out = run_sample("quickstart.py")
    records = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(records) == 4
    validator = jsonschema.Draft202012Validator(log_schema())
    for record in records:
        validator.validate(record)
    assert {r["served"] for r in records} == {"A", "interleaved"}
    assert "source_ranker" in out


def test_flagd_sample_interleaves_only_beta_users(run_sample: Callable[[str], str]) -> None:
    """samples/openfeature/flagd_switches.py: the flagd rule interleaves beta-7 and serves A to user-42."""
    out = run_sample("openfeature/flagd_switches.py")
    records = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    validator = jsonschema.Draft202012Validator(log_schema())
    for record in records:
        validator.validate(record)
    assert [(r["user_id"], r["served"], r["config"]["source"]) for r in records] == [
        ("beta-7", "interleaved", "openfeature"),
        ("user-42", "A", "openfeature"),
    ]


def test_holdout_sample_holds_out_about_a_fifth(run_sample: Callable[[str], str]) -> None:
    """samples/holdout.py: of 1,000 sampled users about 200 are served holdout, the rest interleaved."""
    counts = ast.literal_eval(run_sample("holdout.py").strip())
    assert set(counts) == {"interleaved", "holdout"} and sum(counts.values()) == 1000
    assert 160 <= counts["holdout"] <= 240


def test_layers_sample_has_no_user_in_both(run_sample: Callable[[str], str]) -> None:
    """samples/layers.py: 200 users, each interleaved by exactly one of the two experiments."""
    assert run_sample("layers.py").strip() == "interleaved pairs: 200, users in both experiments: 0"

"""Samples are real programs: the ones the docs show run and do what the docs say."""

from __future__ import annotations

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

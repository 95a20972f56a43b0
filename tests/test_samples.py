"""Samples are real programs: the ones the docs show run and do what the docs say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema
import orjson

from interleave_sdk import log_schema

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_serves_and_logs() -> None:
    """samples/quickstart.py prints valid log lines, at least one interleaved list among them."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "samples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    records = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(records) == 4
    validator = jsonschema.Draft202012Validator(log_schema())
    for record in records:
        validator.validate(record)
    assert {r["served"] for r in records} == {"A", "interleaved"}
    assert "source_ranker" in out

"""Athena does the work: feedback read in place, results UNLOAD-ed, calls independent of rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.config import Config

from interleave_sdk.analysis.athena import AthenaEngine, FeedbackInPlace
from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.errors import AnalysisInputError

from .athena_stand_in import OUTPUT, REGION, DuckDBAthena, FakeClock, in_place
from .test_n_arms import traffic


def counted_engine(aws: dict[str, Any], calls: Counter[str]) -> AthenaEngine:
    """An engine with clients of its own (the stand-in's set-up uses others), every call counted."""
    config = Config(retries={"max_attempts": 1})
    clients = {
        name: boto3.client(name, region_name=REGION, endpoint_url=aws["url"], config=config)
        for name in ("athena", "s3")
    }
    for name, client in clients.items():
        client.meta.events.register(
            f"before-call.{name}", lambda model, **_: calls.update([model.name])
        )
    clock = FakeClock()
    return AthenaEngine(
        database="db", table="log", output=OUTPUT, client=clients["athena"], s3=clients["s3"],
        sleep=clock.sleep, clock=clock.monotonic,
    )


def run_athena(aws: dict[str, Any], folder: Path, n: int, fmt: str = "json") -> tuple[Any, Any, Counter[str]]:
    """``n`` three-arm rankings analysed on the stand-in and on DuckDB; the engine's API calls."""
    records, feedback = traffic(("A", "B", "C"), n=n)
    folder.mkdir()
    write_json_lines(folder / "log.jsonl", records)
    pattern = str(folder / "*.jsonl")
    stand_in = DuckDBAthena(aws, pattern, folder)
    calls: Counter[str] = Counter()
    engine = counted_engine(aws, calls)
    stand_in.hook(engine.client)
    source = in_place(aws, feedback, fmt)
    got = analyze(None, source, engine=engine, n_boot=20, series_points=0)
    expected = analyze(pattern, feedback, engine="duckdb", n_boot=20, series_points=0)
    return got, expected, calls


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_multileaved_log_on_athena_gives_duckdbs_matrix(aws, tmp_path, fmt):
    """Three arms on the Athena stand-in, feedback in place: DuckDB's outcomes, matrix, best arm."""
    got, expected, _ = run_athena(aws, tmp_path / "logs", 300, fmt)
    pd.testing.assert_frame_equal(got.outcomes, expected.outcomes)
    assert got.as_dict()["preference_matrix"] == expected.as_dict()["preference_matrix"]
    assert got.preference.best_arm == expected.preference.best_arm == "C"
    assert got.matching == expected.matching


def test_the_client_uploads_nothing_and_calls_do_not_grow_with_rankings(aws, tmp_path):
    """No PutObject of feedback (no PutObject at all); the same API calls at 150 and 1,500 rankings."""
    _, _, small = run_athena(aws, tmp_path / "small", 150)
    _, _, large = run_athena(aws, tmp_path / "large", 1500)
    assert small["PutObject"] == large["PutObject"] == 0
    assert small["GetQueryResults"] == large["GetQueryResults"]
    assert small == large
    assert sum(small.values()) < 100


def test_feedback_frames_are_refused_by_athena(aws):
    """A DataFrame would pass through the client: the engine names FeedbackInPlace instead."""
    engine = counted_engine(aws, Counter())
    row = {"user_id": "u", "item_id": "i", "ts": "2026-11-23T00:00:00Z", "kind": "click"}
    frame = pd.DataFrame([row])
    with pytest.raises(AnalysisInputError, match="FeedbackInPlace"):
        analyze(None, frame, engine=engine)


def test_feedback_in_place_needs_exactly_one_source():
    """table= or location=, not both and not neither; formats are named."""
    with pytest.raises(AnalysisInputError, match="exactly one"):
        FeedbackInPlace()
    with pytest.raises(AnalysisInputError, match="valid formats: json, csv"):
        FeedbackInPlace(location="s3://b/p/", format="xml")

"""The simulator drives the real decorated handler and writes real logs and feedback."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import orjson
import pandas as pd
import pytest

from interleave_sdk import log_schema
from interleave_sdk.cli import main
from interleave_sdk.observability.metrics import METRIC_UNITS
from interleave_sdk.simulation.simulator import SimulationSettings, simulate
from samples.video_recsys.handler import VideoScenario

SETTINGS = SimulationSettings(requests=120, click_model="informational", seed=3, n_boot=50, points=6)


@pytest.fixture(scope="module")
def run(small_world_scenario: VideoScenario, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("sim")
    result = simulate(small_world_scenario, SETTINGS, out)
    return {"result": result, "out": out}


def read_lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_every_request_writes_one_schema_valid_interleaved_log_line(run: dict) -> None:
    """exposures.jsonl holds one valid ranking record per request, all interleaved."""
    lines = read_lines(run["out"] / "exposures.jsonl")
    assert len(lines) == SETTINGS.requests
    validator = jsonschema.Draft202012Validator(log_schema())
    for line in lines:
        validator.validate(line)
        assert line["served"] == "interleaved"
        assert line["fallback_reason"] is None


def test_feedback_events_join_to_served_items(run: dict) -> None:
    """Each click names a ranking_id, user and item that the log shows was served, after it."""
    served = {
        line["ranking_id"]: (line["user_id"], line["ts"], {i["item_id"] for i in line["items"]})
        for line in read_lines(run["out"] / "exposures.jsonl")
    }
    events = read_lines(run["out"] / "feedback.jsonl")
    assert events, "informational users click"
    for event in events:
        assert set(event) == {"user_id", "item_id", "ts", "kind", "ranking_id"}
        user, ts, items = served[event["ranking_id"]]
        assert event["user_id"] == user
        assert event["item_id"] in items
        assert event["kind"] == "click"
        assert pd.Timestamp(event["ts"]) > pd.Timestamp(ts)
        assert event["ts"].endswith("Z")


def test_ab_run_serves_each_request_from_one_arm(run: dict) -> None:
    """The A/B log shows mode A or B per request, roughly half each, never interleaved."""
    lines = read_lines(run["out"] / "ab_exposures.jsonl")
    served = [line["served"] for line in lines]
    assert len(served) == SETTINGS.requests
    assert set(served) == {"A", "B"}
    assert 0.3 < served.count("B") / len(served) < 0.7
    assert run["result"].ab["n_a"] == served.count("A")


def test_same_seed_writes_identical_files(
    small_world_scenario: VideoScenario, run: dict, tmp_path: Path
) -> None:
    """Ranking ids, stamps, draws and clicks all come from seeds: a rerun is byte-identical."""
    simulate(small_world_scenario, SETTINGS, tmp_path)
    assert (tmp_path / "feedback.jsonl").read_bytes() == (
        run["out"] / "feedback.jsonl"
    ).read_bytes()
    measured = {"arms", "timings", "_aws", *METRIC_UNITS}  # real latencies, and their EMF copies
    again = [
        {k: v for k, v in line.items() if k not in measured}
        for line in read_lines(tmp_path / "exposures.jsonl")
    ]
    first = [
        {k: v for k, v in line.items() if k not in measured}
        for line in read_lines(run["out"] / "exposures.jsonl")
    ]
    assert again == first  # latencies are real, so arms/timings may differ


def test_cli_prints_json_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``interleave-sdk simulate --format json`` prints the analysis verdict and both runs."""
    code = main(["simulate", "--requests", "40", "--out", str(tmp_path), "--format", "json"])
    assert code == 0
    payload = orjson.loads(capsys.readouterr().out)
    assert payload["verdict"]["impressions_total"] == 40
    assert payload["verdict"]["winner"] in ("A", "B", "none")
    assert payload["ab"]["impressions"] == 40
    assert (tmp_path / "report" / "report.md").is_file()


def test_cli_prints_the_verdict_table_and_the_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Text output is the analysis's verdict table, with the sequential rows, then the story."""
    code = main(["simulate", "--requests", "30", "--no-ab", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Interleaving verdict (unit: user")
    assert "sequential decision" in out
    assert "The interleaving sequential test " in out


def test_cli_rejects_a_bad_arm_list(capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed ``--arms`` is a usage error (exit 2)."""
    assert main(["simulate", "--arms", "v1"]) == 2

"""The monitoring job (samples/lambda/monitor.py): Athena over moto, metrics to CloudWatch over HTTP."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pandas as pd
import pytest

from interleave_sdk.analysis.testing import write_json_lines

from .athena_stand_in import BUCKET, OUTPUT, REGION, DuckDBAthena, FakeClock
from .conftest import at, rec

ROOT = Path(__file__).resolve().parents[2]
#: Both slots contested: item a drafted by A, item b by B.
ITEMS = [("a", "A", 1, 2), ("b", "B", 2, 1)]
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # analyses 2026-11-24 (whole UTC day)


def load_monitor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lambda_monitor", ROOT / "samples/lambda/monitor.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def world(aws, tmp_path) -> dict[str, Any]:
    """Two days of logs; on "home" users click A's item (B is worse), on "search" B's item."""
    records, rows = [], []
    for n in range(240):
        experiment = "home" if n % 2 else "search"
        seconds = n * 720  # two days, one ranking every 12 minutes
        rid, user = f"r{n}", f"u{n % 60}"
        record = rec(rid, user, seconds, ITEMS)
        record["experiment"] = experiment
        records.append(record)
        clicked = "a" if experiment == "home" else "b"
        rows.append(
            {
                "user_id": user,
                "item_id": clicked,
                "ts": (at(seconds + 5)).isoformat(),
                "kind": "click",
                "ranking_id": rid,
            }
        )
    logs = tmp_path / "logs"
    logs.mkdir()
    write_json_lines(logs / "log.jsonl", records)
    body = pd.DataFrame(rows).to_csv(index=False).encode()
    aws["s3"].put_object(Bucket=BUCKET, Key="feedback/2026-11-24.csv", Body=body)
    DuckDBAthena(aws, str(logs / "*.jsonl"), tmp_path).hook(aws["athena"])
    aws["cloudwatch"] = boto3.client("cloudwatch", region_name=REGION, endpoint_url=aws["url"])
    return aws


def run(world: dict[str, Any], experiment: str) -> dict[str, Any]:
    monitor = load_monitor()
    settings = monitor.MonitorSettings.from_env(
        {
            "EXPERIMENT": experiment,
            "ATHENA_DATABASE": "db",
            "ATHENA_TABLE": "log",
            "ATHENA_OUTPUT": OUTPUT,
            "FEEDBACK_LOCATION": f"s3://{BUCKET}/feedback/",
            "FEEDBACK_FORMAT": "csv",
            "WINDOW_HOURS": "1",  # clicks come within seconds: every window closed by NOW
        }
    )
    clock = FakeClock()
    return monitor.run_monitor(
        settings,
        athena=world["athena"],
        s3=world["s3"],
        cloudwatch=world["cloudwatch"],
        now=NOW,
        engine_options={"sleep": clock.sleep, "clock": clock.monotonic},
    )


def published(world: dict[str, Any], experiment: str, metric: str) -> list[float]:
    """The values CloudWatch holds for one metric of one experiment, read back over HTTP."""
    stats = world["cloudwatch"].get_metric_statistics(
        Namespace="InterleaveSDK/Quality",
        MetricName=metric,
        Dimensions=[{"Name": "Experiment", "Value": experiment}],
        StartTime=NOW - timedelta(days=3),
        EndTime=NOW + timedelta(days=1),
        Period=86400,
        Statistics=["Maximum"],
    )
    return [point["Maximum"] for point in stats["Datapoints"]]


def test_a_worse_challenger_publishes_harm(world):
    """B significantly worse on yesterday's exposures: Decision -1 and Harm 1 reach CloudWatch."""
    summary = run(world, "home")
    assert summary["decision"] == "A"
    assert (summary["since"], summary["until"]) == ("2026-11-24T00:00:00+00:00", "2026-11-25T00:00:00+00:00")
    assert summary["metrics"]["Impressions"] == 60  # "home" rankings on 2026-11-24 only
    assert summary["metrics"]["DeltaAB"] == pytest.approx(0.5)  # ΔAB > 0: users prefer A
    assert published(world, "home", "Harm") == [1.0]
    assert published(world, "home", "Decision") == [-1.0]


def test_a_better_challenger_publishes_no_harm(world):
    """B significantly better: Decision +1, Harm 0, ΔAB -0.5."""
    summary = run(world, "search")
    assert summary["decision"] == "B"
    assert published(world, "search", "Harm") == [0.0]
    assert published(world, "search", "DeltaAB") == [pytest.approx(-0.5)]


def test_missing_settings_are_named():
    """Without its environment the job says which variables to set."""
    monitor = load_monitor()
    with pytest.raises(ValueError, match="ATHENA_OUTPUT, FEEDBACK_LOCATION"):
        monitor.MonitorSettings.from_env(
            {"EXPERIMENT": "home", "ATHENA_DATABASE": "db", "ATHENA_TABLE": "log"}
        )


def test_three_arms_publish_the_sequential_best_arm_and_harm(tmp_path):
    """Three arms, C best and the baseline A worst: Decision +1 (a challenger) and Harm 0; with C
    as the baseline, every other arm is worse than it: Decision -1 and Harm 1."""
    from interleave_sdk.analysis import analyze

    from .conftest import event, events
    from .test_multileave import three

    items = [("x", "A", 1, 2, 3), ("y", "B", 2, 1, 2), ("z", "C", 3, 3, 1)]
    log = [three(f"r{u}", f"u{u}", u, items) for u in range(40)]
    clicks = [event(f"u{u}", "z", u + 1, rid=f"r{u}") for u in range(40)]
    path = write_json_lines(tmp_path / "log.jsonl", log)
    # A short window: the impressions' windows have closed, so the sequential test scores them.
    summary = analyze(path, events(*clicks), n_boot=10, window_hours=0.001).as_dict()
    monitor = load_monitor()
    assert monitor.decide(summary) == summary["sequential_best_arm"] == "C"
    as_a = {d["MetricName"]: d["Value"] for d in monitor.metric_data(summary, "home", NOW, "A")}
    assert (as_a["Decision"], as_a["Harm"]) == (1.0, 0.0)
    as_c = {d["MetricName"]: d["Value"] for d in monitor.metric_data(summary, "home", NOW, "C")}
    assert (as_c["Decision"], as_c["Harm"]) == (-1.0, 1.0)
    assert as_c["PValue"] < 0.05

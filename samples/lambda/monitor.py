"""Daily quality monitor: yesterday's interleaving verdict, computed on Athena, as CloudWatch metrics.

An EventBridge schedule invokes ``handler`` once a day (template.yaml, "Quality monitoring"). It
analyses the exposures of the last ``LOOKBACK_DAYS`` whole UTC days on Athena, with the feedback
files under ``FEEDBACK_LOCATION``, and publishes per experiment:

- ``Decision``: +1 the challenger (B) wins, -1 the baseline (A) wins, 0 no decision yet;
- ``Harm``: 1 when the baseline wins, i.e. the challenger is significantly worse (the alarm);
- ``DeltaAB`` (when defined; above 0 users prefer A, below 0 B), ``PValue``, ``Impressions``
  and ``ClickedImpressions``.

The decision is the anytime-valid one when the analysis reports it (``sequential``: safe to look
at daily), otherwise the fixed-horizon verdict at the analysis' alpha. Settings come from the
environment; every client is injectable, so the job runs against any endpoint (tests use moto).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.athena import AthenaEngine, split_s3

NAMESPACE = "InterleaveSDK/Quality"
DECISION_VALUES = {"B": 1.0, "A": -1.0, "continue": 0.0}


@dataclass(frozen=True)
class MonitorSettings:
    """What to analyse and where to publish; read from the function's environment."""

    experiment: str
    database: str
    table: str
    output: str
    feedback: str
    workgroup: str = "primary"
    lookback_days: int = 1
    namespace: str = NAMESPACE
    window_hours: float = 24.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MonitorSettings:
        missing = [
            name
            for name in (
                "EXPERIMENT",
                "ATHENA_DATABASE",
                "ATHENA_TABLE",
                "ATHENA_OUTPUT",
                "FEEDBACK_LOCATION",
            )
            if not env.get(name)
        ]
        if missing:
            raise ValueError(f"monitor: set the environment variable(s) {', '.join(missing)}")
        return cls(
            experiment=env["EXPERIMENT"],
            database=env["ATHENA_DATABASE"],
            table=env["ATHENA_TABLE"],
            output=env["ATHENA_OUTPUT"],
            feedback=env["FEEDBACK_LOCATION"],
            workgroup=env.get("ATHENA_WORKGROUP") or "primary",
            lookback_days=int(env.get("LOOKBACK_DAYS") or 1),
            namespace=env.get("METRIC_NAMESPACE") or NAMESPACE,
            window_hours=float(env.get("WINDOW_HOURS") or 24),
        )


def download_feedback(s3: Any, location: str, folder: Path) -> list[str]:
    """Every feedback file (.csv, .jsonl, .parquet, ...) under an S3 prefix, copied locally."""
    bucket, prefix = split_s3(location)
    paths = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for number, obj in enumerate(page.get("Contents", [])):
            if obj["Key"].endswith("/"):
                continue
            target = folder / f"{len(paths):05d}-{number}-{Path(obj['Key']).name}"
            s3.download_file(bucket, obj["Key"], str(target))
            paths.append(str(target))
    if not paths:
        raise ValueError(f"monitor: no feedback files under {location}")
    return paths


def decide(summary: Mapping[str, Any]) -> str:
    """ "A", "B" or "continue": the sequential decision if present, else the fixed-horizon one."""
    sequential = summary.get("sequential")
    if isinstance(sequential, Mapping) and sequential.get("decision") in DECISION_VALUES:
        return str(sequential["decision"])
    winner = summary.get("winner")
    return str(winner) if winner in ("A", "B") else "continue"


def metric_data(summary: Mapping[str, Any], experiment: str, day: datetime) -> list[dict[str, Any]]:
    """The CloudWatch datums for one analysis, stamped with the end of the analysed range."""
    decision = decide(summary)
    values: dict[str, tuple[float, str]] = {
        "Decision": (DECISION_VALUES[decision], "None"),
        "Harm": (1.0 if decision == "A" else 0.0, "None"),
        "PValue": (float(summary["p_value"]), "None"),
        "Impressions": (float(summary["impressions_total"]), "Count"),
        "ClickedImpressions": (float(summary["impressions"]), "Count"),
    }
    if summary.get("delta_ab") is not None:
        values["DeltaAB"] = (float(summary["delta_ab"]), "None")
    dimensions = [{"Name": "Experiment", "Value": experiment}]
    return [
        {"MetricName": name, "Dimensions": dimensions, "Timestamp": day, "Value": value, "Unit": unit}
        for name, (value, unit) in values.items()
    ]


def run_monitor(
    settings: MonitorSettings,
    *,
    athena: Any = None,
    s3: Any = None,
    cloudwatch: Any = None,
    now: datetime | None = None,
    engine_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Analyse the last whole days on Athena and publish the metrics; returns what was published."""
    s3 = s3 or boto3.client("s3")
    cloudwatch = cloudwatch or boto3.client("cloudwatch")
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    until = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    since = until - timedelta(days=settings.lookback_days)
    engine = AthenaEngine(
        database=settings.database,
        table=settings.table,
        output=settings.output,
        workgroup=settings.workgroup,
        client=athena,
        s3=s3,
        **dict(engine_options or {}),
    )
    with tempfile.TemporaryDirectory(prefix="monitor-feedback-") as folder:
        feedback = download_feedback(s3, settings.feedback, Path(folder))
        # The sequential test scores the impressions whose attribution window closed by now.
        result = analyze(
            None,
            feedback,
            engine=engine,
            experiment=settings.experiment,
            since=since,
            until=until,
            window_hours=settings.window_hours,
            as_of=moment,
        )
    summary = result.as_dict()
    data = metric_data(summary, settings.experiment, until)
    cloudwatch.put_metric_data(Namespace=settings.namespace, MetricData=data)
    return {
        "experiment": settings.experiment,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "decision": decide(summary),
        "metrics": {datum["MetricName"]: datum["Value"] for datum in data},
    }


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled entry point: settings from the environment, clients from the defaults."""
    return run_monitor(MonitorSettings.from_env(os.environ))

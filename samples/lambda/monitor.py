"""Daily quality monitor: yesterday's interleaving verdict, computed on Athena, as CloudWatch metrics.

An EventBridge schedule invokes ``handler`` once a day (template.yaml, "Quality monitoring"). It
analyses the exposures of the last ``LOOKBACK_DAYS`` whole UTC days on Athena, with the feedback
files under ``FEEDBACK_LOCATION`` (``FEEDBACK_FORMAT``: ``json`` lines or ``csv``; Athena reads them
in place), and publishes per experiment, for two arms or more
(``BASELINE_ARM``, default ``A``, names the baseline; every other arm is a challenger):

- ``Decision``: +1 a challenger is decided best, -1 the baseline is, 0 no decision yet;
- ``Harm``: 1 when some challenger is significantly worse than the baseline (the alarm);
- ``PValue`` (the decision's always-valid p-value), and with two arms ``DeltaAB`` (when defined;
  above 0 users prefer the first arm by name), ``Impressions`` and ``ClickedImpressions``.

The decision is the anytime-valid one (``sequential``: safe to look at daily; with three or more
arms Holm-corrected over the pairs), otherwise the fixed-horizon verdict at the analysis' alpha.
Settings come from the environment; every client is injectable, so the job runs against any
endpoint (tests use moto).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.athena import AthenaEngine, FeedbackInPlace

NAMESPACE = "InterleaveSDK/Quality"


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
    baseline: str = "A"
    feedback_format: str = "json"
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
            baseline=env.get("BASELINE_ARM") or "A",
            feedback_format=env.get("FEEDBACK_FORMAT") or "json",
            window_hours=float(env.get("WINDOW_HOURS") or 24),
        )


def decide(summary: Mapping[str, Any]) -> str:
    """The decided arm or "continue": the sequential decision if present, else the fixed one."""
    sequential = summary.get("sequential")
    if isinstance(sequential, Mapping) and isinstance(sequential.get("decision"), str):
        return str(sequential["decision"])
    winner = summary.get("winner")
    return str(winner) if isinstance(winner, str) and winner != "none" else "continue"


def harmed(summary: Mapping[str, Any], baseline: str) -> bool:
    """Whether some challenger is significantly worse than the baseline, at any-look validity.

    Two arms: the decision names the baseline. More: per pair with the baseline, its
    Holm-corrected always-valid p-value below α and the pair's sequential test naming the baseline.
    """
    if len(summary.get("arms") or ()) <= 2:
        return decide(summary) == baseline
    alpha = float(summary.get("alpha", 0.05))
    matrix = summary.get("preference_matrix") or {}
    for pair in summary.get("pairs") or []:
        arms = (pair.get("arm_a"), pair.get("arm_b"))
        if baseline not in arms or pair.get("sequential", {}).get("decision") != baseline:
            continue
        other = arms[1] if arms[0] == baseline else arms[0]
        if float(matrix.get(baseline, {}).get(other, {}).get("sequential_p_holm", 1.0)) < alpha:
            return True
    return False


def metric_data(
    summary: Mapping[str, Any], experiment: str, day: datetime, baseline: str = "A"
) -> list[dict[str, Any]]:
    """The CloudWatch datums for one analysis, stamped with the end of the analysed range."""
    decision = decide(summary)
    values: dict[str, tuple[float, str]] = {
        "Decision": (0.0 if decision == "continue" else -1.0 if decision == baseline else 1.0, "None"),
        "Harm": (1.0 if harmed(summary, baseline) else 0.0, "None"),
        "PValue": (float((summary.get("sequential") or summary)["p_value"]), "None"),
    }
    if "impressions_total" in summary:  # two arms: the verdict's own counts
        values["Impressions"] = (float(summary["impressions_total"]), "Count")
        values["ClickedImpressions"] = (float(summary["impressions"]), "Count")
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
    # Athena reads the feedback files where they lie: this function never downloads them.
    feedback = FeedbackInPlace(location=settings.feedback, format=settings.feedback_format)
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
    data = metric_data(summary, settings.experiment, until, settings.baseline)
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

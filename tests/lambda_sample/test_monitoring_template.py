"""The template's quality-monitoring section agrees with samples/lambda/monitor.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cfnlint.decode import decode

from ..analysis.test_monitor import load_monitor
from ..conftest import ROOT

TEMPLATE = ROOT / "samples" / "lambda" / "template.yaml"
DOCKERFILE = ROOT / "samples" / "lambda" / "monitor.Dockerfile"


@pytest.fixture(scope="module")
def template() -> Any:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return parsed


def test_schedule_runs_the_monitor_with_every_setting_it_reads(template: Any) -> None:
    """A daily Schedule event invokes the function; its environment sets what from_env needs."""
    function = template["Resources"]["MonitorFunction"]["Properties"]
    (event,) = function["Events"].values()
    assert event["Type"] == "Schedule"
    env = dict.fromkeys(function["Environment"]["Variables"], "x")
    settings = load_monitor().MonitorSettings.from_env(env)  # raises if one is missing
    assert settings.workgroup == "x"


def test_harm_alarm_watches_the_metric_the_monitor_publishes(template: Any) -> None:
    """Namespace, metric name and dimension are those of monitor.metric_data; Harm >= 1 alarms."""
    monitor = load_monitor()
    alarm = template["Resources"]["HarmAlarm"]["Properties"]
    summary = {"winner": "A", "p_value": 0.01, "impressions_total": 10, "impressions": 5, "delta_ab": 0.3}
    data = {d["MetricName"]: d for d in monitor.metric_data(summary, "exp", None)}
    assert alarm["Namespace"] == monitor.NAMESPACE
    assert alarm["MetricName"] in data and data[alarm["MetricName"]]["Value"] == 1.0
    assert [d["Name"] for d in alarm["Dimensions"]] == [d["Name"] for d in data["Harm"]["Dimensions"]]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_metrics_permission_is_limited_to_the_namespace(template: Any) -> None:
    """cloudwatch:PutMetricData only under the monitor's namespace."""
    role = template["Resources"]["MonitorFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    (put,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert put["Condition"]["StringEquals"]["cloudwatch:namespace"] == load_monitor().NAMESPACE


def test_monitor_image_copies_existing_files_and_starts_the_handler() -> None:
    """Every COPY source exists; CMD names monitor.handler."""
    text = DOCKERFILE.read_text()
    copies = re.findall(r"^COPY (.+) \S+$", text, re.M)
    sources = [source for line in copies for source in line.split()]
    assert sources and all((ROOT / source).exists() for source in sources), sources
    (cmd,) = re.findall(r'^CMD \["(\w+)\.(\w+)"\]$', text, re.M)
    assert cmd[0] == "monitor" and callable(getattr(load_monitor(), cmd[1]))

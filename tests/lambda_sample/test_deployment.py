"""The Lambda sample's deployment files: the SAM template passes cfn-lint and says what the docs say;
the Dockerfile builds from files that exist and starts the handler that exists.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cfnlint.decode import decode

from interleave_sdk.config.settings import DEFAULTS, PARSERS
from interleave_sdk.config.ssm import DEFAULT_PREFIX

from ..conftest import ROOT

TEMPLATE = ROOT / "samples" / "lambda" / "template.yaml"
DOCKERFILE = ROOT / "samples" / "lambda" / "Dockerfile"


#: The quality monitor's parameters as an operator turning it on gives them.
MONITOR_ON = {"EnableQualityMonitor": "true", "FeedbackBucketName": "reco-feedback"}


def with_defaults(text: str, values: dict[str, str]) -> str:
    """The template with these parameters' defaults set (cfn-lint resolves values from defaults)."""
    for name, value in values.items():
        text, count = re.subn(
            rf"(^  {name}:\n    Type: String\n    Default: )[^\n]*", rf'\g<1>"{value}"', text, flags=re.M
        )
        assert count == 1, name
    return text


@pytest.fixture(scope="module")
def lint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """cfn-lint's findings per file: the template (monitor off, the default), a copy with the
    monitor on, and a copy with a misspelt property.

    One run of the installed command (as a user runs it) over the three files: cfn-lint takes
    seconds to start, and the broken copy proves that the lint can fail.
    """
    folder = tmp_path_factory.mktemp("lint")
    copies = {"monitor_on": folder / "monitor_on.yaml", "broken": folder / "broken.yaml"}
    copies["monitor_on"].write_text(with_defaults(TEMPLATE.read_text(), MONITOR_ON))
    copies["broken"].write_text(TEMPLATE.read_text().replace("RetentionInDays:", "RetentionDays:"))
    command = Path(sysconfig.get_path("scripts")) / "cfn-lint"
    result = subprocess.run(
        [str(command), "--format", "parseable", str(TEMPLATE), *map(str, copies.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stderr == "", result.stderr
    findings = {"template": "", "monitor_on": "", "broken": ""}
    for line in result.stdout.splitlines():
        which = next((name for name, path in copies.items() if line.startswith(str(path))), "template")
        findings[which] += line + "\n"
    return findings


@pytest.fixture(scope="module")
def template() -> Any:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return parsed


def resources(template: Any, kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_template_passes_cfn_lint(lint: dict[str, str]) -> None:
    """cfn-lint (with the SAM transform) reports nothing on samples/lambda/template.yaml."""
    assert lint["template"] == ""


def test_template_with_the_monitor_on_passes_cfn_lint(lint: dict[str, str]) -> None:
    """With EnableQualityMonitor=true and a feedback bucket, cfn-lint reports nothing either."""
    assert lint["monitor_on"] == ""


def test_the_default_deploys_without_any_parameter(template: Any) -> None:
    """Every parameter has a default, so ``sam deploy`` needs no answer to deploy the sample."""
    missing = [name for name, p in template["Parameters"].items() if "Default" not in p]
    assert missing == []


def test_the_quality_monitor_is_opt_in(template: Any) -> None:
    """Off by default; every monitor resource and output hangs on MonitorEnabled, nothing else."""
    assert template["Parameters"]["EnableQualityMonitor"]["Default"] == "false"
    monitor_conditions = ("MonitorEnabled", "HasHarmAlarmEmail")
    conditional = {n for n, r in template["Resources"].items() if r.get("Condition") in monitor_conditions}
    assert conditional == {
        "MonitorFunction", "MonitorLogGroup", "AnalyticsDatabase", "AthenaResultsBucket",
        "MonitorWorkGroup", "MonitorFunctionRole", "HarmTopic", "HarmTopicEmail", "HarmAlarm",
        "MonitorSilentAlarm",
    }  # fmt: skip
    unconditional = set(template["Resources"]) - conditional
    # The serving path never references a monitor resource (it would fail with the monitor off).
    text = str({name: template["Resources"][name] for name in unconditional})
    assert not any(f"'{name}'" in text or f"{name}." in text for name in conditional)
    outputs = {name for name, o in template["Outputs"].items() if o.get("Condition") == "MonitorEnabled"}
    assert outputs == {"HarmAlarmName", "MonitorFunctionName"}


def test_turning_the_monitor_on_without_a_feedback_bucket_is_refused(template: Any) -> None:
    """A Rule asserts FeedbackBucketName when EnableQualityMonitor is true (a deploy-time message)."""
    rule = template["Rules"]["MonitorNeedsFeedback"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EnableQualityMonitor"}, "true"]}
    bucket_given = {"Fn::Not": [{"Fn::Equals": [{"Ref": "FeedbackBucketName"}, ""]}]}
    assert rule["Assertions"][0]["Assert"] == bucket_given


def test_cfn_lint_would_catch_a_broken_template(lint: dict[str, str]) -> None:
    """The control: the same template with a misspelt property fails the lint."""
    assert "RetentionDays" in lint["broken"]


def test_ssm_parameters_are_the_sdk_switches_with_their_defaults(template: Any) -> None:
    """One parameter per SDK key under the default prefix, holding the SDK's default value."""
    assert template["Parameters"]["ExperimentPrefix"]["Default"] == DEFAULT_PREFIX
    found = {}
    for parameter in resources(template, "AWS::SSM::Parameter").values():
        name = parameter["Properties"]["Name"]["Fn::Sub"]
        key = name.removeprefix("${ExperimentPrefix}/")
        found[key] = PARSERS[key](parameter["Properties"]["Value"])
    assert found == DEFAULTS.as_dict()


def test_the_function_may_read_the_switches_and_nothing_else_in_ssm(template: Any) -> None:
    """The function's only SSM permission is GetParameters on the experiment prefix."""
    role = template["Resources"]["RecommendFunctionRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    ssm = [s for s in statements if any(str(a).startswith("ssm:") for a in _list(s["Action"]))]
    assert [_list(s["Action"]) for s in ssm] == [["ssm:GetParameters"]]
    assert ssm[0]["Resource"]["Fn::Sub"].endswith(":parameter${ExperimentPrefix}/*")
    assert all("*" not in _list(s["Action"]) for s in statements)


def test_one_api_carries_the_legacy_and_unified_routes_the_handler_serves(
    template: Any, offline_app: ModuleType
) -> None:
    """GET /a/recommend, /b/recommend and /recommend on the one API: the handler's ROUTES."""
    events = template["Resources"]["RecommendFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events}
    assert routes == {("GET", path) for path in offline_app.ROUTES}
    assert {e["Properties"]["ApiId"]["Ref"] for e in events} == {"RecommendApi"}


def test_only_ranking_lines_reach_firehose(template: Any) -> None:
    """The subscription filter is a JSON pattern on event = "ranking" (START/END/REPORT are text)."""
    (subscription,) = resources(template, "AWS::Logs::SubscriptionFilter").values()
    assert subscription["Properties"]["FilterPattern"] == '{ $.event = "ranking" }'
    assert subscription["Properties"]["LogGroupName"] == {"Ref": "RecommendLogGroup"}


def test_firehose_writes_plain_json_lines(template: Any) -> None:
    """Firehose decompresses CloudWatch's records, extracts each line and ends it with a newline."""
    (stream,) = resources(template, "AWS::KinesisFirehose::DeliveryStream").values()
    processing = stream["Properties"]["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]
    steps = [
        (p["Type"], {x["ParameterName"]: x["ParameterValue"] for x in p["Parameters"]})
        for p in processing["Processors"]
    ]
    assert steps == [
        ("Decompression", {"CompressionFormat": "GZIP"}),
        ("CloudWatchLogProcessing", {"DataMessageExtraction": "true"}),
        ("AppendDelimiterToRecord", {"Delimiter": "\\n"}),
    ]


def test_dockerfile_builds_on_the_lambda_base_image_from_files_that_exist(offline_app: ModuleType) -> None:
    """FROM the Lambda Python image; every COPY source exists; CMD names the sample's handler."""
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12$", text, re.M)
    copies = re.findall(r"^COPY (.+) \S+$", text, re.M)
    sources = [source for line in copies for source in line.split()]
    assert sources and all((ROOT / source).exists() for source in sources), sources
    (cmd,) = re.findall(r'^CMD \["(\w+)\.(\w+)"\]$', text, re.M)
    assert cmd[0] == "app" and callable(getattr(offline_app, cmd[1]))


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        cleaned = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(candidate, cleaned) for candidate in candidates):
            excluded = not negated
    return excluded


def test_dockerignore_keeps_the_context_to_what_the_images_copy() -> None:
    """Every file both Dockerfiles COPY is in the build context; .venv, tests and docs are not."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copied = []
    for dockerfile in (DOCKERFILE, ROOT / "samples" / "lambda" / "monitor.Dockerfile"):
        for line in re.findall(r"^COPY (.+) \S+$", dockerfile.read_text(), re.M):
            copied += line.split()
    files = [
        str(path.relative_to(ROOT))
        for source in copied
        for path in ([ROOT / source] if (ROOT / source).is_file() else (ROOT / source).rglob("*.py"))
    ]
    assert files and [f for f in files if dockerignored(f, patterns)] == []
    outside = (".venv/bin/python", "tests/conftest.py", "docs/lambda.md", "interleave_sdk/__pycache__/x.pyc")
    for path in outside:
        assert dockerignored(path, patterns), path

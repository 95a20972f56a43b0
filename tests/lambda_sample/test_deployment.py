"""The Lambda sample's deployment files: the SAM template passes cfn-lint and says what the docs say;
the Dockerfile builds from files that exist and starts the handler that exists.
"""

from __future__ import annotations

import re
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from interleave_sdk.config.settings import DEFAULTS, PARSERS
from interleave_sdk.config.ssm import DEFAULT_PREFIX

from ..conftest import ROOT
from .conftest import load_app

TEMPLATE = ROOT / "samples" / "lambda" / "template.yaml"
DOCKERFILE = ROOT / "samples" / "lambda" / "Dockerfile"


@pytest.fixture(scope="module")
def lint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """cfn-lint's findings per file, for the template and a copy with a misspelt property.

    One run of the installed command (as a user runs it) over both files: cfn-lint takes seconds
    to start, and the broken copy proves that the lint can fail.
    """
    broken = tmp_path_factory.mktemp("lint") / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("RetentionInDays:", "RetentionDays:"))
    command = Path(sysconfig.get_path("scripts")) / "cfn-lint"
    result = subprocess.run(
        [str(command), "--format", "parseable", str(TEMPLATE), str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stderr == "", result.stderr
    findings = {"template": "", "broken": ""}
    for line in result.stdout.splitlines():
        findings["broken" if line.startswith(str(broken)) else "template"] += line + "\n"
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


def test_one_api_carries_the_legacy_and_unified_routes_the_handler_serves(template: Any) -> None:
    """GET /a/recommend, /b/recommend and /recommend on the one API: the handler's ROUTES."""
    events = template["Resources"]["RecommendFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events}
    assert routes == {("GET", path) for path in load_app().ROUTES}
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


def test_dockerfile_builds_on_the_lambda_base_image_from_files_that_exist() -> None:
    """FROM the Lambda Python image; every COPY source exists; CMD names the sample's handler."""
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12$", text, re.M)
    copies = re.findall(r"^COPY (.+) \S+$", text, re.M)
    sources = [source for line in copies for source in line.split()]
    assert sources and all((ROOT / source).exists() for source in sources), sources
    (cmd,) = re.findall(r'^CMD \["(\w+)\.(\w+)"\]$', text, re.M)
    assert cmd[0] == "app" and callable(getattr(load_app(), cmd[1]))


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]

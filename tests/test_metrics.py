"""The CloudWatch Embedded Metric Format block on real log lines: valid by the EMF specification's
rules, low-cardinality dimensions only, no clash with the record's own fields, and switchable off.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import orjson
import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, log_schema
from interleave_sdk.decorator import interleaved
from interleave_sdk.observability import dumps
from interleave_sdk.observability.metrics import DIMENSION_SETS, METRIC_UNITS, EmfMetrics
from interleave_sdk.testing import CapturingSink

#: Units CloudWatch accepts (the EMF specification refers to the MetricDatum unit list).
CLOUDWATCH_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def emf_violations(line: bytes) -> list[str]:
    """Check one log line against the EMF specification's rules; returns what is wrong."""
    record = orjson.loads(line)
    problems: list[str] = []
    meta = record.get("_aws")
    if not isinstance(meta, dict):
        return ["no _aws object at the root"]
    timestamp = meta.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        problems.append("Timestamp must be a non-negative integer of epoch milliseconds")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "CloudWatchMetrics must be a non-empty array"]
    for directive in directives:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 0 < len(namespace) <= 255:
            problems.append(f"bad Namespace {namespace!r}")
        dimension_sets = directive.get("Dimensions")
        if not isinstance(dimension_sets, list):
            problems.append("Dimensions must be an array of dimension sets")
            dimension_sets = []
        for dimension_set in dimension_sets:
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append(f"a dimension set is an array of at most 30 keys: {dimension_set}")
                continue
            for key in dimension_set:
                value = record.get(key)
                if not isinstance(value, str) or not 0 < len(value) <= 1024:
                    problems.append(f"dimension {key!r} needs a 1-1024 char string at the root")
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or len(metrics) > 100:
            problems.append("Metrics must be an array of at most 100 definitions")
            metrics = []
        dimension_keys = {key for s in dimension_sets if isinstance(s, list) for key in s}
        for metric in metrics:
            name = metric.get("Name")
            if not isinstance(name, str) or not 0 < len(name) <= 1024:
                problems.append(f"bad metric Name {name!r}")
                continue
            if name in dimension_keys:
                problems.append(f"{name!r} is both a metric and a dimension")
            value = record.get(name)
            values = value if isinstance(value, list) else [value]
            if not 0 < len(values) <= 100 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            ):
                problems.append(f"metric {name!r} needs a finite number at the root, got {value!r}")
            if "Unit" in metric and metric["Unit"] not in CLOUDWATCH_UNITS:
                problems.append(f"metric {name!r} has unknown Unit {metric['Unit']!r}")
            if metric.get("StorageResolution", 60) not in (1, 60):
                problems.append(f"metric {name!r} StorageResolution must be 1 or 60")
    return problems


@pytest.fixture
def executor() -> Iterator[ArmExecutor]:
    pool = ArmExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True)


def frame(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids, "score": range(len(ids), 0, -1)})


def broken(user_id: str) -> pd.DataFrame:
    raise RuntimeError("B down")


#: scenario -> (settings, B ranker)
SCENARIOS: dict[str, tuple[dict[str, Any], Callable[[str], Any]]] = {
    "interleaved": ({"mode": "INTERLEAVE"}, lambda user_id: frame(["b1", "a1"])),
    "fallback": ({"mode": "INTERLEAVE"}, broken),
    "mode_a": ({"mode": "A"}, lambda user_id: frame(["b1"])),
    "mode_b": ({"mode": "B"}, lambda user_id: frame(["b1"])),
    "out_of_sample": ({"mode": "INTERLEAVE", "sampling_rate": 0.0}, lambda user_id: frame([])),
}


def line_for(scenario: str, executor: ArmExecutor, **options: Any) -> dict[str, Any]:
    settings, b = SCENARIOS[scenario]
    sink = CapturingSink()
    recommend = interleaved(
        rankers={"B": b}, config=StaticConfig(**settings), executor=executor, sink=sink, **options
    )(lambda user_id: frame(["a1", "a2", "a3"]))
    recommend("user-1")
    record: dict[str, Any] = orjson.loads(dumps(sink.last))  # what CloudWatch would read
    return record


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_line_carries_a_valid_emf_block(scenario: str, executor: ArmExecutor) -> None:
    """Each kind of request writes an _aws block that follows the EMF specification."""
    assert emf_violations(dumps(line_for(scenario, executor))) == []


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_lines_with_metrics_still_match_the_log_schema(
    scenario: str, executor: ArmExecutor
) -> None:
    """The EMF members are part of the JSON Schema, so lines with them validate."""
    jsonschema.validate(line_for(scenario, executor), log_schema())


def test_the_checker_rejects_a_metric_missing_from_the_root(executor: ArmExecutor) -> None:
    """The EMF checker itself can fail: a declared metric without a root value is caught."""
    record = line_for("interleaved", executor)
    del record["MergeTime"]
    assert emf_violations(dumps(record)) == [
        "metric 'MergeTime' needs a finite number at the root, got None"
    ]


def test_metric_values_are_the_record_timings(executor: ArmExecutor) -> None:
    """Per-arm latency, merge time and total time are the same numbers the record logs."""
    record = line_for("interleaved", executor)
    assert record["LatencyArmA"] == record["arms"]["A"]["latency_ms"]
    assert record["LatencyArmB"] == record["arms"]["B"]["latency_ms"]
    assert record["MergeTime"] == record["timings"]["merge_ms"]
    assert record["RequestTime"] == record["timings"]["total_ms"]
    assert (record["Fallbacks"], record["Interleaved"]) == (0, 1)


def test_a_fallback_is_counted_with_its_reason(executor: ArmExecutor) -> None:
    """A fallback sets Fallbacks=1 and the FallbackReason dimension to the logged reason."""
    record = line_for("fallback", executor)
    assert (record["Fallbacks"], record["Interleaved"]) == (1, 0)
    assert record["FallbackReason"] == record["fallback_reason"] == "arm_error"
    assert record["ServedArm"] == "A"


def test_metrics_are_only_declared_when_the_request_has_them(executor: ArmExecutor) -> None:
    """Mode A runs one arm: no B latency and no merge time are declared or written."""
    record = line_for("mode_a", executor)
    declared = {m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert declared == {"LatencyArmA", "RequestTime", "Fallbacks", "Interleaved"}
    assert "LatencyArmB" not in record
    assert "MergeTime" not in record


def test_dimensions_are_low_cardinality_only(executor: ArmExecutor) -> None:
    """Dimensions are mode, served arm and reason; ids never become a dimension."""
    record = line_for("interleaved", executor)
    used = {key for dims in record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for key in dims}
    assert used == {"InterleaveMode", "ServedArm", "FallbackReason"}
    values = {record[key] for key in used}
    assert record["user_id"] not in values
    assert record["ranking_id"] not in values


def test_emf_members_do_not_clash_with_record_fields_even_ignoring_case() -> None:
    """Athena and DuckDB fold column names to lower case; EMF names must stay distinct."""
    fields = {name.lower() for name in log_schema()["required"]}
    members = {name for dims in DIMENSION_SETS for name in dims} | set(METRIC_UNITS) | {"_aws"}
    assert not {name.lower() for name in members} & fields


def test_the_namespace_is_configurable(executor: ArmExecutor) -> None:
    """EmfMetrics(namespace=...) names the CloudWatch namespace."""
    record = line_for("interleaved", executor, metrics=EmfMetrics("Reco/Experiments"))
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Reco/Experiments"


def test_metrics_can_be_switched_off(executor: ArmExecutor) -> None:
    """metrics=False writes the plain record: no _aws block and no metric members."""
    record = line_for("interleaved", executor, metrics=False)
    assert "_aws" not in record
    assert not set(record) & set(METRIC_UNITS)


@pytest.mark.parametrize("namespace", ["", ":Reserved", "x" * 256, "Ünïcode"])
def test_an_invalid_namespace_is_refused_at_decoration(namespace: str) -> None:
    """A namespace CloudWatch would reject fails when the decorator is built, not per request."""
    with pytest.raises(ValueError, match="namespace"):
        EmfMetrics(namespace)

"""Real log lines, from every kind of request, validate against the shipped JSON Schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import orjson
import pandas as pd
import pytest

from interleave_sdk import log_schema
from interleave_sdk.observability import dumps
from interleave_sdk.testing import CapturingSink

from .conftest import CountingRanker, frame

Make = Callable[..., tuple[Callable[..., Any], CountingRanker, CountingRanker]]

SCENARIOS: dict[str, dict[str, Any]] = {
    "interleaved": {},
    "mode A": {"mode": "A"},
    "mode B": {"mode": "B"},
    "out of sample": {"sampling_rate": 0.0},
    "B raises": {"b": RuntimeError("boom")},
    "B garbage": {"b": [1, 2]},
    "baseline garbage": {"a": None},
    "integer ids": {"a": frame([1, 2, 3]), "b": frame([3, 4, 5])},
    "user seeds": {"seed_strategy": "user"},
    "sequential": {"parallel_enabled": False},
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = log_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_log_line_matches_schema(
    make_recommender: Make, sink: CapturingSink, validator: Any, scenario: str
) -> None:
    """The line a request writes is one JSON object that the schema accepts."""
    recommend, _, _ = make_recommender(**SCENARIOS[scenario])
    recommend("u1")
    line = dumps(sink.last)
    assert b"\n" not in line
    validator.validate(orjson.loads(line))


def test_schema_rejects_a_broken_line(validator: Any) -> None:
    """The schema is not vacuous: a line missing items or with a bad position is rejected."""
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"schema_version": 1, "event": "ranking"})


def test_baseline_exception_line_matches_schema(
    make_recommender: Make, sink: CapturingSink, validator: Any
) -> None:
    """Even when the handler raises, its line is valid."""
    recommend, _, _ = make_recommender(a=ValueError("db down"))
    with pytest.raises(ValueError, match="db down"):
        recommend("u1")
    validator.validate(orjson.loads(dumps(sink.last)))


def test_float_item_ids_are_logged_as_numbers(sink: CapturingSink, validator: Any) -> None:
    """Float ids keep their canonical numeric form in the line (1.5 stays 1.5, never '1.5')."""
    from interleave_sdk import StaticConfig, interleaved

    @interleaved(
        rankers={"B": lambda user_id: frame([2.5, 3.5])},
        config=StaticConfig(mode="INTERLEAVE"),
        sink=sink,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return frame([1.5, 2.5])

    recommend("u")
    record = orjson.loads(dumps(sink.last))
    validator.validate(record)
    assert {i["item_id"] for i in record["items"]} <= {1.5, 2.5, 3.5}


def test_schema_enumerates_the_reasons_vocabulary() -> None:
    """The schema's fallback reasons and arm statuses are exactly interleave_sdk.reasons'."""
    from interleave_sdk.reasons import ARM_STATUSES, FALLBACK_REASONS

    defs = log_schema()["$defs"]
    assert tuple(defs["fallback_reason"]["enum"]) == FALLBACK_REASONS
    assert tuple(defs["arm_status"]["enum"]) == ARM_STATUSES


def test_docs_table_lists_exactly_the_reasons() -> None:
    """docs/log-schema.md tables every fallback reason, in the vocabulary's order, and no other."""
    import re
    from pathlib import Path

    from interleave_sdk.reasons import FALLBACK_REASONS

    page = (Path(__file__).resolve().parents[1] / "docs" / "log-schema.md").read_text(encoding="utf-8")
    table = page.split("### Fallback reasons", 1)[1].split("###", 1)[0]
    assert tuple(re.findall(r"^\| `(\w+)` \|", table, re.M)) == FALLBACK_REASONS

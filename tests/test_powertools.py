"""Ranking lines written through a Powertools Logger keep the shape the log schema and analysis need."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from aws_lambda_powertools import Logger

from interleave_sdk import log_schema
from interleave_sdk.observability.powertools import PowertoolsSink, ranking_line_formatter


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(log_schema())


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_the_documented_sample_writes_a_valid_ranking_line(
    run_sample: Callable[[str], str], validator: jsonschema.protocols.Validator
) -> None:
    """samples/powertools_logging.py: the ranking line validates; the Powertools line is Powertools'."""
    lines = _lines(run_sample("powertools_logging.py"))
    rankings = [line for line in lines if line.get("event") == "ranking"]
    others = [line for line in lines if line.get("event") != "ranking"]
    assert len(rankings) == 1
    validator.validate(rankings[0])
    assert rankings[0]["arms"]["A"]["error"] is None  # null fields survive
    assert rankings[0]["function_request_id"] == "c6af9ac6-7b61-11e6-9a41-93e812345678"
    assert others[0]["message"] == "recommending"
    assert others[0]["service"] == "reco"



def _a_record() -> dict[str, Any]:
    from interleave_sdk import StaticConfig, interleaved
    from interleave_sdk.testing import CapturingSink

    sink = CapturingSink()

    @interleaved(rankers={"B": lambda user_id: _frame(["c", "a"])}, config=StaticConfig(), sink=sink)
    def recommend(user_id: str) -> Any:
        return _frame(["a", "b"])

    recommend("u1")
    return sink.last


def _frame(ids: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame({"item_id": ids})


def test_logging_the_record_as_a_message_breaks_the_line(validator: jsonschema.protocols.Validator) -> None:
    """Why the sink exists: logger.info(record) with Powertools' formatter fails the schema."""
    stream = io.StringIO()
    logger = Logger(service="nested", stream=stream)
    logger.info(_a_record())
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(_lines(stream.getvalue())[0])


def test_the_sink_writes_the_record_unchanged() -> None:
    """Through PowertoolsSink the line is the record, null fields included, and nothing else."""
    stream = io.StringIO()
    logger = Logger(service="whole", stream=stream, logger_formatter=ranking_line_formatter())
    record = _a_record()
    PowertoolsSink(logger)(record)
    assert _lines(stream.getvalue()) == [json.loads(json.dumps(record))]


def test_a_logger_without_the_formatter_is_refused() -> None:
    """A sink over a logger that would nest the record fails at construction, naming the fix."""
    with pytest.raises(TypeError, match="ranking_line_formatter"):
        PowertoolsSink(Logger(service="plain", stream=io.StringIO()))


def test_a_logger_whose_level_drops_the_lines_is_refused() -> None:
    """A logger at WARNING would drop every INFO ranking line: refused at construction, naming the fix."""
    logger = Logger(
        service="quiet", stream=io.StringIO(), level="WARNING", logger_formatter=ranking_line_formatter()
    )
    with pytest.raises(ValueError, match="POWERTOOLS_LOG_LEVEL=INFO") as refused:
        PowertoolsSink(logger)
    assert "level=logging.WARNING" in str(refused.value)


def test_a_sink_level_the_logger_lets_through_writes_the_line() -> None:
    """The documented alternative: at WARNING, PowertoolsSink(logger, level=WARNING) writes the line."""
    stream = io.StringIO()
    logger = Logger(
        service="warned", stream=stream, level="WARNING", logger_formatter=ranking_line_formatter()
    )
    record = _a_record()
    PowertoolsSink(logger, level=logging.WARNING)(record)
    assert _lines(stream.getvalue()) == [json.loads(json.dumps(record))]

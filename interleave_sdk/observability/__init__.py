"""The attribution log: building one record per ranking and writing it somewhere."""

import importlib.resources
import json
from typing import Any

from .record import SCHEMA_VERSION, item_entries, single_arm_entries
from .sinks import JsonLineSink, Sink, dumps


def log_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every ranking record conforms to."""
    text = importlib.resources.files(__name__).joinpath("ranking_log.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = [
    "SCHEMA_VERSION",
    "JsonLineSink",
    "Sink",
    "dumps",
    "item_entries",
    "log_schema",
    "single_arm_entries",
]

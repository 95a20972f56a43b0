"""The log line is never lost: a record that cannot be encoded is written sanitised, saying why."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from interleave_sdk.observability import JsonLineSink


class Unprintable:
    """An object whose str() (and repr) raise, as a broken user type might."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = __str__


def written(record: dict[str, Any]) -> dict[str, Any]:
    """The one line JsonLineSink writes for ``record``, parsed back with the standard library."""
    stream = io.StringIO()
    JsonLineSink(stream)(record)
    text = stream.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def base_record(**fields: Any) -> dict[str, Any]:
    return {"event": "ranking", "ranking_id": "r1", "user_id": "u1", "items": [], **fields}


def test_a_plain_record_has_no_encode_error() -> None:
    """A record orjson can encode is written as it is, with no encode_error field."""
    line = written(base_record(items=[{"item_id": np.int64(3)}], price=Decimal("1.5")))
    assert line["items"] == [{"item_id": 3}] and line["price"] == "1.5"
    assert "encode_error" not in line


def test_a_lone_surrogate_is_escaped_and_the_line_written() -> None:
    """A user id holding "\\ud800" (json.loads can produce it) is written escaped, with the reason."""
    line = written(base_record(user_id="user-\ud800"))
    assert line["user_id"] == "user-\\ud800"
    assert line["ranking_id"] == "r1"
    assert "surrogate" in line["encode_error"] or "UTF-8" in line["encode_error"]


def test_a_surrogate_in_a_key_is_escaped_too() -> None:
    """Dict keys go through the same escaping as values."""
    line = written(base_record(extra={"k\udc80": 1}))
    assert line["extra"] == {"k\\udc80": 1}
    assert "encode_error" in line


@pytest.mark.parametrize("big", [2**64, -(2**63) - 1, 10**30])
def test_an_int_beyond_64_bits_is_written_as_text(big: int) -> None:
    """An item id >= 2**64 (or below -2**63) becomes its decimal text; the other fields stay."""
    line = written(base_record(items=[{"item_id": big, "position": 1}]))
    assert line["items"] == [{"item_id": str(big), "position": 1}]
    assert "64-bit" in line["encode_error"] or "Integer" in line["encode_error"]


def test_an_object_whose_str_raises_is_written_as_its_type_name() -> None:
    """An unprintable object is named by its type; the reason says encoding failed."""
    line = written(base_record(context=Unprintable()))
    assert line["context"] == "<unprintable Unprintable>"
    assert "RuntimeError in str(): no text for you" in line["encode_error"]


def test_nesting_too_deep_is_cut_not_lost() -> None:
    """A self-referencing list (or absurd nesting) is cut at a fixed depth; the line still goes out."""
    loop: list[Any] = []
    loop.append(loop)
    line = written(base_record(loop=loop))
    assert "encode_error" in line
    depth, node = 0, line["loop"]
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert node == "<nested too deep>" and depth < 100


def test_sanitising_leaves_the_callers_record_alone() -> None:
    """The fallback writes a copy: the record dict handed to the sink is not changed."""
    record = base_record(user_id="\ud800", items=[{"item_id": 2**70}])
    snapshot = repr(record)
    written(record)
    assert repr(record) == snapshot and "encode_error" not in record


def test_a_non_text_key_a_processor_added_is_written_as_text() -> None:
    """Keys that are not text (an int a processor added) still encode, as orjson writes them."""
    line = written(base_record(counts={7: "seven"}))
    assert line["counts"] == {"7": "seven"} and "encode_error" not in line


def test_an_oversized_line_is_cut_and_says_what_was_cut() -> None:
    """A 400 KB user id: the line stays under the bound, keeps its ranking, and says what was cut."""
    from interleave_sdk.observability.sinks import MAX_LINE_BYTES

    stream = io.StringIO()
    record = {"ranking_id": "r1", "user_id": "u" * 400_000, "items": [{"item_id": i} for i in range(10)]}
    JsonLineSink(stream)(record)
    text = stream.getvalue()
    line = json.loads(text)
    assert len(text.encode("utf-8")) <= MAX_LINE_BYTES
    assert line["ranking_id"] == "r1" and line["user_id"].startswith("uuu") and len(line["items"]) == 10
    assert line["truncated"]["bytes"] > 400_000 and line["truncated"]["cut"] == ["user_id"]
    assert len(record["user_id"]) == 400_000  # the caller's record is not changed


def test_a_line_of_many_small_values_drops_its_id_lists() -> None:
    """Too many ids to fit: items and tops are emptied, and the line says so."""
    stream = io.StringIO()
    record = {"ranking_id": "r1", "items": [{"item_id": f"id-{i:07d}"} for i in range(20_000)], "arms": {}}
    JsonLineSink(stream)(record)
    line = json.loads(stream.getvalue())
    assert line["items"] == [] and line["truncated"]["cut"] == ["drop_id_lists"]

"""The ranking record: one dict per served list, the unit of the attribution log.

Field meanings live in docs/log-schema.md and the JSON Schema next to this module; this module only
builds the parts that need care (items with per-arm ranks, timestamps).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from typing import Any

SCHEMA_VERSION = 1


def iso_utc(moment: datetime) -> str:
    """``2026-11-23T02:00:00.123Z`` — fixed width, sorts as text, parses in Athena and DuckDB."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def item_entries(
    items: Sequence[Hashable],
    teams: Sequence[str],
    positions: Mapping[str, Mapping[Hashable, int]],
) -> list[dict[str, Any]]:
    """An interleaved list's ``items``: 1-based position, credited team, 1-based rank per arm.

    ``positions`` maps each arm to its ``id -> 0-based row`` index; an id an arm lacks gets null.
    """
    logged = json_ids(list(items))
    return [
        {
            "item_id": logged_id,
            "position": position,
            "source_ranker": team,
            "ranks": {
                arm: (None if (r := by_id.get(item)) is None else r + 1) for arm, by_id in positions.items()
            },
        }
        for position, (item, logged_id, team) in enumerate(zip(items, logged, teams, strict=True), start=1)
    ]


def single_arm_entries(ids: list[Any], arm: str) -> list[dict[str, Any]]:
    """A one-arm list's ``items``: every id is that arm's, at its own rank."""
    return [
        {"item_id": item, "position": pos, "source_ranker": arm, "ranks": {arm: pos}}
        for pos, item in enumerate(json_ids(ids), start=1)
    ]


def json_id(item: Hashable) -> Any:
    """Ids as JSON-friendly scalars: ints and strings stay, anything else becomes its text."""
    if isinstance(item, (str, int)) and not isinstance(item, bool):
        return item
    return str(item)


def json_ids(items: list[Any]) -> list[Any]:
    """:func:`json_id` over a list; the list itself when it holds only ``str`` or only ``int``.

    The common case (one id type throughout) is checked in one pass without building new objects,
    which matters on the baseline path where every served item is logged.
    """
    if items and (type(items[0]) is str or type(items[0]) is int):
        first = type(items[0])
        if all(type(item) is first for item in items):
            return items
    return [json_id(item) for item in items]

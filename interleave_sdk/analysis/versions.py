"""Which log schema versions an analysis reads, and which it refuses.

A line's ``schema_version`` is bumped only on incompatible changes (docs/log-schema.md), so a
major version this SDK does not know may give familiar fields another meaning: such lines are
refused (rankings.sql's ``unknown_schema`` status, the same rule in every engine), counted, and
named in the result, never analysed as a known version.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..observability.record import SCHEMA_VERSION

#: Major versions this analysis understands, as the text the readers give the field.
KNOWN_MAJORS: tuple[str, ...] = (str(SCHEMA_VERSION),)

#: rankings.sql's status for a refused line.
UNKNOWN_SCHEMA = "unknown_schema"


def sql_majors() -> str:
    """``{schema_majors}`` for rankings.sql: the known majors as a quoted SQL list."""
    return ", ".join("'" + major + "'" for major in KNOWN_MAJORS)


def is_known(version: str | None) -> bool:
    """A line without a version is read as version 1; otherwise its major must be known."""
    return version is None or version.split(".", 1)[0] in KNOWN_MAJORS


def tally(rows: Iterable[tuple[str | None, str | None, int]]) -> dict[str, dict[str, int]]:
    """``{"read": {version: records}, "refused": {version: records}}`` from (status, version, n).

    Records without a version are read as version 1 and listed under ``"1"`` so the reader sees
    every record the analysis read; refused ones keep the text they carried.
    """
    read: dict[str, int] = {}
    refused: dict[str, int] = {}
    for status, version, count in rows:
        if status == UNKNOWN_SCHEMA:
            key = str(version)
            refused[key] = refused.get(key, 0) + int(count)
        elif status in ("ok", "duplicate", "invalid"):
            key = KNOWN_MAJORS[0] if version is None else str(version)
            read[key] = read.get(key, 0) + int(count)
    return {"read": dict(sorted(read.items())), "refused": dict(sorted(refused.items()))}

"""The ranking record: one dict per served list, the unit of the attribution log.

Built here and nowhere else: the engine calls :func:`ranking_record` once per request with what the
request learned, and the synthetic logs of ``analysis.testing`` call the same function, so the shape
is defined once. Field meanings live in docs/log-schema.md and the JSON Schema next to this module.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._version import __version__
from ..reasons import ArmStatus, FallbackReason

SCHEMA_VERSION = 1


def ranking_record(
    *,
    ranking_id: str,
    ts: str,
    experiment: str,
    user_id: str | None,
    mode: str,
    served: str,
    in_sample: bool | None = None,
    bucket: float | None = None,
    sampling_rate: float | None = None,
    pinned: str | None = None,
    method: str | None = None,
    method_requested: str | None = None,
    method_detail: Mapping[str, Any] | None = None,
    seed: Mapping[str, Any] | None = None,
    k: int | None = None,
    contest_depth: int | None = None,
    config: Mapping[str, Any] | None = None,
    candidates: Mapping[str, Any] | None = None,
    arms: Mapping[str, Mapping[str, Any]] | None = None,
    fallback_reason: FallbackReason | None = None,
    error: str | None = None,
    items: list[dict[str, Any]] | None = None,
    total_ms: float = 0.0,
    merge_ms: float | None = None,
    sdk_version: str = __version__,
    layer: str | None = None,
) -> dict[str, Any]:
    """One log line as a dict, every field present (null when it does not apply).

    Fields added after schema version 1 shipped (``layer``) are written only when they apply, so a
    line of a call that uses none of them is byte for byte what earlier versions wrote.
    """
    record = {
        "schema_version": SCHEMA_VERSION,
        "event": "ranking",
        "ts": ts,
        "sdk_version": sdk_version,
        "ranking_id": ranking_id,
        "experiment": experiment,
        "user_id": user_id,
        "mode": mode,
        "served": served,
        "in_sample": in_sample,
        "bucket": bucket,
        "sampling_rate": sampling_rate,
        "pinned": pinned,
        "method": method,
        "method_requested": method_requested,
        "method_detail": None if method_detail is None else dict(method_detail),
        "seed": None if seed is None else dict(seed),
        "k": k,
        "contest_depth": contest_depth,
        "config": dict(config)
        if config is not None
        else {"source": "default", "version": None, "age_ms": None},
        "candidates": None if candidates is None else dict(candidates),
        "arms": {} if arms is None else dict(arms),
        "fallback_reason": fallback_reason,
        "error": error,
        "items": [] if items is None else items,
        "timings": {"total_ms": total_ms, "merge_ms": merge_ms},
    }
    if layer is not None:
        record["layer"] = layer
    return record


def arm_entry(
    status: ArmStatus,
    *,
    latency_ms: float | None = None,
    rows: int | None = None,
    error: str | None = None,
    top: list[Any] | None = None,
    produced: int | None = None,
) -> dict[str, Any]:
    """One ``arms.<name>`` entry; ``produced`` counts items pulled from a streaming arm."""
    return {
        "status": status,
        "latency_ms": None if latency_ms is None else round(latency_ms, 3),
        "rows": rows,
        "error": error,
        "top": top,
        "produced": produced,
    }


def iso_utc(moment: datetime) -> str:
    """``2026-11-23T02:00:00.123Z`` — fixed width, sorts as text, parses in Athena and DuckDB.

    The text up to the second is formatted once per second (``strftime`` costs more than the
    rest of a line's timestamp work), kept in a one-entry cache that threads may race on safely.
    """
    global _SECOND
    second = moment.replace(microsecond=0)
    cached = _SECOND
    if cached[0] != second:
        cached = _SECOND = (second, moment.strftime("%Y-%m-%dT%H:%M:%S."))
    return f"{cached[1]}{moment.microsecond // 1000:03d}Z"


_SECOND: tuple[datetime | None, str] = (None, "")


def item_entries(
    items: Sequence[Hashable],
    teams: Sequence[str],
    positions: Mapping[str, Mapping[Hashable, int]],
) -> list[dict[str, Any]]:
    """An interleaved list's ``items``: 1-based position, credited team, 1-based rank per arm.

    ``positions`` maps each arm to its ``id -> 0-based row`` index; an id an arm lacks gets null.
    Ids are the canonical ids (:mod:`interleave_sdk.ids`), already JSON-safe.
    """
    return [
        {
            "item_id": item,
            "position": position,
            "source_ranker": team,
            "ranks": {
                arm: (None if (r := by_id.get(item)) is None else r + 1) for arm, by_id in positions.items()
            },
        }
        for position, (item, team) in enumerate(zip(items, teams, strict=True), start=1)
    ]


def single_arm_entries(ids: Sequence[Any], arm: str, *, shared_ranks: bool = False) -> list[dict[str, Any]]:
    """A one-arm list's ``items``: every id is that arm's, at its own rank.

    This runs on every call that is not interleaved, so it copies a cached skeleton per item
    (one C-level dict copy) instead of building each dict field by field. With ``shared_ranks``
    the small ``ranks`` maps are shared between records (2.5x cheaper); the engine asks for that
    only when the SDK's own :class:`~.sinks.JsonLineSink` is the only reader (no processor, no
    user sink), since anyone else may keep or change a record.
    """
    skeleton = _skeleton(arm, len(ids))
    out: list[dict[str, Any]] = []
    append = out.append
    if shared_ranks:
        for entry, item in zip(skeleton, ids, strict=True):
            entry = entry.copy()
            entry["item_id"] = item
            append(entry)
    else:
        for entry, item in zip(skeleton, ids, strict=True):
            entry = entry.copy()
            entry["item_id"] = item
            entry["ranks"] = {arm: entry["position"]}
            append(entry)
    return out


@functools.lru_cache(maxsize=256)
def _skeleton(arm: str, length: int) -> tuple[dict[str, Any], ...]:
    """Item dicts of a one-arm list of ``length`` items, ``item_id`` to fill; never handed out."""
    return tuple(
        {"item_id": None, "position": pos, "source_ranker": arm, "ranks": {arm: pos}}
        for pos in range(1, length + 1)
    )

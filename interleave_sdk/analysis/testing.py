"""Seeded synthetic ranking logs and feedback, for tests and benchmarks (yours and ours).

Lists are drawn by the real Team Draft method and written in the log schema of
``docs/log-schema.md``; feedback mixes every case attribution must handle. All randomness comes
from one ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from ..interleaving.api import Interleaving, interleave
from ..observability import record

EPOCH = datetime(2026, 11, 23, tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """The log's time format: UTC, milliseconds, ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def ranking_record(
    ranking_id: str,
    user_id: str | None,
    ts: datetime,
    items: list[tuple[Any, str, int | None, int | None]],
    *,
    served: str = "interleaved",
    method: str = "team_draft_v1",
) -> dict[str, Any]:
    """One log line as a dict; ``items`` are (item_id, team, rank in A, rank in B) in order.

    Built by the engine's own record builder, so synthetic lines have exactly the real shape.
    """
    return record.ranking_record(
        ranking_id=ranking_id,
        ts=iso(ts),
        experiment="synthetic",
        user_id=user_id,
        mode="INTERLEAVE",
        served=served,
        in_sample=True,
        bucket=0.1,
        sampling_rate=1.0,
        method=method,
        method_requested=method,
        k=len(items),
        config={"source": "static", "version": None, "age_ms": 0.0},
        items=[
            {"item_id": item, "position": p, "source_ranker": team, "ranks": {"A": ra, "B": rb}}
            for p, (item, team, ra, rb) in enumerate(items, start=1)
        ],
        total_ms=1.0,
        merge_ms=0.1,
        sdk_version="0.1.0",
    )


def arms_record(
    ranking_id: str,
    user_id: str | None,
    ts: datetime,
    items: Sequence[tuple[Any, str, Mapping[str, int | None]]],
    *,
    method: str = "team_draft_v1",
    k: int | None = None,
) -> dict[str, Any]:
    """An interleaved line for any number of arms; ``items`` are (item_id, team, arm -> rank).

    The arms are the keys of the first item's ranks (every item lists every arm, null when
    absent), as the engine logs them.
    """
    line = ranking_record(ranking_id, user_id, ts, [], method=method)
    arms = list(items[0][2]) if items else []
    line["arms"] = {
        arm: record.arm_entry("ok", latency_ms=1.0, rows=k, error=None, top=None)
        for arm in arms
    }
    line["k"] = len(items) if k is None else k
    line["items"] = [
        {"item_id": item, "position": p, "source_ranker": team, "ranks": dict(ranks)}
        for p, (item, team, ranks) in enumerate(items, start=1)
    ]
    return line


def merged_record(
    ranking_id: str,
    user_id: str | None,
    ts: datetime,
    rankings: Mapping[str, Sequence[Any]],
    merged: Interleaving,
    *,
    k: int | None = None,
) -> dict[str, Any]:
    """The line the engine writes for ``merged``, drawn from ``rankings`` (arm -> ids)."""
    positions = {arm: {item: r for r, item in enumerate(ids, start=1)} for arm, ids in rankings.items()}
    items = [
        (item, team, {arm: positions[arm].get(item) for arm in rankings})
        for item, team in zip(merged.items, merged.teams, strict=True)
    ]
    line = arms_record(ranking_id, user_id, ts, items, method=merged.method, k=k)
    line["method_detail"] = None if merged.detail is None else dict(merged.detail)
    return line


def synthetic_rankings(
    n_rankings: int,
    *,
    k: int = 10,
    n_users: int = 1000,
    n_catalog: int = 200,
    p_identical: float = 0.1,
    seed: int = 0,
) -> Iterator[dict[str, Any]]:
    """Interleaved impressions drawn by Team Draft from two overlapping arms."""
    rng = random.Random(seed)
    for n in range(n_rankings):
        arm_a = rng.sample(range(n_catalog), k)
        if rng.random() < p_identical:
            arm_b = list(arm_a)
        else:
            keep = rng.randrange(k + 1)
            rest = [i for i in rng.sample(range(n_catalog), 2 * k) if i not in arm_a[:keep]]
            arm_b = arm_a[:keep] + rest[: k - keep]
        merged = interleave("team_draft_v1", {"A": arm_a, "B": arm_b}, k, rng)
        rank_a: dict[Hashable, int] = {item: r for r, item in enumerate(arm_a, start=1)}
        rank_b: dict[Hashable, int] = {item: r for r, item in enumerate(arm_b, start=1)}
        items = [
            (f"v{item}", team, rank_a.get(item), rank_b.get(item))
            for item, team in zip(merged.items, merged.teams, strict=True)
        ]
        user = f"u{rng.randrange(n_users)}"
        ts = EPOCH + timedelta(seconds=n * 3 + rng.random())
        yield ranking_record(f"r{n:08d}", user, ts, items)


def synthetic_feedback(
    records: list[dict[str, Any]], n_events: int, *, seed: int = 0
) -> pd.DataFrame:
    """Clicks and decisions on shown items: by id, by window, late, early, duplicated, unknown."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for _ in range(n_events):
        record = records[rng.randrange(len(records))]
        item = record["items"][min(int(rng.expovariate(0.4)), len(record["items"]) - 1)]
        shown = datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
        roll = rng.random()
        delay = timedelta(seconds=rng.uniform(0, 600))
        if roll > 0.97:
            delay = -timedelta(seconds=rng.uniform(1, 60))  # before the exposure
        elif roll > 0.94:
            delay = timedelta(hours=rng.uniform(24, 48))  # outside the window
        ts = shown + delay
        with_id = rng.random() < 0.5
        ranking_id = record["ranking_id"] if with_id else None
        if rng.random() < 0.02:
            ranking_id = f"unknown{rng.randrange(10**6)}"
        kind = rng.choices(["click", "like", "nope", "view"], weights=[6, 2, 2, 1])[0]
        row = {
            "user_id": record["user_id"],
            "item_id": item["item_id"],
            "ts": ts.isoformat(),
            "kind": kind,
            "ranking_id": ranking_id,
        }
        rows.append(row)
        if rng.random() < 0.03:
            rows.append(dict(row))  # an exact duplicate delivery
    frame: pd.DataFrame = pd.DataFrame(
        rows, columns=["user_id", "item_id", "ts", "kind", "ranking_id"]
    )
    return frame


def write_json_lines(path: Path, records: list[dict[str, Any]] | Iterator[dict[str, Any]]) -> Path:
    """Write records as JSON lines (gzipped when the name ends in ``.gz``)."""
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wb") as handle:
        for record in records:
            handle.write(orjson.dumps(record) + b"\n")
    return path

"""One canonical item id across every feedback source: the same clicks join alike in every format."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from interleave_sdk import StaticConfig, interleaved, last_ranking_id
from interleave_sdk.analysis.pipeline import attribute
from interleave_sdk.analysis.sources import PostgresFeedback
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.ids import id_text

START = datetime(2026, 11, 23, tzinfo=timezone.utc)

#: Each kind of id: the two arms' id columns, and the SQL type a feedback table would give it.
KINDS = {
    "int": (np.arange(101, 109, dtype=np.int64), np.arange(105, 113, dtype=np.int64), "bigint"),
    "float": (
        np.array([0.5, 1e-7, 2.25, 3.0, 4.125, 1e20, 6.5, 7.75]),
        np.array([1e-7, 0.1, 101.0, 2.5e-5, 8.5, 9.0, 10.25, 0.3]),
        "double precision",
    ),
    "int64 arm + float64 arm": (
        np.arange(101, 109, dtype=np.int64),
        np.array([105.0, 0.5, 1e-7, 120.0, 2.25, 130.0, 3.5, 140.0]),
        "numeric",
    ),
    "string": (
        np.array(["007", "a1", "1e-07x", "b2", "c3", "d4", "e5", "f6"], dtype=object),
        np.array(["a1", "z9", "007", "y8", "x7", "w6", "v5", "u4"], dtype=object),
        "text",
    ),
}


@pytest.fixture(scope="module", params=sorted(KINDS))
def served(request, tmp_path_factory):
    """20 interleaved lists of one kind of id, every shown item clicked (ids typed as the arms')."""
    ids_a, ids_b, sql_type = KINDS[request.param]
    lines: list[dict] = []
    config = StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=False)

    @interleaved(
        rankers={"B": lambda user_id: pd.DataFrame({"item_id": ids_b})},
        config=config,
        sink=lines.append,
        k=8,
        metrics=False,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": ids_a})

    clicks = []
    for n in range(20):
        frame = recommend(f"u{n}")
        rid = last_ranking_id()
        shown = datetime.fromisoformat(lines[-1]["ts"].replace("Z", "+00:00"))
        for position, item in enumerate(frame["item_id"], start=1):
            ts = (shown + timedelta(seconds=position)).isoformat()
            clicks.append({"user_id": f"u{n}", "item_id": item, "ts": ts, "kind": "click", "ranking_id": rid})
    folder = tmp_path_factory.mktemp("ids")
    log = write_json_lines(folder / "log.jsonl", lines)
    frame = pd.DataFrame(clicks)
    if request.param != "string":  # as a feedback table would type them: one numeric column
        frame["item_id"] = frame["item_id"].astype(np.float64 if "float" in request.param else np.int64)
    return log, frame, sql_type, folder


def as_source(fmt: str, clicks: pd.DataFrame, sql_type: str, folder: Path, postgres_uri) -> object:
    if fmt == "dataframe":
        return clicks
    if fmt == "csv":
        clicks.to_csv(folder / "fb.csv", index=False)
        return folder / "fb.csv"
    if fmt == "jsonl":
        path = folder / "fb.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(row) for row in clicks.to_dict("records")))
        return path
    if fmt == "parquet":
        clicks.to_parquet(folder / "fb.parquet")
        return folder / "fb.parquet"
    import psycopg

    uri = postgres_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS clicks")
        conn.execute(
            f"CREATE TABLE clicks (user_id text, item_id {sql_type}, ts timestamptz, kind text,"
            " ranking_id text)"
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO clicks VALUES (%s, %s, %s, %s, %s)",
                [
                    (r["user_id"], r["item_id"], r["ts"], r["kind"], r["ranking_id"])
                    for r in clicks.to_dict("records")
                ],
            )
    return PostgresFeedback(uri, "SELECT * FROM clicks")


@pytest.mark.parametrize("fmt", ["dataframe", "csv", "jsonl", "parquet", "postgres"])
def test_every_click_joins_from_every_source(served, fmt, request):
    """CSV, JSON lines, Parquet, a DataFrame and PostgreSQL give the same, complete join."""
    log, clicks, sql_type, folder = served
    source = as_source(fmt, clicks, sql_type, folder, lambda: request.getfixturevalue("postgres"))
    result, _ = attribute(log, source)
    assert result.matching["by_ranking_id"] == len(clicks), result.matching
    assert result.matching["unmatched"] == 0
    credited = result.outcomes[["credit_a", "credit_b"]].sum()
    assert credited.sum() > 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("101.0", "101"),
        (101.0, "101"),
        ("1e-7", "1e-07"),
        ("1e-07", "1e-07"),
        (1e-7, "1e-07"),
        ("007", "007"),
        ("101", "101"),
        ("1400000000000000001.0", "1400000000000000001"),
        (np.uint64(2**64 - 1), "18446744073709551615"),
        ("abc", "abc"),
        (None, None),
        (float("nan"), None),
    ],
)
def test_feedback_ids_take_the_logs_canonical_text(value, text):
    """Numbers (and text spelling a float) become the text the log's canonical id reads as."""
    assert id_text(value) == text

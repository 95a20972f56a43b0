"""The two-tower sample on a real PostgreSQL with pgvector: exact kNN, paging, and the full loop."""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Iterator
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, interleave, pinned
from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.sources import PostgresFeedback
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.testing import CapturingSink
from samples.two_tower import db as database
from samples.two_tower import world as host
from samples.two_tower.app import make_handler
from samples.two_tower.loop import INSERT_SQL, play
from samples.two_tower.towers import (
    FullTower,
    SharedContext,
    StreamingTower,
    fetch_context,
    towers,
)

FEEDBACK_QUERY = (
    "SELECT user_id, video_id AS item_id, ts, decision AS kind, ranking_id"
    " FROM user_video_decisions"
)


@pytest.fixture(scope="module")
def world() -> host.World:
    return host.generate(seed=3, videos=2_000, users=200)


@pytest.fixture(scope="module")
def dsn(postgres: str, world: host.World) -> str:
    """A database of its own on the session's server, loaded with the small world."""
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS two_tower")
        conn.execute("CREATE DATABASE two_tower")
    url = postgres.replace("/postgres?", "/two_tower?", 1)
    database.load(url, world)
    return url


@pytest.fixture
def db(dsn: str) -> Iterator[database.Database]:
    handle = database.Database(dsn)
    yield handle
    handle.close()


def brute_force(world: host.World, query: np.ndarray, decided: list[int], k: int) -> list[int]:
    """numpy's exact cosine top-k (ties by id), leaving out decided videos."""
    scores = world.video_emb.astype(np.float64) @ query.astype(np.float64)
    ids = world.video_ids()
    keep = ~np.isin(ids, decided)
    order = np.lexsort((ids[keep], -scores[keep]))
    return [int(v) for v in ids[keep][order][:k]]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_knn_equals_numpy_brute_force(db: database.Database, world: host.World, version: str) -> None:
    """pgvector's exact kNN gives numpy's cosine top-K, decided videos left out."""
    user = 11
    tower = towers(world)[version]
    shown = brute_force(world, tower.query(world.user_emb[user - 1]), [], 5)
    now = datetime.now(timezone.utc)
    db.execute_many(INSERT_SQL, [(user, v, "nope", now, None) for v in shown[:3]])
    context = fetch_context(db, user)
    assert set(shown[:3]) <= set(context.decided)
    expected = brute_force(world, tower.query(context.embedding), context.decided, 20)
    for probe in (1, 7, 42, 199):
        ctx = fetch_context(db, probe)
        want = brute_force(world, tower.query(ctx.embedding), ctx.decided, 20)
        assert list(FullTower(db, tower, limit=20)(probe)["item_id"]) == want
    assert list(FullTower(db, tower, limit=20)(user)["item_id"]) == expected
    assert not set(expected) & set(shown[:3])


def test_stream_pages_give_the_full_ranking(db: database.Database, world: host.World) -> None:
    """Keyset pages of 4 concatenate to the one-query list, one round trip per page pulled."""
    tower = towers(world)["v2"]
    context = fetch_context(db, 5)
    full = list(FullTower(db, tower, limit=30)(5, context)["item_id"])
    db.reset()
    stream = StreamingTower(db, tower, page=4).rank_stream(5, context)
    pulled = [next(stream)["item_id"] for _ in range(30)]
    assert pulled == full
    assert db.reset().round_trips == 8  # ceil(30 / 4): nothing fetched ahead of the pull


def test_like_nope_loop_ends_in_a_verdict_for_v2(
    dsn: str, db: database.Database, world: host.World, tmp_path
) -> None:
    """Decisions written back to PostgreSQL and read by the analysis make v2 (B) the winner."""
    sink = CapturingSink()
    executor = ArmExecutor(max_workers=2)
    try:
        recommend = make_handler(db, world, sink, executor=executor)
        written = play(recommend, world, db, requests=50, seed=1)
    finally:
        executor.shutdown()
    assert written > 0
    log = tmp_path / "rankings.jsonl"
    write_json_lines(log, sink.records)
    result = analyze(log, PostgresFeedback(dsn, FEEDBACK_QUERY), n_boot=200, seed=0)
    assert result.matching["by_ranking_id"] == written
    assert result.verdict.winner == "B"
    assert result.verdict.p_value < 0.01



@pytest.mark.parametrize(
    ("setup", "mode", "round_trips"),
    [
        ({"parallel": True}, "INTERLEAVE", 3),
        ({"parallel": False}, "INTERLEAVE", 3),
        ({"parallel": True, "streaming": True}, "INTERLEAVE", 3),
        ({"parallel": False, "streaming": True}, "INTERLEAVE", 3),
        ({}, "B", 2),
        ({"pin": "B"}, "INTERLEAVE", 2),
    ],
    ids=["parallel", "sequential", "streaming", "streaming-sequential", "mode-B", "pinned"],
)
def test_the_shared_stage_reads_the_user_once_per_request(
    db: database.Database, world: host.World, setup: dict, mode: str, round_trips: int
) -> None:
    """With candidates=, the user's row is read once per request: one query, then one per arm."""
    stage = SharedContext(db)
    sink = CapturingSink()
    executor = ArmExecutor(max_workers=2)
    setup = dict(setup)
    pin = setup.pop("pin", None)
    try:
        recommend = make_handler(db, world, sink, executor=executor, stage=stage, mode=mode, **setup)
        db.reset()
        for user in (3, 4, 5, 6):
            with pinned(pin) if pin else contextlib.nullcontext():
                recommend(user)
            assert sink.last["candidates"]["status"] == "ok"
            assert sink.last["fallback_reason"] is None
    finally:
        executor.shutdown()
    assert stage.calls == 4
    assert db.reset().round_trips == 4 * round_trips


def test_the_kill_switch_runs_no_shared_stage(db: database.Database, world: host.World) -> None:
    """mode A: the stage never runs; tower v1 serves exactly as undecorated."""
    stage = SharedContext(db)
    sink = CapturingSink()
    recommend = make_handler(db, world, sink, stage=stage, mode="A")
    served = recommend(8)
    pd.testing.assert_frame_equal(served, FullTower(db, towers(world)["v1"], limit=100)(8))
    assert stage.calls == 0 and sink.last["candidates"] is None and sink.last["fallback_reason"] is None


def test_a_failing_shared_stage_serves_v1_as_undecorated(db: database.Database, world: host.World) -> None:
    """The stage's failure serves tower v1 fetching its own context, reason candidates_error."""

    def broken(user_id: int, **_: object) -> None:
        raise ConnectionError("users table unavailable")

    sink = CapturingSink()
    recommend = make_handler(db, world, sink, stage=broken, parallel=False)
    served = recommend(8)
    expected = FullTower(db, towers(world)["v1"], limit=100)(8)
    pd.testing.assert_frame_equal(served, expected)
    assert sink.last["fallback_reason"] == "candidates_error"
    assert sink.last["candidates"]["status"] == "error"
    assert "users table unavailable" in sink.last["candidates"]["error"]


@pytest.mark.parametrize("parallel", [True, False])
def test_streaming_towers_pull_one_page_and_draft_as_the_full_lists(
    db: database.Database, world: host.World, parallel: bool
) -> None:
    """Paged kNN arms produce <= K+2 rows each and serve the Team Draft of the full lists."""
    sink = CapturingSink()
    executor = ArmExecutor(max_workers=2)
    try:
        recommend = make_handler(
            db, world, sink, executor=executor, shared=True, streaming=True, parallel=parallel
        )
        for user in (21, 22, 23):
            db.reset()
            served = recommend(user)
            counts = db.reset()
            record = sink.last
            assert record["served"] == "interleaved"
            assert record["arms"]["A"]["produced"] <= 12 and record["arms"]["B"]["produced"] <= 12
            assert counts.rows <= 1 + 2 * 12  # the user's row, then one page per arm
            context = fetch_context(db, user)
            full = {
                version: list(FullTower(db, towers(world)[version], limit=100)(user, context)["item_id"])
                for version in ("v1", "v2")
            }
            expected = interleave(
                "team_draft_v1", {"A": full["v1"], "B": full["v2"]}, 10,
                random.Random(record["seed"]["value"]),
            )  # fmt: skip
            assert list(served["item_id"]) == list(expected.items)
    finally:
        executor.shutdown()


def test_the_demo_ends_in_a_verdict_for_b(postgres: str, tmp_path, capsys) -> None:
    """samples/two_tower/demo.py, small, on the session's server: interleave-sdk analyze says B."""
    import psycopg

    from samples.two_tower.demo import main

    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS two_tower_demo")
        conn.execute("CREATE DATABASE two_tower_demo")
    dsn = postgres.replace("/postgres?", "/two_tower_demo?", 1)
    argv = ["--videos", "800", "--users", "80", "--requests", "40", "--dsn", dsn, "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "served 40 interleaved requests" in out
    assert re.search(r"^  winner +B$", out, re.M), out

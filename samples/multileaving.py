"""Multileave three model versions in one handler, then read the preference matrix.

Arms B and C are served next to the handler's own ranking (arm A); every interleaved list mixes
all three. Simulated users click C's items most and A's least; the analysis finds that order.
"""

from __future__ import annotations

import itertools
import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from interleave_sdk import StaticConfig, interleaved, last_ranking_id
from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.report import format_matrix
from interleave_sdk.analysis.testing import write_json_lines


def version(name: str):
    """A model version: its own ten items for every user, best first."""
    return lambda user_id: pd.DataFrame({"item_id": [f"{name}-{i}" for i in range(10)]})


lines: list[dict] = []
request_numbers = itertools.count()  # ranking ids, and so each request's seed, are reproducible


@interleaved(
    rankers={"B": version("b"), "C": version("c")},
    config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0),
    sink=lines.append,
    k=6,
    id_factory=lambda: f"request-{next(request_numbers)}",
    metrics=False,
)
def recommend(user_id: str) -> pd.DataFrame:
    return version("a")(user_id)


def main() -> None:
    users = random.Random(0)
    appeal = {"a": 0.10, "b": 0.20, "c": 0.35}
    clicks = []
    for n in range(600):
        user_id = f"user-{n % 150}"
        shown = recommend(user_id)
        ranking_id = last_ranking_id()
        served_at = datetime.fromisoformat(lines[-1]["ts"].replace("Z", "+00:00"))
        for item in shown["item_id"]:
            if users.random() < appeal[item[0]]:
                at = served_at + timedelta(seconds=5)
                clicks.append((user_id, item, at.isoformat(), "click", ranking_id))
    feedback = pd.DataFrame(clicks, columns=["user_id", "item_id", "ts", "kind", "ranking_id"])
    with tempfile.TemporaryDirectory() as folder:
        log = write_json_lines(Path(folder) / "rankings.jsonl", lines)
        result = analyze(log, feedback, seed=0)
    print(format_matrix(result.preference))


if __name__ == "__main__":
    main()

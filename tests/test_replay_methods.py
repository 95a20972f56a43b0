"""replay() goes through the method's own rebuild: an optimized line replays from its detail."""

from __future__ import annotations

import json
import random
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved, replay
from interleave_sdk.interleaving import optimized as opt
from interleave_sdk.observability.sinks import dumps
from interleave_sdk.testing import CapturingSink

from .conftest import frame

assert opt.warm_up()


@pytest.fixture
def method(monkeypatch: pytest.MonkeyPatch) -> opt.OptimizedInterleaver:
    """The registered optimized_v1, with its own empty cache and cost, and no background thread
    (so which requests fall back is decided by the test alone)."""
    registered = opt.optimized_linear
    monkeypatch.setattr(registered, "cache", opt.PatternCache(1024))
    monkeypatch.setattr(registered, "solver_cost", opt.SolverCost())
    monkeypatch.setattr(registered, "background", None)
    monkeypatch.setattr(registered, "time_budget_ms", registered.time_budget_ms)
    return registered


def arm_lists(user: int) -> tuple[list[str], list[str]]:
    """Two top-12 lists of one user, sharing some items in another order."""
    rng = random.Random(user)
    a = [f"v{x}" for x in rng.sample(range(30), 12)]
    b = [f"v{x}" for x in rng.sample(range(30), 12)]
    return a, b


def test_optimized_lines_and_their_fallbacks_replay_to_the_served_list(
    method: opt.OptimizedInterleaver,
    sink: CapturingSink,
    executor: ArmExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """100 decorated requests under optimized_v1, some falling back: every JSON log line replays
    to exactly the served ids and teams, without solving anything again."""

    def rank_b(user_id: int, context: Any = None) -> pd.DataFrame:
        return frame(arm_lists(user_id)[1], "B")

    @interleaved(
        rankers={"B": rank_b},
        config=StaticConfig(mode="INTERLEAVE", interleave_method="optimized_v1"),
        sink=sink,
        executor=executor,
        k=10,
    )
    def recommend(user_id: int, context: Any = None) -> pd.DataFrame:
        return frame(arm_lists(user_id)[0], "A")

    served = []
    for user in range(100):
        # Even requests may solve (generous budget); odd ones only hit the cache, else fall back.
        method.time_budget_ms = 10_000 if user % 2 == 0 else 0
        result = recommend(user)
        served.append((list(result["item_id"]), list(result["source_ranker"])))
    lines = [json.loads(dumps(record)) for record in sink.records]
    assert len(lines) == 100
    methods = [line["method"] for line in lines]
    assert methods.count("optimized_v1") >= 40 and methods.count("team_draft_v1") >= 10
    assert all(line["method_requested"] == "optimized_v1" for line in lines)

    def no_solving(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay must not solve the LP")

    method.time_budget_ms = 10_000  # a re-solve would now succeed where the request fell back
    method.cache.clear()
    monkeypatch.setattr(opt, "_solve", no_solving)
    for line, (ids, teams) in zip(lines, served, strict=True):
        again = replay(line)
        assert (list(again.items), list(again.teams)) == (ids, teams)
        assert again.method == line["method"]

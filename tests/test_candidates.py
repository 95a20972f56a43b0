"""The shared candidate stage: run once per request, passed to every arm, failing open alone."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved, pinned
from interleave_sdk.testing import CapturingSink

from .conftest import frame


class Stage:
    """A candidate stage that counts its calls (thread-safe) and can be told to fail or stall."""

    def __init__(self, fail: BaseException | None = None, stall_s: float = 0.0) -> None:
        self.calls = 0
        self.fail = fail
        self.stall = threading.Event()
        self.stall_s = stall_s
        self._lock = threading.Lock()

    def __call__(self, user_id: str) -> list[str]:
        with self._lock:
            self.calls += 1
        if self.stall_s:
            self.stall.wait(self.stall_s)
        if self.fail is not None:
            raise self.fail
        return ["c1", "c2", "c3", "c4"]


def build(
    stage: Stage, pool: ArmExecutor, sink: CapturingSink, *, mode: str = "INTERLEAVE", rate: float = 1.0,
    parallel: bool = True, timeout_ms: float = 2000.0,
) -> tuple[Any, list[Any]]:  # fmt: skip
    seen: list[Any] = []

    def rank_b(user_id: str, candidates: list[str] | None = None) -> pd.DataFrame:
        seen.append(("B", candidates))
        return frame(list(reversed(candidates or ["own"])), "B")

    config = StaticConfig(mode=mode, sampling_rate=rate, parallel_enabled=parallel, timeout_ms=timeout_ms)

    @interleaved(rankers={"B": rank_b}, candidates=stage, config=config, sink=sink, executor=pool)
    def recommend(user_id: str, candidates: list[str] | None = None) -> pd.DataFrame:
        seen.append(("A", candidates))
        return frame(candidates or ["own-a1", "own-a2"], "A")

    return recommend, seen


CASES = {
    "interleaved parallel": {"parallel": True},
    "interleaved sequential": {"parallel": False},
    "mode B": {"mode": "B"},
}
#: Paths the switches serve with the decorated function: no SDK stage runs at all.
HANDLER_CASES = {
    "kill switch": {"mode": "A"},
    "out of sample": {"rate": 0.0},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_stage_runs_exactly_once_and_every_arm_gets_its_result(
    pool: ArmExecutor, sink: CapturingSink, case: str
) -> None:
    """In every mode the stage runs once per request and each arm run receives its list."""
    stage = Stage()
    recommend, seen = build(stage, pool, sink, **CASES[case])
    for i in range(3):
        recommend(f"u{i}")
    assert stage.calls == 3
    assert seen and all(candidates == ["c1", "c2", "c3", "c4"] for _, candidates in seen)
    assert all(r["candidates"]["status"] == "ok" for r in sink.records)


@pytest.mark.parametrize("case", sorted(HANDLER_CASES))
def test_paths_the_switches_serve_by_the_handler_never_call_the_stage(
    pool: ArmExecutor, sink: CapturingSink, case: str
) -> None:
    """Kill switch and out of sample: the stage never runs; the handler gets the caller's arguments."""
    stage = Stage()
    recommend, seen = build(stage, pool, sink, **HANDLER_CASES[case])
    recommend("u1")
    recommend("u2", candidates=["mine"])
    assert stage.calls == 0
    assert seen == [("A", None), ("A", ["mine"])]
    assert all(r["candidates"] is None and r["fallback_reason"] is None for r in sink.records)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_callers_own_candidates_are_never_replaced(
    pool: ArmExecutor, sink: CapturingSink, case: str
) -> None:
    """candidates= passed by the caller (keyword or position) reaches every arm; the stage never runs."""
    stage = Stage()
    recommend, seen = build(stage, pool, sink, **CASES[case])
    recommend("u1", candidates=["x1", "x2"])
    recommend("u2", ["x1", "x2"])
    assert stage.calls == 0
    assert seen and all(candidates == ["x1", "x2"] for _, candidates in seen)


def test_the_stage_runs_once_under_a_pin(pool: ArmExecutor, sink: CapturingSink) -> None:
    """A pinned request runs the stage once too, and the pinned arm gets its result."""
    stage = Stage()
    recommend, seen = build(stage, pool, sink)
    with pinned("B"):
        recommend("u1")
    assert stage.calls == 1 and seen == [("B", ["c1", "c2", "c3", "c4"])]


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_a_failing_stage_serves_the_handler_without_candidates(
    pool: ArmExecutor, sink: CapturingSink, parallel: bool
) -> None:
    """The stage raising: no arm runs; the handler is called once, exactly as undecorated."""
    stage = Stage(fail=ConnectionError("feature store down"))
    recommend, seen = build(stage, pool, sink, parallel=parallel)
    assert recommend("u1")["item_id"].tolist() == ["own-a1", "own-a2"]
    assert stage.calls == 1 and seen == [("A", None)]
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "candidates_error")
    assert record["candidates"]["status"] == "error" and "feature store down" in record["candidates"]["error"]
    assert record["candidates"]["latency_ms"] is not None


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_a_stage_past_the_deadline_serves_the_handler_without_candidates(
    pool: ArmExecutor, sink: CapturingSink, parallel: bool
) -> None:
    """The stage finishing after timeout_ms in an interleaved request: candidates_timeout."""
    stage = Stage(stall_s=0.08)
    recommend, seen = build(stage, pool, sink, parallel=parallel, timeout_ms=20.0)
    assert recommend("u1")["item_id"].tolist() == ["own-a1", "own-a2"]
    assert stage.calls == 1 and seen == [("A", None)]
    assert sink.last["fallback_reason"] == "candidates_timeout"
    assert sink.last["candidates"]["status"] == "timeout"

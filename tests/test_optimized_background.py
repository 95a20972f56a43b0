"""Background solving of cold optimized patterns: served Team Draft now, optimized once solved."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from interleave_sdk.interleaving import optimized as opt
from interleave_sdk.interleaving.optimized import BackgroundSolver, OptimizedInterleaver, SolverCost

from .conftest import in_forked_child

assert opt.warm_up()

PAIR = {"A": [1, 2, 3, 4, 5, 6], "B": [3, 7, 1, 8, 9, 2]}
SAME_PATTERN = {"A": list("uvwxyz"), "B": ["w", "q", "u", "m", "n", "v"]}
OTHER_PATTERN = {"A": [1, 2, 3, 4, 5, 6], "B": [10, 11, 12, 13, 14, 15]}


@pytest.fixture
def solver() -> BackgroundSolver:
    return BackgroundSolver(max_pending=4, time_limit_s=30.0)


def occupy(solver: BackgroundSolver) -> threading.Event:
    """Make the solver's thread busy on a job that waits for the returned event."""
    release, running = threading.Event(), threading.Event()

    def hold() -> None:
        running.set()
        release.wait(30)

    assert solver.submit("hold", hold) == "queued"
    assert running.wait(30)
    return release


@pytest.fixture
def blocked(solver: BackgroundSolver) -> Iterator[threading.Event]:
    """The solver's thread busy until this event is set (released at teardown)."""
    release = occupy(solver)
    yield release
    release.set()
    assert solver.wait_idle(30)


def cold(solver: BackgroundSolver | bool, **options: float) -> OptimizedInterleaver:
    """An interleaver whose every cold pattern misses the request budget (0 ms)."""
    return OptimizedInterleaver(
        "test_background", time_budget_ms=0, solver_cost=SolverCost(), background=solver, **options
    )


def test_a_cold_pattern_is_solved_in_the_background_and_then_served_optimized(
    solver: BackgroundSolver,
) -> None:
    """Cold: Team Draft now, the pattern queued; after the solve, the same pattern is optimized."""
    method = cold(solver)
    first = method(PAIR, 6, random.Random(0))
    assert first.method == "team_draft_v1" and first.detail is not None
    assert (first.detail["fallback"], first.detail["background"]) == ("time_budget", "queued")
    assert solver.wait_idle(30)
    assert solver.counts["solved"] == 1
    second = method(PAIR, 6, random.Random(0))
    assert second.method == "test_background"
    assert second.detail is not None and second.detail["cache"] == "hit"


def test_the_solved_pattern_serves_other_ids_with_the_same_overlap(solver: BackgroundSolver) -> None:
    """The cache is by pattern: other ids with the same overlap are optimized after one solve."""
    method = cold(solver)
    method(PAIR, 6, random.Random(0))
    assert solver.wait_idle(30)
    again = method(SAME_PATTERN, 6, random.Random(1))
    assert again.method == "test_background"


def test_a_pattern_already_pending_is_not_queued_twice(
    solver: BackgroundSolver, blocked: threading.Event
) -> None:
    """Two cold requests with one pattern while it waits: queued once, the second says so."""
    method = cold(solver)
    first = method(PAIR, 6, random.Random(0))
    second = method(SAME_PATTERN, 6, random.Random(0))
    assert first.detail is not None and first.detail["background"] == "queued"
    assert second.detail is not None and second.detail["background"] == "already_queued"
    assert solver.pending == 2  # the held job and this pattern
    blocked.set()
    assert solver.wait_idle(30)
    assert (solver.counts["queued"], solver.counts["solved"]) == (2, 2)


def test_a_full_queue_drops_the_pattern_and_counts_it() -> None:
    """Past max_pending a pattern is dropped (queue_full, counted) and queued by a later request."""
    solver = BackgroundSolver(max_pending=2, time_limit_s=30.0)
    release = occupy(solver)
    method = cold(solver)
    assert method(PAIR, 6, random.Random(0)).detail["background"] == "queued"  # type: ignore[index]
    dropped = method(OTHER_PATTERN, 6, random.Random(0))
    assert dropped.method == "team_draft_v1" and dropped.detail is not None
    assert dropped.detail["background"] == "queue_full"
    assert solver.counts["queue_full"] == 1
    release.set()
    assert solver.wait_idle(30)
    assert method(PAIR, 6, random.Random(0)).method == "test_background"
    assert method(OTHER_PATTERN, 6, random.Random(0)).detail["background"] == "queued"  # type: ignore[index]
    assert solver.wait_idle(30)
    assert method(OTHER_PATTERN, 6, random.Random(0)).method == "test_background"


def test_an_infeasible_pattern_solved_in_the_background_is_cached_and_counted_failed(
    solver: BackgroundSolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background solve that finds no distribution counts as failed; its verdict is cached."""

    def infeasible(pattern: object, limit: int, deadline: float, clock: Any, *rest: Any, **kw: Any) -> None:
        # Small full-length pairs are all feasible (an empty arm is short_arm, refused before
        # solving), so the solver's verdict is stood in for: over budget on the request, then
        # infeasible in the background.
        if deadline <= clock():
            raise opt.Fallback("time_budget", stage="predicted")
        raise opt.Fallback("infeasible", candidates=1)

    monkeypatch.setattr(opt, "_solve", infeasible)
    method = cold(solver)
    method({"A": [1, 2, 3], "B": [4, 5, 6]}, 3, random.Random(0))
    assert solver.wait_idle(30)
    assert solver.counts["failed"] == 1
    again = method({"A": [7, 8, 9], "B": [10, 11, 12]}, 3, random.Random(0))
    assert again.detail is not None and again.detail["fallback"] == "infeasible"


def test_with_a_background_solver_no_request_pays_a_probe(
    solver: BackgroundSolver, blocked: threading.Event
) -> None:
    """A predicted-too-slow solve is never run inline (no probe), even with probe_every=1."""
    cost = SolverCost(initial_s=100.0, probe_every=1)
    method = OptimizedInterleaver(
        "test_noprobe", time_budget_ms=10_000, solver_cost=cost, background=solver
    )
    for seed in range(3):
        drawn = method(PAIR, 6, random.Random(seed))
        assert drawn.method == "team_draft_v1" and drawn.detail is not None
        assert drawn.detail["stage"] == "predicted"


def test_background_false_solves_only_inline() -> None:
    """background=False: a cold pattern over budget is not queued anywhere."""
    drawn = cold(False)(PAIR, 6, random.Random(0))
    assert drawn.detail is not None and "background" not in drawn.detail


def test_bad_background_options_are_refused() -> None:
    """A wrong background option fails at construction, naming what is accepted."""
    with pytest.raises(ValueError, match="True, False or a BackgroundSolver"):
        OptimizedInterleaver("x", background="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_pending"):
        BackgroundSolver(max_pending=0)
    with pytest.raises(ValueError, match="time_limit_s"):
        BackgroundSolver(time_limit_s=0)


def test_no_thread_is_started_at_import_or_decoration() -> None:
    """Importing the SDK, registering the methods and decorating a handler start no solver thread."""
    code = (
        "import threading\n"
        "from interleave_sdk import StaticConfig, interleaved\n"
        "from interleave_sdk.interleaving import available_methods, optimized\n"
        "available_methods()\n"
        "@interleaved(rankers={'B': lambda user_id: None}, config=StaticConfig("
        "interleave_method='optimized_v1'))\n"
        "def f(user_id): return None\n"
        "assert not optimized.SHARED_BACKGROUND_SOLVER.started\n"
        "assert optimized.optimized_linear.background is optimized.SHARED_BACKGROUND_SOLVER\n"
        "assert [t.name for t in threading.enumerate()] == ['MainThread'], threading.enumerate()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_starts_with_an_empty_queue_and_its_own_thread(
    solver: BackgroundSolver, blocked: threading.Event
) -> None:
    """Forked while the parent's solver is busy: the child has no thread and no pending pattern,
    and its first cold pattern is queued, solved by its own thread, then served optimized."""
    method = cold(solver)
    method(PAIR, 6, random.Random(0))  # pending in the parent

    def child() -> bytes:
        fresh = (solver.started, solver.pending, solver.counts["queued"])
        queued = method(OTHER_PATTERN, 6, random.Random(0)).detail["background"]  # type: ignore[index]
        idle = solver.wait_idle(30)
        served = method(OTHER_PATTERN, 6, random.Random(0)).method
        return repr((fresh, queued, idle, served)).encode()

    reported = in_forked_child(child).decode()
    assert reported == repr(((False, 0, 0), "queued", True, "test_background"))
    assert solver.pending == 2  # the parent's queue is untouched


def test_a_thread_that_cannot_start_fails_open_and_leaves_nothing_pending(
    solver: BackgroundSolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the process cannot start the thread, the request is still Team Draft and no pattern
    waits for a thread that does not exist; the next request tries again."""

    class NoThreads(threading.Thread):
        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading, "Thread", NoThreads)
    method = cold(solver)
    drawn = method(PAIR, 6, random.Random(0))
    assert drawn.method == "team_draft_v1" and drawn.detail is not None
    assert drawn.detail["fallback"] == "solver_error"
    assert (solver.pending, solver.started) == (0, False)
    monkeypatch.undo()
    assert method(PAIR, 6, random.Random(0)).detail["background"] == "queued"  # type: ignore[index]
    assert solver.wait_idle(30)

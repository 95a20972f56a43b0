"""``prefetch(recommend)``: the switches read during init, so the first request reads no SSM."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ConfigSnapshot, SSMConfig, StaticConfig, interleaved, prefetch
from interleave_sdk.testing import CapturingSink

from .local_aws import REGION, put


def rank_b(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": [2, 1]})


def get_parameters_calls(config: SSMConfig) -> list[int]:
    calls: list[int] = []
    config.client.meta.events.register("after-call.ssm.GetParameters", lambda **kw: calls.append(1))
    return calls


class CountingConfig:
    def __init__(self) -> None:
        self.calls = 0

    def get(self) -> ConfigSnapshot:
        self.calls += 1
        return StaticConfig(mode="B").get()


def test_decoration_does_no_io_and_prefetch_reads_once() -> None:
    """Decorating reads nothing; prefetch reads the provider once and returns the snapshot."""
    config = CountingConfig()

    @interleaved(rankers={"B": rank_b}, config=config, sink=CapturingSink())
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": [1, 2]})

    assert config.calls == 0
    snapshot = prefetch(recommend)
    assert config.calls == 1 and snapshot is not None and snapshot.settings.mode == "B"


def test_first_request_after_prefetch_reads_no_ssm(admin: Any, ssm_url: str) -> None:
    """Over HTTP to a local SSM: prefetch does the one GetParameters; the first request does none."""
    put(admin, {"mode": "B"})
    config = SSMConfig(endpoint_url=ssm_url, region=REGION, environ={})
    calls = get_parameters_calls(config)
    sink = CapturingSink()

    @interleaved(rankers={"B": rank_b}, config=config, sink=sink)
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": [1, 2]})

    assert prefetch(recommend) is not None and len(calls) == 1
    recommend("u1")
    assert len(calls) == 1
    assert (sink.records[0]["served"], sink.records[0]["config"]["source"]) == ("B", "cache")


def test_prefetch_on_a_method_reaches_its_engine() -> None:
    """A decorated method, prefetched through the class or an instance, reads its provider."""
    config = CountingConfig()

    class Service:
        @interleaved(rankers={"B": "rank_b"}, config=config, sink=CapturingSink())
        def recommend(self, user_id: str) -> pd.DataFrame:
            return pd.DataFrame({"item_id": [1, 2]})

        def rank_b(self, user_id: str) -> pd.DataFrame:
            return rank_b(user_id)

    assert prefetch(Service.recommend) is not None
    assert prefetch(Service().recommend) is not None
    assert config.calls == 2


def test_a_failed_read_is_logged_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    """SSM unreachable at init: prefetch logs one WARNING and returns None (the init goes on)."""

    class Down:
        def get(self) -> ConfigSnapshot:
            raise ConnectionError("no route to SSM")

    @interleaved(rankers={"B": rank_b}, config=Down(), sink=CapturingSink())
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": [1, 2]})

    with caplog.at_level(logging.WARNING, logger="interleave_sdk"):
        assert prefetch(recommend) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no route to SSM" in warnings[0]


def test_an_undecorated_function_has_nothing_to_load() -> None:
    """``enabled=False`` returns the function itself: prefetch returns None and reads nothing."""
    config = CountingConfig()

    @interleaved(rankers={"B": rank_b}, config=config, enabled=False)
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": [1, 2]})

    assert prefetch(recommend) is None and config.calls == 0
    assert not hasattr(recommend, "_self_interleave_config")


def test_not_a_function_is_refused() -> None:
    """Passing the provider or a string by mistake raises TypeError."""
    with pytest.raises(TypeError, match="decorated function"):
        prefetch("recommend")

"""A mode naming no arm of the decorator is logged at WARNING once per config version."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from interleave_sdk import interleaved
from interleave_sdk.config import ConfigSnapshot, Settings
from interleave_sdk.testing import CapturingSink


class VersionedConfig:
    """A provider whose mode and SSM-like version the test changes between calls."""

    def __init__(self, mode: str, version: int) -> None:
        self.mode, self.version = mode, version

    def get(self) -> ConfigSnapshot:
        return ConfigSnapshot(Settings(mode=self.mode), "ssm", self.version)


def make(config: VersionedConfig, sink: CapturingSink):  # type: ignore[no-untyped-def]
    @interleaved(
        rankers={"B": lambda user_id: pd.DataFrame({"item_id": [2, 1]})},
        config=config,
        sink=sink,
        experiment="typo",
        metrics=False,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": [1, 2]})

    return recommend


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "interleave_sdk" and r.levelno == logging.WARNING and "names no arm" in r.getMessage()
    ]


def test_one_warning_per_config_version_not_per_request(caplog: pytest.LogCaptureFixture) -> None:
    """Many requests under one version give one WARNING; a new version with the typo gives one more."""
    config, sink = VersionedConfig("INTERLEAV", 3), CapturingSink()
    recommend = make(config, sink)
    with caplog.at_level(logging.WARNING, logger="interleave_sdk"):
        for n in range(20):
            recommend(f"u{n}")
        assert len(warnings_of(caplog)) == 1
        config.version = 4
        for n in range(5):
            recommend(f"u{n}")
    messages = warnings_of(caplog)
    assert len(messages) == 2
    assert "'INTERLEAV'" in messages[0] and "version 3" in messages[0] and "A, B" in messages[0]
    assert {r["fallback_reason"] for r in sink.records} == {"unknown_arm"}


def test_known_modes_log_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    """INTERLEAVE, the baseline and the other arm never trigger the warning."""
    config = VersionedConfig("INTERLEAVE", 1)
    recommend = make(config, CapturingSink())
    with caplog.at_level(logging.WARNING, logger="interleave_sdk"):
        for mode in ("INTERLEAVE", "A", "B"):
            config.mode = mode
            recommend("u1")
    assert warnings_of(caplog) == []

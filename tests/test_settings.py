"""Settings validation: every key parsed, every bad value named with what was expected."""

from __future__ import annotations

import pytest

from interleave_sdk import EnvConfig, InvalidConfigValue, Settings, StaticConfig


@pytest.mark.parametrize(
    ("key", "raw", "parsed"),
    [
        ("mode", "interleave", "INTERLEAVE"),
        ("mode", " a ", "A"),
        ("sampling_rate", "0.25", 0.25),
        ("sampling_rate", 1, 1.0),
        ("parallel_enabled", "FALSE", False),
        ("parallel_enabled", "1", True),
        ("interleave_method", "team_draft_v1", "team_draft_v1"),
        ("seed_strategy", "User", "user"),
        ("timeout_ms", "150", 150.0),
    ],
)
def test_values_parse(key: str, raw: object, parsed: object) -> None:
    """Text as stored in SSM or the environment becomes typed settings."""
    assert getattr(Settings.from_mapping({key: raw}), key) == parsed


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("mode", "C", "one of A, B, INTERLEAVE"),
        ("mode", 1, "one of A, B, INTERLEAVE"),
        ("sampling_rate", "1.5", "between 0 and 1"),
        ("sampling_rate", "-0.1", "between 0 and 1"),
        ("sampling_rate", "nan", "between 0 and 1"),
        ("sampling_rate", "lots", "between 0 and 1"),
        ("sampling_rate", True, "between 0 and 1"),
        ("parallel_enabled", "maybe", "a boolean"),
        ("interleave_method", "optimized_v9", "team_draft_v1"),
        ("seed_strategy", "session", "one of user, request"),
        ("timeout_ms", "0", "positive number"),
        ("timeout_ms", "inf", "positive number"),
    ],
)
def test_bad_values_name_key_value_and_expectation(key: str, raw: object, expected: str) -> None:
    """A bad value raises InvalidConfigValue carrying key, value and the expectation."""
    with pytest.raises(InvalidConfigValue, match=expected) as caught:
        Settings.from_mapping({key: raw})
    assert caught.value.key == key and caught.value.value == raw
    assert key in str(caught.value)


def test_defaults_are_safe() -> None:
    """With nothing configured, everybody gets the baseline."""
    assert Settings().mode == "A"


def test_static_config_rejects_unknown_keys() -> None:
    """A typo in code fails at construction, naming the known keys."""
    with pytest.raises(InvalidConfigValue, match="sampling_rate"):
        StaticConfig(sampling_rat=0.2)


def test_settings_are_frozen() -> None:
    """Settings cannot be changed in place; replace() makes a validated copy."""
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.mode = "B"  # type: ignore[misc]
    assert settings.replace(mode="b").mode == "B"
    with pytest.raises(InvalidConfigValue):
        settings.replace(sampling_rate=2)


def test_env_config_reads_prefixed_variables() -> None:
    """INTERLEAVE_SDK_<KEY> variables build the settings; absent ones take defaults."""
    snapshot = EnvConfig(
        {"INTERLEAVE_SDK_MODE": "interleave", "INTERLEAVE_SDK_SAMPLING_RATE": "0.1"}
    ).get()
    assert (snapshot.settings.mode, snapshot.settings.sampling_rate, snapshot.source) == (
        "INTERLEAVE",
        0.1,
        "env",
    )
    assert EnvConfig({}).get().source == "default"


def test_env_config_rejects_bad_values() -> None:
    """A bad environment value is an error, not a silent default."""
    with pytest.raises(InvalidConfigValue, match="mode"):
        EnvConfig({"INTERLEAVE_SDK_MODE": "ON"}).get()

"""Settings validation: every key parsed, every bad value named with what was expected."""

from __future__ import annotations

from typing import Any

import pytest

from interleave_sdk import EnvConfig, InvalidConfigValue, Settings, StaticConfig
from interleave_sdk.config import ConfigSnapshot, checked_snapshot
from interleave_sdk.errors import ConfigError


@pytest.mark.parametrize(
    ("key", "raw", "parsed"),
    [
        ("mode", "interleave", "INTERLEAVE"),
        ("mode", " a ", "A"),
        ("mode", "b", "B"),
        ("mode", "Interleave", "INTERLEAVE"),
        ("mode", "C", "C"),
        ("mode", "c", "c"),
        ("mode", "ranker_v2-beta", "ranker_v2-beta"),
        ("mode", "x" * 32, "x" * 32),
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
        ("mode", "C D", "INTERLEAVE or an arm name"),
        ("mode", "1st", "INTERLEAVE or an arm name"),
        ("mode", "", "INTERLEAVE or an arm name"),
        ("mode", "x" * 33, "INTERLEAVE or an arm name"),
        ("mode", "B!", "INTERLEAVE or an arm name"),
        ("mode", 1, "INTERLEAVE or an arm name"),
        ("mode", None, "INTERLEAVE or an arm name"),
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
        EnvConfig({"INTERLEAVE_SDK_MODE": "on off"}).get()


# -- a provider's snapshot is re-validated ----------------------------------------------------------


def forged(settings: Settings, **fields: object) -> Settings:
    """Settings whose frozen fields were overwritten after validation (what a buggy provider does)."""
    for key, value in fields.items():
        object.__setattr__(settings, key, value)
    return settings


class DuckSnapshot:
    """Looks like a snapshot, is not one."""

    settings = Settings(mode="INTERLEAVE")
    source = "mine"
    version = None
    age_s = 0.0


@pytest.mark.parametrize(
    "value", [{"mode": "INTERLEAVE"}, DuckSnapshot(), None, Settings()], ids=repr
)
def test_a_provider_returning_no_snapshot_is_a_config_error(value: object) -> None:
    """A dict, a duck-typed object or a bare Settings is refused, naming what was returned."""
    with pytest.raises(ConfigError, match=f"returned {type(value).__name__}, expected ConfigSnapshot"):
        checked_snapshot(value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("sampling_rate", 2, "between 0 and 1"),
        ("sampling_rate", "nan", "between 0 and 1"),
        ("sampling_rate", float("nan"), "between 0 and 1"),
        ("timeout_ms", 0, "positive number"),
        ("timeout_ms", -5, "positive number"),
        ("mode", "C D", "INTERLEAVE or an arm name"),
        ("parallel_enabled", "maybe", "a boolean"),
        ("interleave_method", "coin", "team_draft_v1"),
    ],
)
def test_forged_settings_are_refused_naming_key_value_and_expectation(
    key: str, value: object, expected: str
) -> None:
    """Settings fields overwritten with bad values fail like the same value from a config source."""
    snapshot = ConfigSnapshot(forged(Settings(mode="INTERLEAVE"), **{key: value}), "mine")
    with pytest.raises(InvalidConfigValue, match=expected) as caught:
        checked_snapshot(snapshot)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("age_s", None, "finite number of seconds"),
        ("age_s", -1.0, "finite number of seconds"),
        ("age_s", float("nan"), "finite number of seconds"),
        ("age_s", True, "finite number of seconds"),
        ("source", 5, "a str"),
        ("version", "3", "an int or None"),
        ("version", True, "an int or None"),
    ],
)
def test_bad_snapshot_fields_are_refused(key: str, value: object, expected: str) -> None:
    """The snapshot's own fields (source, version, age) are checked too: they go into every log line."""
    fields: dict[str, Any] = {"settings": Settings(), "source": "mine", "version": 1, "age_s": 0.5}
    fields[key] = value
    with pytest.raises(InvalidConfigValue, match=expected) as caught:
        checked_snapshot(ConfigSnapshot(**fields))
    assert caught.value.key == key


def test_a_forged_arm_name_mode_is_accepted_and_legacy_names_normalised() -> None:
    """Mode "C" is a well-formed arm name now; a forged "b" reads as "B", as from any source."""
    ok = ConfigSnapshot(forged(Settings(), mode="C"), "mine")
    assert checked_snapshot(ok).settings.mode == "C"
    legacy = ConfigSnapshot(forged(Settings(), mode="b"), "mine", age_s=3)
    checked = checked_snapshot(legacy)
    assert (checked.settings.mode, checked.age_s, type(checked.age_s)) == ("B", 3.0, float)


def test_a_valid_snapshot_comes_back_unchanged() -> None:
    """The common case costs no copy: StaticConfig's snapshot is returned as it is."""
    snapshot = StaticConfig(mode="INTERLEAVE", sampling_rate=0.5).get()
    assert checked_snapshot(snapshot) is snapshot
    assert checked_snapshot(snapshot) is snapshot


def test_settings_forged_after_a_first_check_are_checked_again() -> None:
    """Checking once does not vouch for later: a field changed afterwards is caught."""
    snapshot = ConfigSnapshot(Settings(mode="INTERLEAVE"), "mine")
    assert checked_snapshot(snapshot) is snapshot
    forged(snapshot.settings, timeout_ms=0)
    with pytest.raises(InvalidConfigValue, match="timeout_ms"):
        checked_snapshot(snapshot)


@pytest.mark.parametrize("value", [9.3e12, 900_001, "1e15"])
def test_an_absurd_timeout_is_refused_where_it_is_set(value: object) -> None:
    """timeout_ms above 15 minutes is refused with the bound in the message."""
    with pytest.raises(InvalidConfigValue, match="at most 900000"):
        StaticConfig(timeout_ms=value)

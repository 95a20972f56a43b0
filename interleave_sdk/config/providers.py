"""Configuration providers: where the switches come from.

A provider has one method, :meth:`ConfigProvider.get`, returning a :class:`ConfigSnapshot` — the
validated settings plus where they came from and how old they are, both of which go into every log
line. Providers may raise :class:`~interleave_sdk.errors.ConfigError`; the decorator turns that into
the safe baseline.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from ..errors import ConfigError, ConfigUnavailable, InvalidConfigValue
from .cache import Lookup
from .settings import PARSERS, Settings


@dataclass(frozen=True)
class ConfigSnapshot:
    """Settings as served to one request, with their provenance."""

    settings: Settings
    source: str  # static | env | ssm | cache | stale | default
    version: int | None = None
    age_s: float = 0.0


def checked_snapshot(value: object) -> ConfigSnapshot:
    """A provider's return value, re-validated: the snapshot to use, or :class:`ConfigError`.

    A provider may be the user's own code, and a frozen dataclass can still be built with wrong
    types or forged with ``object.__setattr__``; trusting it would let a zero timeout or a
    sampling rate of 2 into every request. So every field is checked by the same parsers the
    providers use, each failure naming key, value and what was expected. A setting that parses
    to a different but valid value (``mode="a"``) is normalised. Each distinct settings object is
    fully checked once; later calls compare its field values with the ones checked.
    """
    if not isinstance(value, ConfigSnapshot):
        raise ConfigError(
            f"config provider returned {type(value).__name__}, expected ConfigSnapshot"
        )
    settings = _checked_settings(value.settings)
    source, version, age_s = value.source, value.version, value.age_s
    if type(source) is not str:
        raise InvalidConfigValue("source", source, "a str naming where the settings came from")
    if version is not None and (type(version) is not int):
        raise InvalidConfigValue("version", version, "an int or None")
    if (
        isinstance(age_s, bool)
        or not isinstance(age_s, (int, float))
        or not 0.0 <= age_s < math.inf  # NaN fails both comparisons
    ):
        raise InvalidConfigValue("age_s", age_s, "a finite number of seconds >= 0")
    if settings is not value.settings or type(age_s) is not float:
        return ConfigSnapshot(settings, source, version, float(age_s))
    return value


#: Settings objects already checked, by id, with the field values they had when checked (bounded;
#: a stale entry is harmless because the values are compared on every use).
_CHECKED: dict[int, tuple[object, tuple[object, ...], Settings]] = {}
_FIELDS = operator.attrgetter(*PARSERS)  # one C call for every field's value, in PARSERS order


def _checked_settings(settings: object) -> Settings:
    """The settings, validated field by field (and normalised), or ``InvalidConfigValue``."""
    if not isinstance(settings, Settings):
        raise InvalidConfigValue("settings", settings, "a Settings object")
    fields = _FIELDS(settings)
    known = _CHECKED.get(id(settings))
    if known is not None and known[0] is settings and known[1] == fields:
        return known[2]
    parsed = {key: PARSERS[key](field) for key, field in zip(PARSERS, fields, strict=True)}
    clean = settings
    if any(
        parsed[key] != field or type(parsed[key]) is not type(field)
        for key, field in zip(PARSERS, fields, strict=True)
    ):
        clean = Settings(**parsed)
    if len(_CHECKED) >= 64:
        _CHECKED.clear()
    _CHECKED[id(settings)] = (settings, fields, clean)
    return clean


@runtime_checkable
class ConfigProvider(Protocol):
    """Anything with a ``get()`` returning a :class:`ConfigSnapshot`.

    A provider whose switches depend on the user (flag rules that target segments) may also have
    ``get_for(user_id_or_None)``; the engine then calls that instead (see :func:`config_reader`).
    """

    def get(self) -> ConfigSnapshot: ...


def config_reader(provider: ConfigProvider) -> Callable[[str | None], object]:
    """How the engine reads ``provider`` for one request's user: ``get_for(user)`` when the
    provider targets users (OpenFeature), else ``get()``. Resolved once, at decoration."""
    get_for = getattr(provider, "get_for", None)
    if callable(get_for):
        return get_for  # type: ignore[no-any-return]
    get = provider.get
    return lambda _user: get()


class StaticConfig:
    """Fixed settings given in code: ``StaticConfig(mode="INTERLEAVE", sampling_rate=0.2)``.

    Validated at construction (an unknown key or a bad value raises ``InvalidConfigValue`` right
    away, at import time of the handler, where a typo is cheapest to find).
    """

    def __init__(self, **settings: object) -> None:
        self._snapshot = ConfigSnapshot(Settings.from_mapping(settings, strict=True), "static")

    @property
    def settings(self) -> Settings:
        return self._snapshot.settings

    def get(self) -> ConfigSnapshot:
        return self._snapshot

    def __repr__(self) -> str:
        return f"StaticConfig({self._snapshot.settings!r})"


ENV_PREFIX = "INTERLEAVE_SDK_"


def env_values(
    environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX
) -> dict[str, str]:
    """The raw settings present in the environment, e.g. ``INTERLEAVE_SDK_MODE=A`` -> ``mode``."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for key in PARSERS:
        value = env.get(prefix + key.upper())
        if value is not None and value.strip() != "":
            found[key] = value
    return found


class EnvConfig:
    """Settings from environment variables (``INTERLEAVE_SDK_MODE``, ``..._SAMPLING_RATE``, ...).

    Read on every call (a dict lookup, no I/O) so tests and local runs can flip them; parsed
    settings are memoised per distinct set of raw values. Missing variables take defaults.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX) -> None:
        self._environ = environ
        self._prefix = prefix
        self._memo: tuple[tuple[tuple[str, str], ...], ConfigSnapshot] | None = None

    def get(self) -> ConfigSnapshot:
        raw = env_values(self._environ, self._prefix)
        key = tuple(sorted(raw.items()))
        memo = self._memo
        if memo is not None and memo[0] == key:
            return memo[1]
        snapshot = ConfigSnapshot(Settings.from_mapping(raw), "env" if raw else "default")
        self._memo = (key, snapshot)
        return snapshot

    def __repr__(self) -> str:
        return f"EnvConfig(prefix={self._prefix!r})"


T = TypeVar("T")


def usable_value(lookup: Lookup[T], *, on_error: str, max_staleness: float, store: str) -> T:
    """What a request may use from a remote store's cache lookup, by the shared failure policy:
    the fresh value; after a failed refresh the last good one when ``on_error="last_known_good"``
    and it is at most ``max_staleness`` seconds old; else the request's :class:`ConfigError`."""
    value = lookup.value
    if lookup.error is not None and not (
        on_error == "last_known_good" and value is not None and lookup.age_s <= max_staleness
    ):
        raise lookup_error(lookup, store)
    assert value is not None  # no error means a value was loaded
    return value


def store_source(lookup: Lookup[Any], overrides: Mapping[str, object], read: str) -> str:
    """``config.source`` of a remote store's snapshot: ``stale`` (the more urgent fact) over
    ``override`` over ``read`` (this request read the store) or ``cache``."""
    if lookup.error is not None:
        return "stale"
    if overrides:
        return "override"
    return read if lookup.loaded else "cache"


def lookup_error(lookup: Lookup[Any], store: str) -> ConfigError:
    """The error a request gets from a failed refresh: a fresh object per request (one exception
    object must not be raised in many threads), its class kept, saying when ``store`` is asked again.
    """
    cause = lookup.error
    detail = f"{cause} ({store} is called again in {lookup.retry_in_s:.1f} s)"
    error: ConfigError = (
        ConfigUnavailable(detail) if isinstance(cause, ConfigUnavailable) else ConfigError(detail)
    )
    error.__cause__ = cause
    return error

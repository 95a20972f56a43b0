"""Configuration providers: where the switches come from.

A provider has one method, :meth:`ConfigProvider.get`, returning a :class:`ConfigSnapshot` — the
validated settings plus where they came from and how old they are, both of which go into every log
line. Providers may raise :class:`~interleave_sdk.errors.ConfigError`; the decorator turns that into
the safe baseline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .settings import PARSERS, Settings


@dataclass(frozen=True)
class ConfigSnapshot:
    """Settings as served to one request, with their provenance."""

    settings: Settings
    source: str  # static | env | ssm | cache | stale | default
    version: int | None = None
    age_s: float = 0.0


@runtime_checkable
class ConfigProvider(Protocol):
    """Anything with a ``get()`` returning a :class:`ConfigSnapshot`."""

    def get(self) -> ConfigSnapshot: ...


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


def checked_snapshot(value: object) -> ConfigSnapshot:
    """INTERIM shim until engine-parts lands it."""
    import math

    from ..errors import ConfigError

    if not isinstance(value, ConfigSnapshot):
        raise ConfigError(f"config provider returned {type(value).__name__}, expected ConfigSnapshot")
    if not isinstance(value.settings, Settings):
        raise ConfigError("snapshot settings is not Settings")
    Settings.from_mapping(value.settings.as_dict())
    age = value.age_s
    if not isinstance(age, (int, float)) or not math.isfinite(age) or age < 0:
        raise ConfigError(f"age_s {age!r}")
    return value

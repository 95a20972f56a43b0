"""Per-key environment overrides (``INTERLEAVE_SDK_<KEY>``) on top of a remote switch store.

Shared by every provider that reads a store (SSM, OpenFeature), so an override means the same
thing whichever store is behind it: one key replaced, the rest as the store says, and a bad value
refusing the whole configuration (logged once per change of the environment, not per request).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..errors import ConfigError, InvalidConfigValue
from .providers import ENV_PREFIX, env_values
from .settings import PARSERS, Settings

logger = logging.getLogger("interleave_sdk")


def log_invalid(exc: InvalidConfigValue, where: str) -> None:
    """The documented message for a rejected value (docs/configuration.md, "Validation")."""
    logger.error(
        "interleave-sdk: invalid config value %s=%r from %s (expected %s); this config is not used",
        exc.key,
        exc.value,
        where,
        exc.expected,
        extra={"config_key": exc.key, "config_value": exc.value, "config_expected": exc.expected},
    )


class EnvOverrides:
    """The environment's overrides, parsed once per distinct set of raw values.

    :meth:`current` is a dict lookup per request; :meth:`merged` makes the overridden copy of the
    store's settings once per change of either side, not once per request.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._memo: tuple[tuple[tuple[str, str], ...], dict[str, object] | ConfigError] = ((), {})
        self._merged_memo: tuple[Settings, dict[str, object], Settings] | None = None

    def current(self) -> dict[str, object]:
        """Parsed ``INTERLEAVE_SDK_<KEY>`` values; an invalid one raises (and is logged once)."""
        raw = tuple(sorted(env_values(self._environ).items()))
        memo_raw, memo = self._memo
        if memo_raw != raw:
            memo = _parse(raw)
            self._memo = (raw, memo)
        if isinstance(memo, ConfigError):
            raise ConfigError(str(memo)) from memo.__cause__
        return memo

    def merged(self, settings: Settings, overrides: dict[str, object]) -> Settings:
        """``settings`` with ``overrides`` applied (the same object while neither changes)."""
        if not overrides:
            return settings
        memo = self._merged_memo
        if memo is not None and memo[0] is settings and memo[1] is overrides:
            return memo[2]
        merged = settings.replace(**overrides)
        self._merged_memo = (settings, overrides, merged)
        return merged


def _parse(raw: tuple[tuple[str, str], ...]) -> dict[str, object] | ConfigError:
    parsed: dict[str, object] = {}
    for key, text in raw:
        try:
            parsed[key] = PARSERS[key](text)
        except InvalidConfigValue as exc:
            log_invalid(exc, "environment variable " + ENV_PREFIX + key.upper())
            error = ConfigError(f"environment override not used: {exc}")
            error.__cause__ = exc
            return error
    return parsed

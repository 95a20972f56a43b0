"""Switches from any OpenFeature provider (flagd, AppConfig, LaunchDarkly, the AWS SSM provider...).

Every switch is one flag, evaluated with the request's user as the evaluation context's targeting
key, so a flag rule can interleave one segment and not another. The policy is :class:`SSMConfig`'s:
the same parsers, a :class:`TTLCache` per targeting key, the last good switches or the baseline
when the store fails, environment overrides on top. Nothing here raises into a request: the engine
turns a :class:`ConfigError` into the decorated function's answer with ``config_error``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from random import Random
from typing import Any

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import ConfigUnavailable, InvalidConfigValue, MissingDependency
from .cache import TTLCache
from .overrides import EnvOverrides, log_invalid
from .providers import ConfigSnapshot, store_source, usable_value
from .settings import DEFAULTS, PARSERS, Settings

logger = logging.getLogger("interleave_sdk")

ON_ERROR = ("baseline", "last_known_good")

#: The OpenFeature flag type each switch is evaluated as (the client's typed evaluation methods).
FLAG_TYPES: dict[str, str] = {
    "mode": "string",
    "sampling_rate": "float",
    "parallel_enabled": "boolean",
    "interleave_method": "string",
    "seed_strategy": "string",
    "timeout_ms": "float",
    "holdout_rate": "float",
}

#: Error codes meaning "this flag does not exist": the switch takes its default, as an SSM
#: parameter that is absent does. Every other error code refuses the whole read.
_NOT_FOUND = "FLAG_NOT_FOUND"
#: Error codes meaning the value was there but of the wrong shape (an invalid value, not an outage).
_INVALID = frozenset({"TYPE_MISMATCH", "PARSE_ERROR"})


class OpenFeatureConfig:
    """Settings read as OpenFeature flags ``<prefix>mode``, ``<prefix>sampling_rate``, ...

    ``client`` is an OpenFeature client (``openfeature.api.get_client()``) whose provider holds the
    flags. Each request evaluates with ``targeting_key`` = its user id (none for an anonymous
    request), so flag rules may target segments. Settings are cached per targeting key for ``ttl``
    seconds (plus up to ``jitter``, default ``ttl / 10``) in at most ``max_users`` entries, least
    recently used evicted first.

    Failure policy, as :class:`~interleave_sdk.SSMConfig`: a flag that errors (the provider raised,
    is not ready, or returned a value of the wrong type) or a value our parsers refuse rejects the
    whole read; the request gets :class:`ConfigError` (the decorator serves its baseline with
    ``config_error``) or, with ``on_error="last_known_good"``, that user's last good settings while
    at most ``max_staleness`` seconds old. After a failure the provider is not asked again, for any
    user, for ``failure_backoff`` seconds, doubling per consecutive failure up to ``max_backoff``.
    A flag the provider does not know takes the default. ``INTERLEAVE_SDK_<KEY>`` environment
    variables override single keys. Nothing is evaluated at construction.
    """

    def __init__(
        self,
        client: Any,
        prefix: str = "",
        *,
        ttl: float = 60.0,
        jitter: float | None = None,
        on_error: str = "baseline",
        max_staleness: float = 300.0,
        failure_backoff: float = 5.0,
        max_backoff: float | None = None,
        max_users: int = 10_000,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        rng: Random | None = None,
    ) -> None:
        missing = [m for m in ("get_string_details", "get_float_details", "get_boolean_details")
                   if not callable(getattr(client, m, None))]  # fmt: skip
        if missing:
            raise TypeError(
                f"client must be an OpenFeature client (openfeature.api.get_client()); "
                f"{type(client).__name__} has no {', '.join(missing)}"
            )
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
        if max_staleness < 0:
            raise ValueError(f"max_staleness must be >= 0, got {max_staleness!r}")
        if isinstance(max_users, bool) or not isinstance(max_users, int) or max_users < 1:
            raise ValueError(f"max_users must be a positive int, got {max_users!r}")
        self.client = client
        self.prefix = prefix
        self.on_error = on_error
        self.max_staleness = float(max_staleness)
        self._ttl = float(ttl)
        self._jitter = self._ttl / 10 if jitter is None else float(jitter)
        self._backoff = float(failure_backoff)
        self._max_backoff = max_backoff
        self._max_users = max_users
        self._clock = clock if clock is not None else SYSTEM_CLOCK
        if rng is None:
            # Different per process, as SSMConfig's: a fleet must not refresh in lockstep.
            rng = Random(int.from_bytes(os.urandom(8), "big"))
        self._rng = rng
        self._lock = threading.Lock()
        # The anonymous users' cache, made now so that TTLCache checks ttl, jitter and backoff here.
        self._caches: OrderedDict[str | None, TTLCache[Settings]] = OrderedDict(
            [(None, self._new_cache(None))]
        )
        self._overrides = EnvOverrides(environ)
        # Equal settings of many users are one object, so the engine checks each distinct one once.
        self._interned: dict[tuple[object, ...], Settings] = {}
        self._outage_until = 0.0
        self._failures = 0
        self._context_type = _evaluation_context_type()

    # -- the provider protocol --------------------------------------------------------------------

    def get(self) -> ConfigSnapshot:
        """The settings of a request without a user (evaluated with no targeting key)."""
        return self.get_for(None)

    def get_for(self, user: str | None) -> ConfigSnapshot:
        """The settings for one request by ``user``, with source and age."""
        lookup = self._cache_of(user).get()
        settings = usable_value(
            lookup, on_error=self.on_error, max_staleness=self.max_staleness, store="the OpenFeature provider"
        )
        overrides = self._overrides.current()
        source = store_source(lookup, overrides, "openfeature")
        return ConfigSnapshot(self._overrides.merged(settings, overrides), source, None, lookup.age_s)

    # -- evaluation -------------------------------------------------------------------------------

    def read(self, user: str | None = None) -> Settings:
        """One uncached evaluation of every switch for ``user``; raises :class:`ConfigError`."""
        context = self._context(user)
        values: dict[str, object] = {}
        errors: list[InvalidConfigValue] = []
        for key in PARSERS:
            flag = self.prefix + key
            value = self._evaluate(flag, key, context)
            if value is _ABSENT:
                continue
            try:
                values[key] = PARSERS[key](value)
            except InvalidConfigValue as exc:
                log_invalid(exc, f"OpenFeature flag {flag!r}")
                errors.append(exc)
        if errors:
            raise errors[0]
        settings = Settings.from_mapping(values)
        return self._intern(settings)

    def _evaluate(self, flag: str, key: str, context: Any) -> object:
        """The flag's value, ``_ABSENT`` when the provider does not know it, or ConfigError."""
        kind = FLAG_TYPES[key]
        default = getattr(DEFAULTS, key)
        details = self._details(kind, flag, default, context)
        code = _code(details)
        if code == "TYPE_MISMATCH" and kind == "float":  # an integer flag (``timeout_ms: 300``)
            details = self._details("integer", flag, int(default), context)
            code = _code(details)
        if code is None:
            return details.value
        if code == _NOT_FOUND:
            return _ABSENT
        message = getattr(details, "error_message", None) or ""
        if code in _INVALID:
            raise InvalidConfigValue(key, message or code, f"a {kind} flag {flag!r}")
        raise ConfigUnavailable(f"OpenFeature flag {flag!r} failed: {code}: {message}".rstrip(": "))

    def _details(self, kind: str, flag: str, default: object, context: Any) -> Any:
        method = getattr(self.client, f"get_{kind}_details")
        try:
            return method(flag, default, context)
        except Exception as exc:  # the spec says evaluation never throws; a client may not follow it
            raise ConfigUnavailable(f"OpenFeature flag {flag!r} raised {type(exc).__name__}: {exc}") from exc

    def _context(self, user: str | None) -> Any:
        return self._context_type(targeting_key=user)

    def _intern(self, settings: Settings) -> Settings:
        key = tuple(settings.as_dict().values())
        with self._lock:
            known = self._interned.get(key)
            if known is not None:
                return known
            if len(self._interned) >= 256:
                self._interned.clear()
            self._interned[key] = settings
            return settings

    # -- caching and the provider-wide backoff ----------------------------------------------------

    def _cache_of(self, user: str | None) -> TTLCache[Settings]:
        with self._lock:
            cache = self._caches.get(user)
            if cache is not None:
                self._caches.move_to_end(user)
                return cache
            cache = self._caches[user] = self._new_cache(user)
            if len(self._caches) > self._max_users:
                self._caches.popitem(last=False)
            return cache

    def _new_cache(self, user: str | None) -> TTLCache[Settings]:
        return TTLCache(
            lambda: self._load(user),
            self._ttl,
            jitter=self._jitter,
            failure_backoff=self._backoff,
            max_backoff=self._max_backoff,
            rng=self._rng,
            clock=self._clock,
        )

    def _load(self, user: str | None) -> Settings:
        """One user's refresh; while the provider is failing, users new to the cache do not call it
        either (an outage must not cost one provider call per distinct user)."""
        now = self._clock.monotonic()
        with self._lock:
            wait = self._outage_until - now
        if wait > 0:
            raise ConfigUnavailable(f"the OpenFeature provider is failing; asked again in {wait:.1f} s")
        try:
            settings = self.read(user)
        except ConfigUnavailable as exc:
            with self._lock:
                self._failures += 1
                limit = self._max_backoff if self._max_backoff is not None else max(self._ttl, self._backoff)
                pause = min(self._backoff * 2 ** min(self._failures - 1, 30), limit)
                self._outage_until = self._clock.monotonic() + pause
            logger.warning("interleave-sdk: %s; retrying after the backoff", exc)
            raise
        with self._lock:
            self._failures = 0
        return settings

    def __repr__(self) -> str:
        return (
            f"OpenFeatureConfig(prefix={self.prefix!r}, ttl={self._ttl:g}, "
            f"jitter={self._jitter:g}, on_error={self.on_error!r})"
        )


_ABSENT: Any = object()


def _evaluation_context_type() -> Any:
    """openfeature's ``EvaluationContext``, or the error naming the extra that installs it."""
    try:
        from openfeature.evaluation_context import EvaluationContext
    except ImportError as exc:
        raise MissingDependency(
            "openfeature-sdk", "OpenFeatureConfig", "interleave-sdk[openfeature]"
        ) from exc
    return EvaluationContext


def _code(details: Any) -> str | None:
    """The evaluation's error code as text (``ErrorCode`` is a str enum), None when it succeeded."""
    code = getattr(details, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code))

"""The SSM Parameter Store provider: the production source of the switches (the default provider).

One ``GetParameters`` round trip per refresh, validated by the same parsers as every other source,
cached by :class:`~interleave_sdk.config.cache.TTLCache`, overridable per key from the environment.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..errors import ConfigError, ConfigUnavailable, InvalidConfigValue
from .cache import Lookup, TTLCache
from .providers import ENV_PREFIX, ConfigSnapshot, env_values
from .settings import PARSERS, Settings

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
else:
    SSMClient = Any

logger = logging.getLogger("interleave_sdk")

DEFAULT_PREFIX = "/reco/exp"
ON_ERROR = ("baseline", "last_known_good")

#: botocore client settings: a request must never wait on boto3's 60 s defaults. Two attempts in
#: "standard" retry mode = one retry after a randomised delay of at most 1 s. Note botocore's
#: ``max_attempts`` counts *retries* (``max_attempts=2`` would be three requests), so the limit is
#: given as ``total_max_attempts``, which counts the first request too.
CONNECT_TIMEOUT_S = 0.5
READ_TIMEOUT_S = 1.0
MAX_ATTEMPTS = 2

#: GetParameters accepts at most this many names per call.
_NAMES_PER_CALL = 10


def make_client(
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
    max_attempts: int = MAX_ATTEMPTS,
    environ: Mapping[str, str] | None = None,
) -> SSMClient:
    """A boto3 SSM client with short timeouts, on its own session (sessions are not thread-safe).

    The region is ``region``, else botocore's ``AWS_DEFAULT_REGION``, else ``AWS_REGION`` (what
    Lambda and most AWS SDKs set; botocore alone ignores it, as Powertools works around too), else
    the profile's. boto3 is imported here, not at module import, so importing the SDK stays cheap.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
    )
    env = os.environ if environ is None else environ
    if region is None and not env.get("AWS_DEFAULT_REGION"):
        region = env.get("AWS_REGION") or None
    session = boto3.session.Session()
    return session.client("ssm", region_name=region, endpoint_url=endpoint_url, config=config)


def parameter_name(prefix: str, key: str) -> str:
    return f"{prefix}/{key}"


@dataclass(frozen=True)
class Parameter:
    """One parameter as SSM returned it."""

    key: str
    name: str
    value: str
    version: int


@dataclass(frozen=True)
class SSMValues:
    """One successful, validated read of the prefix."""

    settings: Settings
    parameters: Mapping[str, Parameter] = field(default_factory=dict)

    @property
    def version(self) -> int | None:
        """The highest parameter version: it grows with every write to any key."""
        return max((p.version for p in self.parameters.values()), default=None)


def fetch_parameters(
    client: SSMClient, prefix: str, *, decrypt: bool = False
) -> dict[str, Parameter]:
    """The known keys present under ``prefix``, by key, in one GetParameters call.

    Asking for the known names (rather than listing the path) costs exactly one round trip however
    many foreign parameters live under the prefix, needs no pagination, and lets the IAM policy
    name exact parameters. Missing names come back in ``InvalidParameters`` and take defaults.
    """
    names = {parameter_name(prefix, key): key for key in PARSERS}
    ordered = list(names)
    found: dict[str, Parameter] = {}
    for start in range(0, len(ordered), _NAMES_PER_CALL):  # one call while there are <= 10 keys
        response = client.get_parameters(
            Names=ordered[start : start + _NAMES_PER_CALL], WithDecryption=decrypt
        )
        for item in response.get("Parameters", []):
            name = item.get("Name", "")
            if name in names:
                key = names[name]
                version = int(item.get("Version", 0))
                found[key] = Parameter(key, name, item.get("Value", ""), version)
    return found


def validate(parameters: Mapping[str, Parameter]) -> Settings:
    """Settings from the parameters; every bad value is logged (key, value, expectation).

    Raises the first :class:`InvalidConfigValue`, so the whole read is rejected: a half-applied
    configuration is not one anybody wrote.
    """
    errors: list[InvalidConfigValue] = []
    values: dict[str, object] = {}
    for key, parameter in parameters.items():
        try:
            values[key] = PARSERS[key](parameter.value)
        except InvalidConfigValue as exc:
            log_invalid(exc, parameter.name)
            errors.append(exc)
    if errors:
        raise errors[0]
    return Settings.from_mapping(values)


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


@dataclass(frozen=True)
class KeySource:
    """Where one effective setting came from (for ``interleave-sdk config show``)."""

    key: str
    value: object
    source: str  # ssm | env override | default
    version: int | None
    ssm_value: str | None


class SSMConfig:
    """Settings from SSM Parameter Store under ``prefix`` (``/reco/exp/mode``, ...), cached.

    ``get()`` serves from a :class:`TTLCache` of ``ttl`` seconds plus up to ``jitter`` seconds
    (default ``ttl / 10``), so a change reaches every warm process within ``ttl + jitter``.

    Failure policy (SSM unreachable, slow, throttled, denied, or a value invalid): ``get()`` raises
    :class:`~interleave_sdk.errors.ConfigError`, and the decorator serves its baseline arm with
    ``fallback_reason="config_error"`` and the error text in the log line. Raising rather than
    returning a mode-A snapshot lets the decorator serve *its* baseline (which may be ``B``) and
    record why. With ``on_error="last_known_good"`` the last valid settings are served instead
    (source ``stale``) while they are at most ``max_staleness`` seconds old. After a failure SSM is
    not called again for ``failure_backoff`` seconds, doubling per consecutive failure up to
    ``max_backoff`` (default: ``ttl``), so an outage never makes the fleet call SSM more often than
    a healthy TTL does.

    Environment variables ``INTERLEAVE_SDK_<KEY>`` override single keys (source ``override``;
    the SSM version is kept in the snapshot). The boto3 client is created on the first refresh,
    once, unless one is passed as ``client``; nothing here does I/O at construction.
    """

    def __init__(
        self,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = 60.0,
        client: SSMClient | None = None,
        *,
        jitter: float | None = None,
        on_error: str = "baseline",
        max_staleness: float = 300.0,
        failure_backoff: float = 5.0,
        max_backoff: float | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        rng: Random | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        decrypt: bool = False,
    ) -> None:
        if not prefix.startswith("/") or prefix.rstrip("/") == "":
            raise ValueError(f"prefix must be an SSM path like '/reco/exp', got {prefix!r}")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
        if max_staleness < 0:
            raise ValueError(f"max_staleness must be >= 0, got {max_staleness!r}")
        self.prefix = prefix.rstrip("/")
        self.on_error = on_error
        self.max_staleness = float(max_staleness)
        self._client = client
        self._client_lock = threading.Lock()
        self._region = region
        self._endpoint_url = endpoint_url
        self._decrypt = decrypt
        self._environ = environ
        if rng is None:
            # Deliberately different per process: identical seeds would put a fleet of containers
            # started together back in lockstep. Pass rng= to reproduce a run.
            rng = Random(int.from_bytes(os.urandom(8), "big"))
        self._cache: TTLCache[SSMValues] = TTLCache(
            self._load,
            ttl,
            jitter=ttl / 10 if jitter is None else jitter,
            failure_backoff=failure_backoff,
            max_backoff=max_backoff,
            rng=rng,
            clock=clock,
        )
        # Raw environment values -> parsed overrides (or the error they caused), so the
        # per-request cost is a dict lookup and a bad value is logged once, not per request.
        self._env_memo: tuple[tuple[tuple[str, str], ...], dict[str, object] | ConfigError] = (
            (),
            {},
        )
        self._merged_memo: tuple[SSMValues, dict[str, object], Settings] | None = None

    # -- the provider protocol --------------------------------------------------------------------

    def get(self) -> ConfigSnapshot:
        """The settings for one request, with source, SSM version and age."""
        lookup = self._cache.get()
        values = lookup.value
        if lookup.error is not None:
            stale = (
                self.on_error == "last_known_good"
                and values is not None
                and lookup.age_s <= self.max_staleness
            )
            if not stale:
                raise _request_error(lookup)
        assert values is not None  # no error means a value was loaded
        overrides = self._overrides()
        if lookup.error is not None:
            source = "stale"
        elif overrides:
            source = "override"
        elif not values.parameters:
            source = "default"
        else:
            source = "ssm" if lookup.loaded else "cache"
        return ConfigSnapshot(
            self._merged(values, overrides), source, values.version, lookup.age_s
        )

    # -- reading SSM ------------------------------------------------------------------------------

    @property
    def client(self) -> SSMClient:
        """The boto3 client, created on first use and then reused by every refresh."""
        with self._client_lock:
            if self._client is None:
                self._client = make_client(
                    region=self._region, endpoint_url=self._endpoint_url, environ=self._environ
                )
            return self._client

    def read(self) -> SSMValues:
        """One uncached read and validation of the prefix (what a cache refresh does)."""
        try:
            parameters = fetch_parameters(self.client, self.prefix, decrypt=self._decrypt)
        except Exception as exc:
            raise ConfigUnavailable(
                f"reading SSM parameters under {self.prefix} failed: {_describe(exc)}"
            ) from exc
        return SSMValues(validate(parameters), parameters)

    def _load(self) -> SSMValues:
        try:
            return self.read()
        except ConfigUnavailable as exc:
            logger.warning("interleave-sdk: %s; retrying after the backoff", exc)
            raise

    def explain(self) -> list[KeySource]:
        """Per key: the effective value and whether it came from SSM, an env override or the
        default. Reads SSM once, uncached; raises like :meth:`read`."""
        values = self.read()
        overrides = self._overrides()
        settings = self._merged(values, overrides)
        rows = []
        for key in PARSERS:
            parameter = values.parameters.get(key)
            source = "env override" if key in overrides else "ssm" if parameter else "default"
            rows.append(
                KeySource(
                    key,
                    getattr(settings, key),
                    source,
                    parameter.version if parameter else None,
                    parameter.value if parameter else None,
                )
            )
        return rows

    # -- environment overrides -------------------------------------------------------------------

    def _overrides(self) -> dict[str, object]:
        """Parsed ``INTERLEAVE_SDK_<KEY>`` values; an invalid one raises (and is logged once)."""
        raw = tuple(sorted(env_values(self._environ).items()))
        memo_raw, memo = self._env_memo
        if memo_raw != raw:
            memo = _parse_overrides(raw)
            self._env_memo = (raw, memo)
        if isinstance(memo, ConfigError):
            raise ConfigError(str(memo)) from memo.__cause__
        return memo

    def _merged(self, values: SSMValues, overrides: dict[str, object]) -> Settings:
        if not overrides:
            return values.settings
        # Both inputs stay the same objects until SSM or the environment changes, so the merge
        # (a validated copy of the settings) is made once per change, not once per request.
        memo = self._merged_memo
        if memo is not None and memo[0] is values and memo[1] is overrides:
            return memo[2]
        merged = values.settings.replace(**overrides)
        self._merged_memo = (values, overrides, merged)
        return merged

    def __repr__(self) -> str:
        return (
            f"SSMConfig(prefix={self.prefix!r}, ttl={self._cache.ttl:g}, "
            f"jitter={self._cache.jitter:g}, on_error={self.on_error!r})"
        )


def _parse_overrides(raw: tuple[tuple[str, str], ...]) -> dict[str, object] | ConfigError:
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


def _request_error(lookup: Lookup[SSMValues]) -> ConfigError:
    """A fresh exception per request (one exception object must not be raised in many threads)."""
    cause = lookup.error
    detail = f"{cause} (SSM is called again in {lookup.retry_in_s:.1f} s)"
    error: ConfigError = (
        ConfigUnavailable(detail) if isinstance(cause, ConfigUnavailable) else ConfigError(detail)
    )
    error.__cause__ = cause
    return error


def _describe(exc: BaseException) -> str:
    """botocore errors with their AWS error code when there is one (ThrottlingException, ...)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return f"{code}: {exc}"
    return f"{type(exc).__name__}: {exc}"

"""Validated, frozen experiment settings and the parsers that build them from raw strings.

Providers (static, environment, SSM) all hand raw key/value pairs to :meth:`Settings.from_mapping`,
so every source is validated by the same rules and reports errors the same way: key, value and
what was expected.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from ..errors import InvalidConfigValue

SeedStrategy = Literal["user", "request"]

#: The mode that interleaves; every other mode names the one arm to serve.
INTERLEAVE = "INTERLEAVE"
#: What an arm name looks like (in ``rankers=`` and as a mode): a letter, then up to 31 letters,
#: digits, ``_`` or ``-``, so it is safe in a log line, a metric dimension and a file name.
ARM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
ARM_NAME_RULE = "a letter, then up to 31 letters, digits, '_' or '-'"
SEED_STRATEGIES: tuple[str, ...] = ("user", "request")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
#: The arms of the first versions were "A" and "B"; "a" and "b" in existing configs keep meaning them.
_LEGACY_ARMS = {"a": "A", "b": "B"}


def is_arm_name(name: object) -> bool:
    """Whether ``name`` is a well-formed arm name (``INTERLEAVE``, in any case, is not one)."""
    return (
        isinstance(name, str)
        and ARM_NAME.fullmatch(name) is not None
        and name.upper() != INTERLEAVE
    )


def parse_mode(value: object) -> str:
    """``INTERLEAVE`` (any case), or an arm name kept as written (``a``/``b`` read as ``A``/``B``).

    Any well-formed arm name is accepted here: the config is shared by decorators with different
    arms, and the engine decides (and logs) what a mode naming an arm it lacks means.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.upper() == INTERLEAVE:
            return INTERLEAVE
        if ARM_NAME.fullmatch(text):
            return _LEGACY_ARMS.get(text, text)
    raise InvalidConfigValue("mode", value, f"INTERLEAVE or an arm name ({ARM_NAME_RULE})")


def _number(key: str, expected: str, accept: Callable[[float], bool]) -> Callable[[object], float]:
    """A parser for a finite number (text accepted, as SSM stores text; booleans refused)."""

    def parse(value: object) -> float:
        if isinstance(value, bool):
            raise InvalidConfigValue(key, value, expected)
        try:
            number = float(cast(Any, value))
        except (TypeError, ValueError) as exc:
            raise InvalidConfigValue(key, value, expected) from exc
        if not accept(number):  # comparisons with NaN are False, so NaN is refused here too
            raise InvalidConfigValue(key, value, expected)
        return number

    return parse


#: A share of traffic in [0, 1].
parse_rate = _number("sampling_rate", "a number between 0 and 1", lambda x: 0.0 <= x <= 1.0)
#: The share of would-be-interleaved users served the baseline alone (the measurement holdout).
parse_holdout_rate = _number(
    "holdout_rate", "a number between 0 and 1", lambda x: 0.0 <= x <= 1.0
)

#: The longest deadline accepted: 15 minutes, the longest a Lambda invocation can run. A larger
#: value is a typo (seconds for milliseconds, an extra digit), and past ~9e12 ms the thread
#: waits themselves overflow.
MAX_TIMEOUT_MS = 900_000.0
#: The non-baseline arm's deadline.
parse_timeout_ms = _number(
    "timeout_ms",
    f"a positive number of milliseconds, at most {MAX_TIMEOUT_MS:.0f} (15 minutes)",
    lambda x: 0.0 < x <= MAX_TIMEOUT_MS,
)


def parse_bool(key: str) -> Callable[[object], bool]:
    def parse(value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise InvalidConfigValue(key, value, "a boolean: true/false/1/0")

    return parse


def parse_method(value: object) -> str:
    from ..interleaving.api import available_methods  # late: the registry imports nothing of ours

    names = available_methods()
    if isinstance(value, str) and value.strip() in names:
        return value.strip()
    raise InvalidConfigValue("interleave_method", value, "one of " + ", ".join(names))


def parse_seed_strategy(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() in SEED_STRATEGIES:
        return value.strip().lower()
    raise InvalidConfigValue("seed_strategy", value, "one of user, request")


#: key -> parser. The order is the documentation order.
PARSERS: dict[str, Callable[[object], Any]] = {
    "mode": parse_mode,
    "sampling_rate": parse_rate,
    "parallel_enabled": parse_bool("parallel_enabled"),
    "interleave_method": parse_method,
    "seed_strategy": parse_seed_strategy,
    "timeout_ms": parse_timeout_ms,
    "holdout_rate": parse_holdout_rate,
}


@dataclass(frozen=True)
class Settings:
    """The switches that steer one request.

    The defaults are the safe ones: ``mode="A"`` serves the baseline to everybody, so a missing
    configuration never starts an experiment by accident.
    """

    mode: str = "A"
    sampling_rate: float = 1.0
    parallel_enabled: bool = True
    interleave_method: str = "team_draft_v1"
    seed_strategy: str = "request"
    timeout_ms: float = 300.0
    holdout_rate: float = 0.0

    def __post_init__(self) -> None:
        # Validate even when built directly, so a Settings object is always a valid one.
        for key, parse in PARSERS.items():
            object.__setattr__(self, key, parse(getattr(self, key)))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object], *, strict: bool = False) -> Settings:
        """Build settings from raw values; missing keys take defaults.

        With ``strict`` an unknown key is an error (catches typos in code); providers reading a
        shared namespace such as an SSM path pass ``strict=False`` and ignore foreign keys.
        """
        unknown = sorted(set(raw) - set(PARSERS))
        if strict and unknown:
            raise InvalidConfigValue(
                unknown[0], raw[unknown[0]], "a known key: " + ", ".join(PARSERS)
            )
        values = {key: PARSERS[key](raw[key]) for key in PARSERS if key in raw}
        return cls(**values)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


DEFAULTS = Settings()

"""Where ranking records go: one JSON line on stdout by default (CloudWatch picks it up).

A sink is any callable taking the record dict; each record a user's sink receives is its own.
Serialisation uses orjson; values it does not know (e.g. a ``Decimal`` item id) are written as
their ``str()``. The line is never lost to encoding:
when a record cannot be encoded as it is (a string with a lone surrogate, an int beyond 64 bits,
an object whose ``str()`` raises, nesting too deep), a sanitised copy is written instead, with
an ``encode_error`` field saying why, so the ranking still reaches the log and the problem is
visible in it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any, TextIO

import orjson

from ..forking import FORK_RESETS

Sink = Callable[[dict[str, Any]], None]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_LINE_OPTIONS = _OPTIONS | orjson.OPT_APPEND_NEWLINE  # the newline in the same buffer, no copy
#: ``OPT_NON_STR_KEYS`` makes orjson take a slower path for every dict (twice the encode time of
#: a ranking line); records have text keys unless a processor adds others, so the first attempt
#: goes without it and only a record that needs it pays for it.
_NON_STR_KEYS = orjson.OPT_NON_STR_KEYS
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_MAX_DEPTH = 64  # well inside orjson's own nesting limit
#: The longest line written, in bytes (newline included): CloudWatch Logs drops what exceeds its
#: 256 KB per-event limit (which counts 26 bytes of overhead), so a line stays well below it.
MAX_LINE_BYTES = 200_000
#: A text value longer than this is cut first when a line is too long.
_MAX_TEXT = 1024


def dumps(record: Mapping[str, Any]) -> bytes:
    """The record as one line of JSON (no trailing newline); never raises for its content.

    The fast path is one orjson call. Only when that fails is the record copied with every value
    made encodable (:func:`sanitised`) and ``encode_error`` added; the caller's dict is not
    changed either way.
    """
    return _encode(record, _OPTIONS)


def _encode(record: Mapping[str, Any], options: int) -> bytes:
    try:
        return orjson.dumps(record, default=str, option=options & ~_NON_STR_KEYS)
    except Exception:  # maybe only a non-text key: the slower path below tells
        pass
    try:
        return orjson.dumps(record, default=str, option=options)
    except Exception as exc:  # orjson.JSONEncodeError, or whatever a default str() raised
        cause = exc.__cause__  # orjson chains what a default str() raised
        reason = f"{type(exc).__name__}: {exc}" + (
            "" if cause is None else f" ({type(cause).__name__} in str(): {_safe_str(cause)})"
        )
        reason = _text(reason)
    clean = sanitised(record)
    clean = dict(clean) if isinstance(clean, dict) else {"record": clean}
    clean["encode_error"] = reason
    try:
        return orjson.dumps(clean, option=options)
    except Exception as exc:  # pragma: no cover - sanitised values are all JSON-native
        last = {"encode_error": f"{reason}; then {type(exc).__name__}: {exc}"}
        return orjson.dumps(last, option=options & orjson.OPT_APPEND_NEWLINE)


def sanitised(value: Any, depth: int = 0) -> Any:
    """A JSON-native copy of ``value``: text without lone surrogates (escaped as ``\\udXXX``),
    ints beyond 64 bits as their decimal text, unknown objects as their ``str()`` or, when that
    fails, ``<unprintable TypeName>``, nesting beyond 64 levels as ``<nested too deep>``.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(str.__str__(value))
    if isinstance(value, int):
        number = int(value)
        return number if _INT_MIN <= number <= _INT_MAX else str(number)
    if isinstance(value, float):
        return float(value)  # orjson writes NaN and infinities as null, which is valid JSON
    if depth >= _MAX_DEPTH and isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return "<nested too deep>"
    if isinstance(value, Mapping):
        return {_key(k): sanitised(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [sanitised(v, depth + 1) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist) and type(value).__module__.startswith("numpy"):
        try:
            return sanitised(tolist(), depth + 1)
        except Exception:
            pass
    try:
        text = str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
    return _text(text)


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _key(key: object) -> str:
    clean = sanitised(key, _MAX_DEPTH)
    return clean if isinstance(clean, str) else orjson.dumps(clean).decode("utf-8")


def _text(text: str) -> str:
    """``text`` with anything UTF-8 cannot hold (lone surrogates) written as ``\\udXXX``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class JsonLineSink:
    """Writes each record as one line to a text stream (default: the current ``sys.stdout``).

    A lock keeps lines from different threads whole. The stream is looked up per write when none
    was given, so a redirected or captured stdout is honoured.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        FORK_RESETS.add(self, JsonLineSink._forget_lock)

    def _forget_lock(self) -> None:
        """In a forked child: a parent thread may have held the lock mid-line; it never returns."""
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        encoded = _encode(record, _LINE_OPTIONS)
        if len(encoded) > MAX_LINE_BYTES:
            encoded = bounded(record, len(encoded))
        line = encoded.decode("utf-8")
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()


def bounded(record: Mapping[str, Any], size: int) -> bytes:
    """A line of at most :data:`MAX_LINE_BYTES` for a record whose line has ``size`` bytes.

    What is cut, in order until the line fits: text values longer than 1 KB (kept as their first
    1 KB plus ``...``), then the lists of ids (``items``, ``arms.*.top``), then everything but the
    top-level scalars. The line's ``truncated`` field says the original size and what was cut, so
    the ranking still reaches the log and the cut is visible in it.
    """
    cut: list[str] = []
    clean = sanitised(record)
    clean = dict(clean) if isinstance(clean, dict) else {"record": clean}
    clean = _cut_text(clean, "", cut)
    steps: list[Callable[[dict[str, Any]], None]] = [_drop_id_lists, _keep_scalars]
    while True:
        clean["truncated"] = {"bytes": size, "cut": cut[:50]}
        line = orjson.dumps(clean, option=_LINE_OPTIONS)
        if len(line) <= MAX_LINE_BYTES or not steps:
            return line
        step = steps.pop(0)
        step(clean)
        cut.append(step.__name__.strip("_"))


def _cut_text(value: Any, path: str, cut: list[str]) -> Any:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        cut.append(path or "<record>")
        return value[:_MAX_TEXT] + "..."
    if isinstance(value, dict):
        return {k: _cut_text(v, f"{path}.{k}" if path else str(k), cut) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_text(v, f"{path}[]", cut) for v in value]
    return value


def _drop_id_lists(record: dict[str, Any]) -> None:
    if isinstance(record.get("items"), list):
        record["items"] = []
    arms = record.get("arms")
    if isinstance(arms, dict):
        for entry in arms.values():
            if isinstance(entry, dict) and entry.get("top") is not None:
                entry["top"] = None


def _keep_scalars(record: dict[str, Any]) -> None:
    """The last resort: every list emptied and every object but the small required ones nulled."""
    for key, value in record.items():
        if isinstance(value, list):
            record[key] = []
        elif isinstance(value, dict) and key not in ("config", "timings", "truncated", "_aws"):
            record[key] = {} if key == "arms" else None

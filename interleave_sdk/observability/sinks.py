"""Where ranking records go: one JSON line on stdout by default (CloudWatch picks it up).

A sink is any callable taking the record dict. Serialisation uses orjson; values it does not know
(e.g. a ``Decimal`` item id) are written as their ``str()`` rather than failing the request.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import orjson

Sink = Callable[[dict[str, Any]], None]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(record: Mapping[str, Any]) -> bytes:
    """The record as one line of JSON (no trailing newline)."""
    return orjson.dumps(record, default=str, option=_OPTIONS)


class JsonLineSink:
    """Writes each record as one line to a text stream (default: the current ``sys.stdout``).

    A lock keeps lines from different threads whole. The stream is looked up per write when none
    was given, so a redirected or captured stdout is honoured.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        line = dumps(record).decode("utf-8") + "\n"
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()

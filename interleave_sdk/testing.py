"""Helpers for users' own tests: capture ranking records instead of printing them."""

from __future__ import annotations

import threading
from typing import Any


class CapturingSink:
    """A sink that keeps every record in memory (thread-safe); pass it as ``sink=``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)

    @property
    def last(self) -> dict[str, Any]:
        with self._lock:
            if not self._records:
                raise LookupError("no ranking record captured yet")
            return self._records[-1]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

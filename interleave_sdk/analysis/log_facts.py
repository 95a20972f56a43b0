"""What the health checks need from the ranking log that attribution never reads.

Fallbacks (which arm, which reason, which users) and short arms live in fields the step files
skip (``mode``, ``in_sample``, ``fallback_reason``, ``arms.*``), so they are tallied here in one
pass over the log files, with the same experiment and time selection as the analysis. Logs that
live in a table (Athena) have no files to scan: the checks then say they were not measured.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from .filters import ExposureFilter
from .sources import PathSpec, expand_paths
from .versions import is_known

#: The arm named when a request fell back before any arm could fail (config, bucketing, ...).
NO_ARM = "none"


@dataclass
class LogFacts:
    """Tallies over the interleaving requests of the log (INTERLEAVE mode, in sample, unpinned).

    ``fallbacks`` counts failed requests by (arm, reason); ``user_requests`` and
    ``user_fallbacks`` count requests and failed requests per user (a line without a user is a
    user of its own). ``measured`` counts interleaved lines whose every arm logged its ``top``
    list and whose ``k`` is known; ``exhausted`` those among them where an arm's list was shorter
    than ``k``, by arm.
    """

    requests: int = 0
    fallbacks: Counter[tuple[str, str]] = field(default_factory=Counter)
    user_requests: Counter[str] = field(default_factory=Counter)
    user_fallbacks: Counter[str] = field(default_factory=Counter)
    measured: int = 0
    exhausted: int = 0
    exhausted_by_arm: Counter[str] = field(default_factory=Counter)


def _stamp(text: object) -> datetime | None:
    if not isinstance(text, str) or not text.endswith("Z"):
        return None
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        return None


def _selected(line: Mapping[str, Any], filters: ExposureFilter) -> bool:
    if filters.experiment is not None and line.get("experiment") != filters.experiment:
        return False
    if filters.since is None and filters.until is None:
        return True
    ts = _stamp(line.get("ts"))
    if ts is None:
        return False
    return (filters.since is None or ts >= filters.since) and (
        filters.until is None or ts < filters.until
    )


def _failed_arms(arms: object) -> list[str]:
    if not isinstance(arms, dict):
        return []
    return sorted(
        str(name)
        for name, entry in arms.items()
        if isinstance(entry, dict) and entry.get("status") not in (None, "ok")
    )


def _short_arms(arms: object, k: object) -> list[str] | None:
    """Arms whose logged list is shorter than ``k``; None when a list or ``k`` is missing."""
    if not isinstance(arms, dict) or not arms or not isinstance(k, int) or k < 1:
        return None
    short = []
    for name, entry in arms.items():
        top = entry.get("top") if isinstance(entry, dict) else None
        if not isinstance(top, list):
            return None
        if len(top) < k:
            short.append(str(name))
    return short


def add_line(facts: LogFacts, line: Mapping[str, Any], number: int) -> None:
    """Tally one parsed record (``number`` names a user for lines without one)."""
    if line.get("mode") != "INTERLEAVE" or line.get("in_sample") is not True:
        return
    if line.get("pinned") is not None or line.get("event", "ranking") != "ranking":
        return
    user = line.get("user_id")
    key = f"u:{user}" if isinstance(user, str) else f"line:{number}"
    facts.requests += 1
    facts.user_requests[key] += 1
    reason = line.get("fallback_reason")
    if isinstance(reason, str):
        for arm in _failed_arms(line.get("arms")) or [NO_ARM]:
            facts.fallbacks[(arm, reason)] += 1
        facts.user_fallbacks[key] += 1
    elif line.get("served") == "interleaved":
        short = _short_arms(line.get("arms"), line.get("k"))
        if short is not None:
            facts.measured += 1
            facts.exhausted += bool(short)
            facts.exhausted_by_arm.update(short)


def scan(exposures: PathSpec, filters: ExposureFilter) -> LogFacts:
    """One pass over the log files; lines that are not JSON objects or of an unknown schema
    version are skipped (the analysis counts them)."""
    facts = LogFacts()
    number = 0
    for path in expand_paths(exposures):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for raw in handle:
                number += 1
                try:
                    line = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(line, dict) or not _selected(line, filters):
                    continue
                version = line.get("schema_version")
                if version is not None and not is_known(str(version)):
                    continue
                add_line(facts, line, number)
    return facts

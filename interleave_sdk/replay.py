"""Reproduce a served interleaving from its log line alone.

This is the determinism promise made checkable: the arms' logged top-k lists, ``k``, the method,
its logged ``method_detail`` and the seed value are all a draw depends on. A method whose list
depends on more than the seed (optimized interleaving: a solver's answer under a time budget) is
rebuilt from its detail, never solved again, so a replay cannot fall back differently.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from .errors import InterleaveError
from .interleaving.api import Interleaving, reproduce


def replay(record: Mapping[str, Any]) -> Interleaving:
    """Recompute the interleaving of an interleaved ranking record (``served == "interleaved"``)."""
    if record.get("served") != "interleaved":
        raise InterleaveError(
            f"ranking {record.get('ranking_id')!r} was not interleaved; nothing to replay"
        )
    try:
        rankings = {arm: list(entry["top"]) for arm, entry in sorted(record["arms"].items())}
        seed = int(record["seed"]["value"])
        detail = record.get("method_detail")
        return reproduce(record["method"], rankings, int(record["k"]), random.Random(seed), detail)
    except (KeyError, TypeError, ValueError) as exc:
        raise InterleaveError(
            f"record {record.get('ranking_id')!r} lacks what a replay needs: {exc!r}"
        ) from exc

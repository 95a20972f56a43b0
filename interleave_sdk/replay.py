"""Reproduce a served interleaving from its log line alone.

This is the determinism promise made checkable: the arms' logged top-k lists, ``k``, the method
and the seed value are all a draw depends on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from .errors import InterleaveError
from .interleaving.api import Interleaving, interleave


def replay(record: Mapping[str, Any]) -> Interleaving:
    """Recompute the interleaving of an interleaved ranking record (``served == "interleaved"``)."""
    if record.get("served") != "interleaved":
        raise InterleaveError(
            f"ranking {record.get('ranking_id')!r} was not interleaved; nothing to replay"
        )
    try:
        rankings = {arm: list(entry["top"]) for arm, entry in sorted(record["arms"].items())}
        seed = int(record["seed"]["value"])
        return interleave(record["method"], rankings, int(record["k"]), random.Random(seed))
    except (KeyError, TypeError, ValueError) as exc:
        raise InterleaveError(
            f"record {record.get('ranking_id')!r} lacks what a replay needs: {exc!r}"
        ) from exc

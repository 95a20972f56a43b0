"""DataFrames in and out: checking what a ranker returned, and building the merged frame.

Checks give specific messages (which arm, what is wrong, an example) because they end up in a log
line that someone reads during an incident. The merged frame gathers each column with one take on
the column's own array type and builds the frame in one constructor (docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from .errors import RankerOutputError
from .ids import column_ids

SOURCE_COLUMN = "source_ranker"


def ranking_ids(arm: str, value: object, item_col: str) -> list[Hashable]:
    """The canonical ids of a ranker's result, best first, or :class:`RankerOutputError` saying why.

    Ids come back in the one form used for dedupe, the log and replay (:mod:`interleave_sdk.ids`),
    so two arms whose ids are equal but typed differently (``1`` and ``1.0``) name the same item.
    """
    if not isinstance(value, pd.DataFrame):
        raise RankerOutputError(
            arm, f"returned {type(value).__name__}, expected a pandas DataFrame"
        )
    if item_col not in value.columns:
        shown = ", ".join(map(str, list(value.columns)[:10]))
        raise RankerOutputError(arm, f"result has no column {item_col!r} (columns: {shown})")
    if len(value) == 0:
        raise RankerOutputError(arm, "returned an empty DataFrame")
    column = value[item_col]
    if isinstance(column, pd.DataFrame):
        raise RankerOutputError(arm, f"result has {column.shape[1]} columns named {item_col!r}")
    ids = cast(list[Hashable], column_ids(arm, column))
    if len(set(ids)) != len(ids):
        seen: set[Hashable] = set()
        dup: list[Hashable] = []
        for item in ids:
            if item in seen:
                dup.append(item)
            seen.add(item)
        raise RankerOutputError(arm, f"returned duplicate item ids, e.g. {dup[:5]}")
    return ids


def merged_frame(
    frames: Mapping[str, pd.DataFrame],
    picks: Sequence[tuple[str, int]],
    source_col: str = SOURCE_COLUMN,
) -> pd.DataFrame:
    """Rows ``picks[i] = (arm, row)`` of the arms' frames, in order, plus ``source_col``.

    Columns are the union of the arms' columns (baseline's order first); a column an arm lacks is
    filled with missing values for that arm's rows. The index is a fresh ``RangeIndex``. Each
    column's arrays are laid end to end and the picked rows gathered with one ``take`` on the
    column's own array type (so dtypes survive when the arms agree), then one constructor builds
    the frame: pandas' per-operation cost, not the data, dominates at ranking sizes, so the fewer
    frame-level operations the better (docs/performance.md).
    """
    arms = list(frames)
    arm_index = {arm: j for j, arm in enumerate(arms)}
    tables = list(frames.values())
    n = len(picks)
    arm_of = np.fromiter((arm_index[a] for a, _ in picks), dtype=np.intp, count=n)
    rows = np.fromiter((r for _, r in picks), dtype=np.intp, count=n)
    offsets = np.cumsum([0, *(len(t) for t in tables[:-1])], dtype=np.intp)
    where = rows + offsets[arm_of]
    columns: list[Any] = []
    for table in tables:
        columns.extend(c for c in table.columns if c not in columns and c != source_col)
    data: dict[Any, Any] = {}
    for column in columns:
        parts = [table[column].array if column in table.columns else None for table in tables]
        first = parts[0]
        if first is not None and all(p is not None and p.dtype == first.dtype for p in parts):
            data[column] = type(first)._concat_same_type(parts).take(where)
        else:  # the arms disagree on this column: let pandas find a common dtype
            series = [
                table[column] if column in table.columns else pd.Series(np.nan, index=table.index)
                for table in tables
            ]
            data[column] = pd.concat(series, ignore_index=True).array.take(where)
    data[source_col] = _arm_names(tuple(arms)).take(arm_of)
    # No index argument: the default is the fresh RangeIndex wanted, and passing one costs 2x.
    merged: pd.DataFrame = pd.DataFrame(data, copy=False)
    return merged


@functools.lru_cache(maxsize=64)
def _arm_names(arms: tuple[str, ...]) -> Any:
    """The arm names as a pandas string array, built once per set of arms (never mutated)."""
    return pd.Series(np.array(arms, dtype=object)).array

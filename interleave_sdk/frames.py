"""DataFrames in and out: checking what a ranker returned, and building the merged frame.

Checks give specific messages (which arm, what is wrong, an example) because they end up in a log
line that someone reads during an incident. The merged frame is built with one numpy gather per
column into a single constructor, the fastest of the ways we measured.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import RankerOutputError

SOURCE_COLUMN = "source_ranker"


def ranking_ids(arm: str, value: object, item_col: str) -> list[Hashable]:
    """The ids of a ranker's result, best first, or :class:`RankerOutputError` saying why not."""
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
    missing = column.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise RankerOutputError(arm, f"returned {int(missing.sum())} null item ids (rows {rows})")
    ids: list[Hashable] = column.tolist()
    if len(set(ids)) != len(ids):
        dup = column[column.duplicated()].unique()[:5].tolist()
        raise RankerOutputError(arm, f"returned duplicate item ids, e.g. {dup}")
    return ids


def merged_frame(
    frames: Mapping[str, pd.DataFrame],
    picks: Sequence[tuple[str, int]],
    source_col: str = SOURCE_COLUMN,
) -> pd.DataFrame:
    """Rows ``picks[i] = (arm, row)`` of the arms' frames, in order, plus ``source_col``.

    Columns are the union of the arms' columns (baseline's order first); a column an arm lacks is
    filled with missing values for that arm's rows. The index is a fresh ``RangeIndex``.
    """
    arms = list(frames)
    n = len(picks)
    arm_of = np.fromiter((arms.index(a) for a, _ in picks), dtype=np.intp, count=n)
    rows = np.fromiter((r for _, r in picks), dtype=np.intp, count=n)
    masks = [arm_of == j for j in range(len(arms))]
    used = [j for j in range(len(arms)) if masks[j].any()]
    columns: list[Any] = []
    for frame in frames.values():
        columns.extend(c for c in frame.columns if c not in columns and c != source_col)
    data: dict[Any, Any] = {}
    for column in columns:
        parts: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []
        for j in used:
            frame = frames[arms[j]]
            if column in frame.columns:
                values = frame[column].to_numpy()[rows[masks[j]]]
            else:
                values = np.full(int(masks[j].sum()), np.nan, dtype=object)
            parts.append((masks[j], values))
        if len(parts) == 1:
            data[column] = parts[0][1]
            continue
        dtype = np.result_type(*(values.dtype for _, values in parts))
        if dtype.kind in "USV":  # fixed-width strings would truncate; keep Python objects
            dtype = np.dtype(object)
        out = np.empty(n, dtype=dtype)
        for mask, values in parts:
            out[mask] = values
        data[column] = out
    data[source_col] = np.array([arms[j] for j in arm_of], dtype=object)
    merged: pd.DataFrame = pd.DataFrame(
        data, index=pd.RangeIndex(n), columns=[*columns, source_col]
    )
    return merged

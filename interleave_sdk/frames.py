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
    filled with missing values for that arm's rows. The index is a fresh ``RangeIndex``. A column
    with the same dtype in every arm keeps that dtype (Arrow strings, categoricals, nullable ints)
    and is gathered with one ``take`` over the arms' arrays laid end to end; anything else goes
    through NumPy with the common dtype.
    """
    arms = list(frames)
    arm_index = {arm: j for j, arm in enumerate(arms)}
    tables = list(frames.values())
    n = len(picks)
    arm_of = np.fromiter((arm_index[a] for a, _ in picks), dtype=np.intp, count=n)
    rows = np.fromiter((r for _, r in picks), dtype=np.intp, count=n)
    offsets = np.cumsum([0, *(len(t) for t in tables[:-1])], dtype=np.intp)
    flat_rows = rows + offsets[arm_of]  # row numbers in the arms' frames laid end to end
    columns: list[Any] = []
    for frame in tables:
        columns.extend(c for c in frame.columns if c not in columns and c != source_col)
    data: dict[Any, Any] = {}
    for column in columns:
        arrays: list[Any] = [
            frame[column].array if column in frame.columns else None for frame in tables
        ]
        first = arrays[0]
        if first is not None and all(a is not None and a.dtype == first.dtype for a in arrays):
            if isinstance(first.dtype, np.dtype):
                data[column] = np.concatenate([a.to_numpy() for a in arrays])[flat_rows]
            else:
                joined = type(first)._concat_same_type(arrays)
                data[column] = joined.take(flat_rows)
            continue
        data[column] = _gather_mixed(arrays, arm_of, rows, n)
    data[source_col] = np.array(arms, dtype=object)[arm_of]
    merged: pd.DataFrame = pd.DataFrame(
        data, index=pd.RangeIndex(n), columns=[*columns, source_col]
    )
    return merged


def _gather_mixed(
    arrays: Sequence[Any], arm_of: np.ndarray[Any, Any], rows: np.ndarray[Any, Any], n: int
) -> np.ndarray[Any, Any]:
    """One column whose dtype differs between arms, or that some arm lacks, via NumPy."""
    out_parts: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []
    for j, array in enumerate(arrays):
        mask = arm_of == j
        if not mask.any():
            continue
        if array is not None:
            values = np.asarray(array.to_numpy())[rows[mask]]
        else:
            values = np.full(int(mask.sum()), np.nan, dtype=object)
        out_parts.append((mask, values))
    if len(out_parts) == 1:
        return out_parts[0][1]
    dtype = np.result_type(*(values.dtype for _, values in out_parts))
    if dtype.kind in "USV":  # fixed-width strings would truncate; keep Python objects
        dtype = np.dtype(object)
    out = np.empty(n, dtype=dtype)
    for mask, values in out_parts:
        out[mask] = values
    return out

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
    try:
        where = value.columns.get_loc(item_col)
    except (KeyError, TypeError):
        shown = ", ".join(map(str, list(value.columns)[:10]))
        raise RankerOutputError(
            arm, f"result has no column {item_col!r} (columns: {shown})"
        ) from None
    if not isinstance(where, int):  # a slice or a mask: more than one column answers to the name
        count = sum(1 for name in value.columns if name == item_col)
        if count > 1:
            raise RankerOutputError(arm, f"result has {count} columns named {item_col!r}")
        raise RankerOutputError(
            arm, f"result's {item_col!r} is not a single column (columns: {value.columns[:5]!r})"
        )
    if len(value) == 0:
        raise RankerOutputError(arm, "returned an empty DataFrame")
    column = column_array(value, where)
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
    arrays = [_column_arrays(table) for table in tables]
    columns: list[Any] = []
    for by_name in arrays:
        columns.extend(c for c in by_name if c not in columns and c != source_col)
    data: dict[Any, Any] = {}
    for column in columns:
        parts: list[Any] = [by_name.get(column) for by_name in arrays]
        first = parts[0]
        if first is not None and all(p is not None and p.dtype == first.dtype for p in parts):
            if isinstance(first, np.ndarray):
                data[column] = np.concatenate(parts).take(where)
            else:
                data[column] = type(first)._concat_same_type(parts).take(where)
        else:  # the arms disagree on this column (or one lacks it): exact values or object
            data[column] = _exact_column(parts, tables, where)
    data[source_col] = _arm_names(tuple(arms)).take(arm_of)
    return _frame(data, n)


def _exact_column(parts: list[Any], tables: list[pd.DataFrame], where: Any) -> Any:
    """The picked rows of a column the arms type differently, every value exactly as returned.

    pandas' common dtype is kept only when it changes no picked value and no value's type
    (int32 with int64 is exact; int64 with float64 or uint64 becomes float64 and is not:
    1,400,000,000,000,000,001 would be served as 1.4e18, a duplicate of its neighbour). Otherwise
    the column is ``object`` and holds each arm's own values. An arm that lacks the column gives
    missing values (NaN) on its rows.
    """
    own = [
        pd.Series(part, copy=False).astype(object)
        if part is not None
        else pd.Series(np.nan, index=range(len(table)), dtype=object)
        for part, table in zip(parts, tables, strict=True)
    ]
    originals = pd.concat(own, ignore_index=True).to_numpy(dtype=object).take(where)
    present = [
        pd.Series(part, copy=False) if part is not None else pd.Series(np.nan, index=range(len(table)))
        for part, table in zip(parts, tables, strict=True)
    ]
    common = pd.concat(present, ignore_index=True).array.take(where)
    if common.dtype != object and all(map(_same, pd.Series(common).astype(object), originals)):
        return common
    return originals


def _same(merged: Any, original: Any) -> bool:
    """``merged`` is ``original``: the same type and value (NaN is NaN)."""
    if merged is original:
        return True
    if type(merged) is not type(original):
        return False
    try:
        return bool(merged == original) or bool(merged != merged and original != original)
    except (TypeError, ValueError):  # NA-like or array-like values: not provably the same
        return False


def _frame(data: dict[Any, Any], rows: int) -> pd.DataFrame:
    """One frame from finished column arrays, on a fresh ``RangeIndex``.

    pandas' array-list constructor skips the dict constructor's key handling and builds the
    column index from a cached one: half the cost at ranking sizes. It is not public API either,
    so the dict constructor stays as the fallback.
    """
    if _FAST_BUILD:
        built: pd.DataFrame = cast(Any, pd.DataFrame)._from_arrays(
            list(data.values()),
            columns=_column_index(tuple(data)),
            index=pd.RangeIndex(rows),
            verify_integrity=True,  # arrays are still checked and normalised, as by the dict path
        )
        return built
    # No index argument: the default is the fresh RangeIndex wanted, and passing one costs 2x.
    merged: pd.DataFrame = pd.DataFrame(data, copy=False)
    return merged


@functools.lru_cache(maxsize=64)
def _column_index(names: tuple[Any, ...]) -> pd.Index:
    """The merged frame's column labels as an Index (immutable, so one per set of names)."""
    index: pd.Index = pd.Index(list(names))
    return index


#: pandas >= 3 builds a new Series for every ``frame[column]`` (copy-on-write dropped the item
#: cache), which was two thirds of the merge and half of reading the ids at ranking sizes (more
#: than the rest of the baseline path's work); the frame's own accessor for a
#: column's array by position skips that. It is not public API, so it is looked up once and the
#: public ``iloc`` path stays as the fallback (tests run both).
_FAST_COLUMNS = callable(getattr(pd.DataFrame, "_get_column_array", None))
_FAST_BUILD = callable(getattr(pd.DataFrame, "_from_arrays", None))


def column_array(table: pd.DataFrame, position: int) -> Any:
    """The array (numpy or extension) holding the column at ``position``, without a Series."""
    if _FAST_COLUMNS:
        return cast(Any, table)._get_column_array(position)
    return table.iloc[:, position].array


def _column_arrays(table: pd.DataFrame) -> dict[Any, Any]:
    """Column name -> the column's array (numpy or extension), first of duplicated names."""
    found: dict[Any, Any] = {}
    for i, name in enumerate(table.columns):
        if name not in found:
            found[name] = column_array(table, i)
    return found


@functools.lru_cache(maxsize=64)
def _arm_names(arms: tuple[str, ...]) -> Any:
    """The arm names as a pandas string array, built once per set of arms (never mutated)."""
    return pd.Series(np.array(arms, dtype=object)).array

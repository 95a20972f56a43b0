"""Item ids in one canonical form: the same value dedupes the lists, goes into the log and is replayed.

An arm's ids arrive in whatever a DataFrame column holds (Python or numpy ints, floats, strings,
bytes, a mix in an object column). Interleaving, logging and replay must agree on which ids are
the same item, so every id is mapped once, here, to a plain ``int``, ``float`` or ``str`` that
survives a JSON round trip unchanged (value and type). Served, logged and replayed lists are then
the same list by construction. An id with no faithful form is refused with
:class:`~interleave_sdk.errors.RankerOutputError` naming the arm, the row and the value.

How ids map, and which ones collide (are the same item):

=======================================  ==========================  ==============================
id in the frame                          canonical form              same item as
=======================================  ==========================  ==============================
``int``, numpy integer, ``IntEnum``      ``int`` (64-bit range:      the integral float of equal
                                         ``-2**63 .. 2**64 - 1``)    value (``1 == 1.0``, as Python)
integral float (``1.0``, ``np.float32``) ``int`` when in that range, the ``int`` of equal value
                                         else the ``float``
other finite float                       ``float``                   only an equal float
``Decimal``, ``Fraction`` (exact value)  as the int or float above   the number of equal value
``str`` (and ``np.str_``)                ``str``                     a ``bytes`` id of its UTF-8
                                                                     encoding; never a number
                                                                     (``"1"`` is not ``1``)
``bytes`` (and ``np.bytes_``)            ``str``, decoded as UTF-8   the ``str`` it decodes to
=======================================  ==========================  ==============================

So numbers follow Python equality exactly (an int and a float are one item when ``int == float``
holds; ``2**53 + 1`` and ``2.0**53`` stay apart), and text never equals a number. The one
departure from Python is bytes: ``b"x" != "x"`` in Python, but JSON has no bytes, and a catalogue
read from a binary column names the same items as its text twin, so bytes are their UTF-8 text.

Refused (``invalid_output``): null-likes (``None``, ``NaN``, ``pd.NA``, ``NaT``), infinities,
booleans (``True == 1`` in Python, and a two-valued id column is a bug, not a catalogue), ints
outside the 64-bit range (JSON readers differ on them), strings holding lone surrogates and bytes
that are not UTF-8 (no valid UTF-8 line can hold them), non-integral ``Decimal``/``Fraction``
values no float equals, and any other type (tuples, timestamps, complex numbers...): its text
would not read back as the same value.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from .errors import RankerOutputError

#: The integer range every JSON writer and reader we use keeps exact (orjson's: int64 and uint64).
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

CanonicalId = int | float | str


class _Refused(ValueError):
    """Why one id has no canonical form (turned into a RankerOutputError with arm and row)."""


def canonical_id(value: object) -> CanonicalId:
    """The canonical form of one id, or a ``ValueError`` saying why it has none.

    :func:`canonical_ids` is the entry point for a ranking: it adds the arm and the row.
    """
    kind = type(value)
    if kind is str:
        return _text(value)  # type: ignore[arg-type]
    if kind is int:
        return _integer(value)  # type: ignore[arg-type]
    if kind is float:
        return _real(value)  # type: ignore[arg-type]
    if value is None:
        raise _Refused("a null id")
    if isinstance(value, (bool, np.bool_)):
        raise _Refused("a boolean id (True == 1 in Python; use int or str ids)")
    if isinstance(value, str):  # str subclasses (np.str_, StrEnum): their plain text
        return _text(str.__getitem__(value, slice(None)))
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return _text(bytes(value).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _Refused(f"bytes that are not UTF-8 ({exc.reason})") from None
    if isinstance(value, (numbers.Integral, np.integer)):
        return _integer(int(value))
    if isinstance(value, (float, np.floating)):
        return _real(float(value))
    if isinstance(value, (Decimal, Fraction)):
        return _exact(value)
    if value is pd.NA or value is pd.NaT:
        raise _Refused("a null id")
    raise _Refused(f"an id of type {kind.__name__} (use int, float or str ids)")


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused("a string with a lone surrogate (not valid UTF-8)") from None
    return value


def _integer(value: int) -> int:
    if INT_MIN <= value <= INT_MAX:
        return value
    raise _Refused("an int outside the 64-bit range")


def _real(value: float) -> int | float:
    if value != value:
        raise _Refused("a null id (NaN)")
    if value in (math.inf, -math.inf):
        raise _Refused("an infinite id")
    if value.is_integer() and INT_MIN <= value <= INT_MAX:
        return int(value)
    return value


def _exact(value: Decimal | Fraction) -> int | float:
    if isinstance(value, Decimal) and not value.is_finite():
        raise _Refused("a NaN or infinite id")
    if value == int(value):
        return _integer(int(value))
    as_float = float(value)
    if as_float == value:
        return as_float
    raise _Refused("a number that no int or float equals exactly")


def canonical_ids(arm: str, values: Sequence[Any]) -> list[CanonicalId]:
    """Every id of ``values`` in canonical form; the first unusable one raises, with its row.

    Uniform lists (all ``str`` or all ``int``, the common cases) are checked in one pass without
    building new objects; anything else goes id by id.
    """
    ids = values if isinstance(values, list) else list(values)
    kinds = set(map(type, ids))
    if kinds == {str}:
        try:
            "".join(ids).encode("utf-8")
        except UnicodeEncodeError:
            pass  # find the culprit below, with its row
        else:
            return ids
    elif kinds == {int} and min(ids) >= INT_MIN and max(ids) <= INT_MAX:
        return ids
    out: list[CanonicalId] = []
    append = out.append
    for row, value in enumerate(ids):
        try:
            append(canonical_id(value))
        except _Refused as why:
            raise RankerOutputError(
                arm, f"returned an item id that cannot be logged faithfully at row {row}: "
                f"{_shown(value)} is {why}"
            ) from None
    return out


def column_ids(arm: str, column: Any) -> list[CanonicalId]:
    """Canonical ids of a column (a Series, or its numpy or extension array), dtype first.

    An int column's ``tolist()`` already gives Python ints in range; a float column is checked
    for NaN and infinities in one vectorised pass before its integral values become ints;
    arrow-backed columns are read through the Arrow protocol (twice as fast as ``tolist()``).
    """
    values = column.array if isinstance(column, pd.Series) else column
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        values = values.to_numpy()
    dtype = values.dtype
    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        raise RankerOutputError(
            arm, f"returned boolean item ids (column dtype {dtype}); use int or str ids"
        )
    if kind in "mMc":
        raise RankerOutputError(
            arm, f"returned item ids of dtype {dtype}, which cannot be logged faithfully; "
            "use int or str ids"
        )
    if isinstance(values, np.ndarray):
        if kind in "iu":
            ids: list[CanonicalId] = values.tolist()
            return ids
        if kind == "f":
            return _float_ids(arm, values)
        return canonical_ids(arm, values.tolist())
    if getattr(dtype, "storage", None) == "pyarrow" and hasattr(values, "__arrow_array__"):
        return canonical_ids(arm, values.__arrow_array__().to_pylist())
    return canonical_ids(arm, values.tolist())


def _float_ids(arm: str, array: np.ndarray[Any, Any]) -> list[CanonicalId]:
    nulls = np.isnan(array)
    if nulls.any():
        rows = np.flatnonzero(nulls)[:5].tolist()
        raise RankerOutputError(
            arm, f"returned {int(nulls.sum())} null item ids (NaN at rows {rows})"
        )
    if np.isfinite(array).all():
        integral = array == np.floor(array)
        if integral.all() and (np.abs(array) < 2.0**63).all():
            return array.astype(np.int64).tolist()  # type: ignore[no-any-return]
        if not integral.any():
            return array.astype(np.float64).tolist()  # type: ignore[no-any-return]
    return canonical_ids(arm, array.tolist())


#: Text that spells a number in float form (a point or an exponent): ``101.0``, ``1e-07``, ``.5``.
_FLOAT_SPELLING = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")


def id_text(value: object) -> str | None:
    """An item id as the analysis compares it: the text of its canonical form (None if missing).

    The log holds canonical ids (ints and floats as JSON numbers, strings as strings) and every
    engine reads them as text (DuckDB, Athena and the pandas reference agree: ``str()`` of the
    int or float). Feedback ids arrive typed by their source (a CSV is all text, JSON and Parquet
    keep numbers, PostgreSQL ``numeric`` is a ``Decimal``), so each is mapped to that same text:
    numbers through :func:`canonical_id` (``101.0`` -> ``"101"``), and text that spells a number
    in float form (``"101.0"``, ``"1e-7"``) as that number. Other text is kept as it is, so
    ``"007"`` stays a string id. The one cost: a string id that spells a float (``"2.0"``) is read
    as the number it spells; such ids are rare, and their clicks are counted as
    ``item_not_in_ranking`` rather than lost silently.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if _FLOAT_SPELLING.fullmatch(text) and not text.lstrip("+-").isdigit():
            return _spelled_number(text)
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    try:
        return str(canonical_id(value))
    except _Refused:
        if isinstance(value, (float, np.floating)) and value != value:
            return None
        if isinstance(value, Decimal) and value.is_finite():  # no float equals it: the nearest
            return _spelled_number(str(value))
        return str(value)


def _spelled_number(text: str) -> str:
    """The canonical text of the number ``text`` spells (exactly, for integral values)."""
    exact = Decimal(text)
    if exact == exact.to_integral_value() and INT_MIN <= exact <= INT_MAX:
        return str(int(exact))
    return str(_real(float(text)))


def _shown(value: object) -> str:
    """The value as it reads in an error message, even when its repr fails or is huge."""
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__} with a failing repr>"
    # A message goes into a JSON log line: escape what UTF-8 cannot hold.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 80 else text[:77] + "..."

"""Canonical item ids: one form per item for dedupe, log and replay, or a clear refusal."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave_sdk.errors import RankerOutputError
from interleave_sdk.frames import ranking_ids
from interleave_sdk.ids import INT_MAX, INT_MIN, canonical_id, canonical_ids, column_ids

numbers_ = st.one_of(
    st.integers(INT_MIN, INT_MAX),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.integers(0, 2**32 - 1).map(np.uint32),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**60), 2**60).map(float),
)
ids_ = st.one_of(numbers_, st.text(alphabet=st.characters(blacklist_categories=["Cs"])))


def json_round_trip(value: object) -> object:
    return orjson.loads(orjson.dumps(value))


@given(ids_)
def test_canonical_form_is_idempotent(value: object) -> None:
    """Canonicalising a canonical id changes nothing, not even its type."""
    once = canonical_id(value)
    twice = canonical_id(once)
    assert twice == once and type(twice) is type(once)


@given(ids_)
def test_canonical_form_survives_json(value: object) -> None:
    """A canonical id reads back from its JSON text as the same value of the same type."""
    canonical = canonical_id(value)
    back = json_round_trip(canonical)
    assert back == canonical and type(back) is type(canonical)


@given(numbers_, numbers_)
def test_numbers_are_one_item_exactly_when_python_says_equal(x: Any, y: Any) -> None:
    """Two numeric ids share a canonical form if and only if ``int(x)``/``float(x)`` compare equal."""
    plain_x = int(x) if isinstance(x, np.integer) else x
    plain_y = int(y) if isinstance(y, np.integer) else y
    assert (canonical_id(x) == canonical_id(y)) == (plain_x == plain_y)


@given(st.lists(ids_, min_size=1, max_size=30))
def test_a_list_dedupes_like_its_canonical_forms(values: list[Any]) -> None:
    """A list's canonical ids have as many distinct values as Python equality finds among numbers."""
    canonical = canonical_ids("A", values)
    assert canonical == [canonical_id(v) for v in values]
    assert json_round_trip(canonical) == canonical


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (np.int64(7), 7),
        (np.uint64(2**64 - 1), 2**64 - 1),
        (1.0, 1),
        (np.float32(3.0), 3),
        (-0.0, 0),
        (0.5, 0.5),
        (2.0**70, 2.0**70),
        (Decimal("4"), 4),
        (Decimal("0.5"), 0.5),
        (Fraction(1, 4), 0.25),
        ("x", "x"),
        (np.str_("x"), "x"),
        (b"abc", "abc"),
        (np.bytes_(b"abc"), "abc"),
    ],
)
def test_each_id_type_maps_to_its_documented_form(value: object, expected: object) -> None:
    """The table in the ids module docstring, case by case (value and type)."""
    got = canonical_id(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "null"),
        (float("nan"), "null id"),
        (float("inf"), "infinite"),
        (True, "boolean"),
        (np.bool_(False), "boolean"),
        (2**64, "64-bit"),
        (-(2**63) - 1, "64-bit"),
        ("bad\ud800", "surrogate"),
        (b"\xff\xfe", "not UTF-8"),
        (Decimal("0.1"), "no int or float equals"),
        (Decimal("NaN"), "NaN"),
        (pd.NA, "null"),
        (pd.NaT, "null"),
        ((1, 2), "type tuple"),
        (1 + 2j, "type complex"),
    ],
)
def test_unfaithful_ids_are_refused_naming_arm_row_and_value(value: object, why: str) -> None:
    """An id with no faithful JSON form is a RankerOutputError with the arm, the row and the value."""
    with pytest.raises(RankerOutputError, match=why) as caught:
        canonical_ids("B", ["ok", value])
    assert caught.value.arm == "B"
    assert "row 1" in str(caught.value)
    assert repr(value).encode("utf-8", "backslashreplace").decode()[:40] in str(caught.value)


def test_an_unhashable_id_is_refused() -> None:
    """A list in an object column is refused as an id type, not a crash in the dedupe."""
    frame = pd.DataFrame({"item_id": [[1], [2]]})
    with pytest.raises(RankerOutputError, match="type list"):
        ranking_ids("A", frame, "item_id")


def test_int_and_float_columns_name_the_same_items() -> None:
    """A's int64 ids and B's float64 ids of equal value come out identical (issue 9, defect 2)."""
    a = pd.DataFrame({"item_id": np.array([1, 2, 3], dtype=np.int64)})
    b = pd.DataFrame({"item_id": np.array([3.0, 1.0, 2.0])})
    assert ranking_ids("A", a, "item_id") == [1, 2, 3]
    got = ranking_ids("B", b, "item_id")
    assert got == [3, 1, 2] and all(type(x) is int for x in got)


@pytest.mark.parametrize(
    "values",
    [
        np.array([1, 2, 3], dtype=np.int64),
        np.array([1, 2, 3], dtype=np.uint8),
        np.array([1.5, 2.0, 3.25]),
        np.array([1.5, 2.5], dtype=np.float32),
        pd.array([1, 2, 3], dtype="Int64"),
        pd.array(["a", "b"], dtype="string"),
        pd.Categorical(["x", "y"]),
        np.array([1, "a", b"b", 2.5, np.int32(4)], dtype=object),
    ],
)
def test_column_fast_paths_agree_with_the_per_id_rule(values: Any) -> None:
    """Whatever the column dtype, the ids equal canonical_id applied to each value."""
    column = pd.Series(values)
    got = column_ids("A", column)
    expected = [canonical_id(v) for v in column.tolist()]
    assert got == expected
    assert [type(x) for x in got] == [type(x) for x in expected]


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (np.array([1.0, np.nan]), "null item ids"),
        (np.array([1.0, np.inf]), "infinite"),
        (np.array([True, False]), "boolean"),
        (pd.array([1, None], dtype="Int64"), "null"),
        (pd.to_datetime(["2026-01-01"]), "dtype datetime64"),
    ],
)
def test_column_of_unfaithful_ids_is_refused(values: Any, why: str) -> None:
    """NaN, infinities, booleans, nullable NA and timestamps in the id column are refused."""
    with pytest.raises(RankerOutputError, match=why):
        column_ids("A", pd.Series(values))


def test_duplicates_are_found_after_canonicalisation() -> None:
    """1 and 1.0 in one arm's list are the same item twice: a duplicate, as the log would show."""
    frame = pd.DataFrame({"item_id": np.array([1, 1.0, "1"], dtype=object)})
    with pytest.raises(RankerOutputError, match=r"duplicate item ids, e.g. \[1\]"):
        ranking_ids("A", frame, "item_id")


# -- served == logged == replayed -----------------------------------------------------------------

POOL = st.sampled_from([0, 1, 2, 3, 7, 2**40])
mixed_id = st.one_of(
    POOL,
    POOL.map(np.int64),
    POOL.map(float),
    POOL.map(np.float64),
    POOL.map(str),
    st.sampled_from([0.5, 2.25, -1.5]),
)


@given(
    st.lists(mixed_id, min_size=1, max_size=8, unique_by=canonical_id),
    st.lists(mixed_id, min_size=1, max_size=8, unique_by=canonical_id),
    st.integers(0, 2**32),
)
def test_an_interleaving_of_mixed_id_types_replays_from_its_json_log(
    a_values: list[Any], b_values: list[Any], seed: int
) -> None:
    """Arms with ids typed int, numpy int, float or str: the drawn list, its JSON and the replay agree."""
    from random import Random

    from interleave_sdk.interleaving.api import interleave
    from interleave_sdk.observability.sinks import dumps

    rankings = {}
    for arm, values in (("A", a_values), ("B", b_values)):
        frame = pd.DataFrame({"item_id": pd.Series(values, dtype=object)})
        rankings[arm] = ranking_ids(arm, frame, "item_id")
    served = interleave("team_draft_v1", rankings, 10, Random(seed))
    logged = orjson.loads(dumps({"arms": rankings, "items": list(served.items)}))
    replayed = interleave("team_draft_v1", logged["arms"], 10, Random(seed))
    assert logged["items"] == list(served.items) == list(replayed.items)
    assert [type(x) for x in logged["items"]] == [type(x) for x in served.items]
    assert served.teams == replayed.teams

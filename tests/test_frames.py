"""The merged frame: picked rows in order, dtypes kept when the arms agree, a source column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interleave_sdk import frames
from interleave_sdk.frames import merged_frame


@pytest.fixture(params=[True, False], ids=["pandas-internal", "public-only"])
def column_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run each test with pandas' fast column accessor and constructor, and with the public ones."""
    monkeypatch.setattr(frames, "_FAST_COLUMNS", request.param and frames._FAST_COLUMNS)
    monkeypatch.setattr(frames, "_FAST_BUILD", request.param and frames._FAST_BUILD)
    return bool(request.param)


def arms() -> dict[str, pd.DataFrame]:
    a = pd.DataFrame(
        {
            "item_id": ["a1", "a2", "a3"],
            "score": np.array([0.9, 0.5, 0.1], dtype=np.float32),
            "rank": [1, 2, 3],
            "only_a": pd.array([True, False, None], dtype="boolean"),
        }
    )
    b = pd.DataFrame({"item_id": ["b1", "b2"], "score": [0.8, 0.7], "rank": [1, 2]})
    return {"A": a, "B": b}


@pytest.mark.usefixtures("column_path")
def test_rows_come_in_pick_order_with_their_source() -> None:
    """Picks (arm, row) become rows in that order, each tagged with its arm, on a fresh index."""
    merged = merged_frame(arms(), [("B", 1), ("A", 0), ("A", 2), ("B", 0)])
    assert merged["item_id"].tolist() == ["b2", "a1", "a3", "b1"]
    assert merged["source_ranker"].tolist() == ["B", "A", "A", "B"]
    assert merged.index.equals(pd.RangeIndex(4))


@pytest.mark.usefixtures("column_path")
def test_dtypes_survive_where_the_arms_agree_and_gaps_are_missing() -> None:
    """rank (int64 in both) stays int64; score (float32 vs float64) is unified; only_a is NA for B."""
    source = arms()
    merged = merged_frame(source, [("A", 0), ("B", 0), ("A", 1)])
    assert merged["rank"].dtype == np.int64 and merged["rank"].tolist() == [1, 1, 2]
    assert merged["score"].tolist() == pytest.approx([0.9, 0.8, 0.5])
    assert merged["only_a"].isna().tolist() == [False, True, False]
    assert list(merged.columns) == ["item_id", "score", "rank", "only_a", "source_ranker"]


def test_both_column_paths_build_the_same_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast accessor is an optimisation only: the public path gives an identical frame."""
    picks = [("A", 2), ("B", 1), ("A", 0), ("B", 0), ("A", 1)]
    fast = merged_frame(arms(), picks)
    monkeypatch.setattr(frames, "_FAST_COLUMNS", False)
    monkeypatch.setattr(frames, "_FAST_BUILD", False)
    pd.testing.assert_frame_equal(fast, merged_frame(arms(), picks))


@pytest.mark.usefixtures("column_path")
def test_the_arms_frames_are_not_changed() -> None:
    """Merging reads the arms' frames and never writes into them."""
    source = arms()
    before = {arm: frame.copy(deep=True) for arm, frame in source.items()}
    merged = merged_frame(source, [("A", 0), ("B", 1)])
    merged.loc[0, "rank"] = 99
    for arm, frame in source.items():
        pd.testing.assert_frame_equal(frame, before[arm])


@pytest.mark.usefixtures("column_path")
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["x", "y"], ["x", "y"]),
        (np.array([3, 1], dtype=np.int32), [3, 1]),
        (np.array([2.0, 0.5]), [2, 0.5]),
        (pd.array([5, 6], dtype="Int64"), [5, 6]),
    ],
)
def test_ranking_ids_read_the_item_column_whatever_its_dtype(values: object, expected: list[object]) -> None:
    """The item column is read by position, on either column path, into canonical ids."""
    frame = pd.DataFrame({"score": [0.2, 0.1], "item_id": values})
    got = frames.ranking_ids("A", frame, "item_id")
    assert got == expected and [type(x) for x in got] == [type(x) for x in expected]


@pytest.mark.usefixtures("column_path")
def test_ranking_ids_refuse_a_missing_or_doubled_item_column() -> None:
    """No item column, two of them, or a column group: a RankerOutputError that says which."""
    with pytest.raises(frames.RankerOutputError, match="no column 'item_id'"):
        frames.ranking_ids("A", pd.DataFrame({"id": [1]}), "item_id")
    doubled = pd.DataFrame([[1, 2]], columns=["item_id", "item_id"])
    with pytest.raises(frames.RankerOutputError, match="2 columns named 'item_id'"):
        frames.ranking_ids("A", doubled, "item_id")
    levels = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("item_id", "x"), ("item_id", "y")]))
    with pytest.raises(frames.RankerOutputError, match="'item_id' is not a single column"):
        frames.ranking_ids("A", levels, "item_id")


BIG = 1_400_000_000_000_000_001
MIXES = {
    # ids and a score column typed differently by the two arms; the common dtype would round
    "int64+uint64": (
        pd.DataFrame(
            {"item_id": np.arange(BIG, BIG + 6, dtype=np.int64), "score": np.arange(6, dtype=np.int64)}
        ),
        pd.DataFrame(
            {
                "item_id": np.arange(BIG + 10, BIG + 16, dtype=np.uint64),
                "score": np.full(6, 2**63 + 1, dtype=np.uint64),
            }
        ),
    ),
    "int64+float64": (
        pd.DataFrame(
            {
                "item_id": np.arange(BIG, BIG + 6, dtype=np.int64),
                "score": np.arange(BIG, BIG + 6, dtype=np.int64),
            }
        ),
        pd.DataFrame({"item_id": np.arange(6, dtype=np.float64) + 0.5, "score": np.linspace(0.1, 0.6, 6)}),
    ),
    "int32+str": (
        pd.DataFrame({"item_id": np.arange(6, dtype=np.int32), "score": np.arange(6, dtype=np.int32)}),
        pd.DataFrame({"item_id": [f"s{i}" for i in range(6)], "score": [f"high{i}" for i in range(6)]}),
    ),
}


def plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (int64 and int are both ints)."""
    return value.item() if isinstance(value, np.generic) else value


@pytest.mark.usefixtures("column_path")
@pytest.mark.parametrize("mix", sorted(MIXES))
def test_differently_typed_arms_are_served_exactly(mix: str) -> None:
    """Every served value is the arm's own value and type, and the ids equal the log and replay."""
    from interleave_sdk import StaticConfig, interleaved, replay
    from interleave_sdk.testing import CapturingSink

    frame_a, frame_b = MIXES[mix]
    sink = CapturingSink()
    config = StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=False)

    @interleaved(rankers={"B": lambda user_id: frame_b}, config=config, sink=sink, k=8, metrics=False)
    def recommend(user_id: str) -> pd.DataFrame:
        return frame_a

    for user in ("u1", "u2", "u3"):
        served = recommend(user)
        record = sink.last
        assert record["served"] == "interleaved"
        own = {"A": frame_a, "B": frame_b}
        rows = {arm: {plain(v): i for i, v in enumerate(own[arm]["item_id"])} for arm in own}
        for _, row in served.iterrows():
            source = own[row["source_ranker"]].iloc[rows[row["source_ranker"]][plain(row["item_id"])]]
            for column in ("item_id", "score"):
                got, expected = plain(row[column]), plain(source[column])
                assert got == expected and type(got) is type(expected), (column, got, expected)
        ids = [plain(v) for v in served["item_id"]]
        assert len(set(ids)) == len(ids)
        assert ids == [item["item_id"] for item in record["items"]] == list(replay(record).items)

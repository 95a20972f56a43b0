"""Streaming arms: pulled only as far as the draft needs, same list as the full draft, failing open."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleave, interleaved, replay
from interleave_sdk.clock import SYSTEM_CLOCK
from interleave_sdk.errors import StreamError
from interleave_sdk.interleaving.api import Interleaving, register, unregister
from interleave_sdk.streaming import ArmStream, is_streaming, open_stream
from interleave_sdk.testing import CapturingSink

from .conftest import frame

K = 10
N = 10_000


class Stream:
    """A generator ranker over ``ids`` that counts what was pulled and can fail at a position."""

    def __init__(self, ids: list[Any], *, fail_at: int | None = None, junk_at: int | None = None) -> None:
        self.ids = ids
        self.fail_at = fail_at
        self.junk_at = junk_at
        self.pulled = 0
        self.calls = 0
        self.candidates: list[Any] = []

    def rank_stream(self, user_id: str, candidates: Any = None) -> Iterator[Any]:
        self.calls += 1
        self.candidates.append(candidates)
        for i, item in enumerate(self.ids):
            if i == self.fail_at:
                raise RuntimeError("lost the database connection")
            self.pulled += 1
            if i == self.junk_at:
                yield 42
            else:
                yield {"item_id": item, "score": float(N - i), "arm": "stream"}

    def full(self) -> pd.DataFrame:
        return pd.DataFrame({"item_id": self.ids, "score": [float(N - i) for i in range(len(self.ids))]})


def catalogue(seed: int) -> list[str]:
    ids = [f"v{i}" for i in range(N)]
    random.Random(seed).shuffle(ids)
    return ids


def build(
    rankers: dict[str, Any], pool: ArmExecutor, sink: CapturingSink, *, base: pd.DataFrame | None = None,
    parallel: bool = True, mode: str = "INTERLEAVE", timeout_ms: float = 5000.0,
    method: str = "team_draft_v1",
) -> Any:  # fmt: skip
    config = StaticConfig(
        mode=mode, sampling_rate=1.0, parallel_enabled=parallel, timeout_ms=timeout_ms,
        interleave_method=method,
    )  # fmt: skip
    handler_frame = base if base is not None else frame(["a", "b", "c", "d"], "A")

    @interleaved(rankers=rankers, config=config, sink=sink, executor=pool, k=K, metrics=False)
    def recommend(user_id: str) -> pd.DataFrame:
        return handler_frame.copy()

    return recommend


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("user", ["u1", "u2", "u3", "u4"])
def test_ten_thousand_item_streams_are_pulled_k_times_and_draft_as_the_full_lists(
    pool: ArmExecutor, sink: CapturingSink, parallel: bool, user: str
) -> None:
    """Two 10,000-item generator arms are pulled <= K+2 times each; the list is the full-list draft."""
    a, b = Stream(catalogue(1)[:N]), Stream(catalogue(1)[:5] + catalogue(2)[: N - 5])
    b.ids = list(dict.fromkeys(b.ids))  # unique, sharing its head with A
    recommend = build({"A": a, "B": b}, pool, sink, parallel=parallel)
    served = recommend(user)
    record = sink.last
    assert record["served"] == "interleaved"
    assert a.pulled <= K + 2 and b.pulled <= K + 2
    assert record["arms"]["A"]["produced"] == a.pulled and record["arms"]["B"]["produced"] == b.pulled
    full = interleave("team_draft_v1", {"A": a.ids, "B": b.ids}, K, random.Random(record["seed"]["value"]))
    assert list(served["item_id"]) == list(full.items)
    assert list(served["source_ranker"]) == list(full.teams)


def test_full_and_streaming_arms_mix(pool: ArmExecutor, sink: CapturingSink) -> None:
    """A full handler (A) and a streaming B merge into one frame with both arms' columns."""
    b = Stream(["c", "e", "a", "f", *(f"x{i}" for i in range(100))])
    served = build({"B": b}, pool, sink)("u1")
    record = sink.last
    assert record["served"] == "interleaved"
    assert record["arms"]["A"]["produced"] is None
    assert record["arms"]["B"]["produced"] == b.pulled <= K + 2
    assert set(served["source_ranker"]) == {"A", "B"}
    assert served.loc[served["source_ranker"] == "B", "arm"].eq("stream").all()
    expected = interleave(
        "team_draft_v1", {"A": ["a", "b", "c", "d"], "B": b.ids}, K, random.Random(record["seed"]["value"])
    )
    assert list(served["item_id"]) == list(expected.items)


class ReusedRow:
    """A generator ranker that yields the same dict every time, refilled (a cursor's habit)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def rank_stream(self, user_id: str) -> Iterator[Any]:
        row: dict[str, Any] = {}
        for i, item in enumerate(self.ids):
            row["item_id"], row["score"] = item, float(-i)
            yield row


def test_a_stream_reusing_one_dict_per_row_is_served_as_logged(
    pool: ArmExecutor, sink: CapturingSink
) -> None:
    """Each row is copied when pulled: the served ids and scores are the ones logged and replayed."""
    b = ReusedRow([f"r{i}" for i in range(20)])
    served = build({"B": b}, pool, sink, base=frame([f"a{i}" for i in range(20)], "A"))("u1")
    record = sink.last
    assert record["served"] == "interleaved"
    logged = [item["item_id"] for item in record["items"]]
    assert list(served["item_id"]) == logged == list(replay(record).items)
    from_b = served[served["source_ranker"] == "B"]
    assert list(from_b["score"]) == [-float(b.ids.index(item)) for item in from_b["item_id"]]


def test_dataframe_batches_are_rows(pool: ArmExecutor, sink: CapturingSink) -> None:
    """A generator yielding small DataFrames is read row by row, pulled batch by batch."""
    batches: list[int] = []

    def rank_b(user_id: str) -> Iterator[pd.DataFrame]:
        for start in range(0, 1000, 4):
            batches.append(start)
            yield pd.DataFrame({"item_id": [f"y{i}" for i in range(start, start + 4)]})

    assert is_streaming(rank_b)
    served = build({"B": rank_b}, pool, sink)("u1")
    assert sink.last["served"] == "interleaved"
    assert len(batches) == 3  # 10 items: three batches of four, not 250
    assert sink.last["arms"]["B"]["produced"] == K
    assert len(served) == K


@pytest.mark.parametrize(
    ("stream", "reason", "status", "produced"),
    [
        (Stream([f"s{i}" for i in range(50)], fail_at=3), "arm_error", "error", 3),
        (Stream(["s0", "s1", "s2", "s1", "s4"]), "invalid_output", "invalid", 3),
        (Stream([f"s{i}" for i in range(50)], junk_at=5), "invalid_output", "invalid", 5),
        (Stream(["s0", None, "s2"]), "invalid_output", "invalid", 1),
    ],
    ids=["raises-after-3", "duplicate", "junk-midway", "null-id"],
)
@pytest.mark.parametrize("parallel", [True, False])
def test_a_bad_stream_falls_back_with_a_logged_reason(
    pool: ArmExecutor, sink: CapturingSink, stream: Stream, reason: str, status: str, produced: int,
    parallel: bool,
) -> None:  # fmt: skip
    """A stream that raises or yields a duplicate, junk or a null serves the handler, logged."""
    stream.pulled = 0
    handler = frame(["a", "b", "c"], "A")
    served = build({"B": stream}, pool, sink, base=handler, parallel=parallel)("u1")
    record = sink.last
    pd.testing.assert_frame_equal(served, handler)
    assert record["served"] == "A"
    assert record["fallback_reason"] == reason
    assert record["arms"]["B"]["status"] == status
    assert record["arms"]["B"]["produced"] == produced
    assert [item["item_id"] for item in record["items"]] == ["a", "b", "c"]


def test_a_stalled_stream_is_a_timeout(pool: ArmExecutor, sink: CapturingSink, gate: threading.Event) -> None:
    """A stream that stalls before K items past the deadline is that arm's timeout."""

    def rank_b(user_id: str) -> Iterator[dict[str, str]]:
        yield {"item_id": "z0"}
        gate.wait(5)
        yield {"item_id": "z1"}

    handler = frame(["a", "b"], "A")
    served = build({"B": rank_b}, pool, sink, base=handler, timeout_ms=50)("u1")
    assert served is not None and list(served["item_id"]) == ["a", "b"]
    assert sink.last["fallback_reason"] == "timeout"
    assert sink.last["arms"]["B"]["status"] == "timeout"


@pytest.fixture
def deep_method() -> Iterator[str]:
    """A test method that reads 3K items of every list (deeper than the pre-pull), then drafts."""
    name = "deep_reader_test_v1"

    @register(name)
    def deep(rankings: Any, k: int, rng: random.Random) -> Interleaving:
        heads: dict[str, list[Any]] = {}
        for arm, ids in rankings.items():
            heads[arm] = []
            try:
                for i in range(3 * k):
                    heads[arm].append(ids[i])
            except IndexError:  # the end of a list, as every method reads it
                pass
        return interleave("team_draft_v1", heads, k, rng)

    yield name
    unregister(name)


def test_a_stream_failing_during_lazy_pulls_drops_the_merge_whole(
    pool: ArmExecutor, sink: CapturingSink, deep_method: str
) -> None:
    """Past the pre-pulled K items the merge pulls lazily; a failure there serves the handler."""
    b = Stream([f"s{i}" for i in range(100)], fail_at=K + 4)
    handler = frame(["a", "b"], "A")
    served = build({"B": b}, pool, sink, base=handler, method=deep_method)("u1")
    pd.testing.assert_frame_equal(served, handler)
    record = sink.last
    assert (record["served"], record["fallback_reason"]) == ("A", "arm_error")
    assert record["arms"]["B"]["status"] == "error" and record["arms"]["B"]["produced"] == K + 4
    assert record["items"] and all(item["source_ranker"] == "A" for item in record["items"])


def test_a_method_reading_deeper_pulls_lazily(
    pool: ArmExecutor, sink: CapturingSink, deep_method: str
) -> None:
    """A method that reads past the pre-pulled K items gets them, pulled on demand, and merges."""
    b = Stream([f"s{i}" for i in range(100)])
    served = build({"B": b}, pool, sink, method=deep_method)("u1")
    assert sink.last["served"] == "interleaved"
    assert b.pulled == 3 * K and sink.last["arms"]["B"]["produced"] == 3 * K
    assert len(served) == K


def test_lazy_pulls_stop_at_the_deadline() -> None:
    """Pulling on the calling thread checks the deadline before each item."""

    class Clock:
        t = 0.0

        def monotonic(self) -> float:
            return self.t

        def now(self) -> Any:
            return SYSTEM_CLOCK.now()

    clock = Clock()
    stream = open_stream("B", Stream([f"s{i}" for i in range(100)]), ("u",), {}, "item_id", 4, clock)
    stream.deadline = 1.0
    ranking = stream.ranking()
    assert ranking[5] == "s5"
    clock.t = 2.0
    with pytest.raises(StreamError) as info:
        ranking[6]
    assert (info.value.reason, info.value.produced) == ("timeout", 6)


def test_an_arm_stream_ends_with_index_error() -> None:
    """A short stream reads to its end and then raises IndexError, as a list would."""
    stream = ArmStream("B", iter([{"item_id": 1}, {"item_id": 2}]), "item_id", SYSTEM_CLOCK)
    ranking = stream.ranking()
    assert (ranking[0], ranking[1]) == (1, 2)
    with pytest.raises(IndexError):
        ranking[2]
    assert stream.exhausted and stream.produced == 2


def test_streaming_arm_alone_without_rank_full_serves_its_first_k(
    pool: ArmExecutor, sink: CapturingSink
) -> None:
    """In mode B a streaming arm with no rank_full serves its first K items as a frame."""
    b = Stream([f"s{i}" for i in range(N)])
    served = build({"B": b}, pool, sink, mode="B")("u1")
    assert list(served["item_id"]) == [f"s{i}" for i in range(K)]
    assert (sink.last["served"], sink.last["arms"]["B"]["produced"]) == ("B", K)
    assert b.pulled == K


def test_streaming_arm_alone_uses_rank_full(pool: ArmExecutor, sink: CapturingSink) -> None:
    """In mode B a streaming arm with rank_full serves that list, pulling nothing."""

    class Both(Stream):
        def rank_full(self, user_id: str) -> pd.DataFrame:
            return self.full()

    b = Both([f"s{i}" for i in range(30)])
    served = build({"B": b}, pool, sink, mode="B")("u1")
    assert len(served) == 30 and b.pulled == 0
    assert sink.last["served"] == "B"


def test_streaming_rankers_need_k() -> None:
    """A streaming ranker without k= is refused at decoration, naming the fix."""
    with pytest.raises(ValueError, match="pass k="):
        interleaved(rankers={"B": Stream(["a"])}, config=StaticConfig(), sink=CapturingSink())


@pytest.mark.parametrize("parallel", [True, False])
def test_the_shared_stage_feeds_streams_once_per_request(
    pool: ArmExecutor, sink: CapturingSink, parallel: bool
) -> None:
    """With candidates=, the stage runs once per request and the stream gets its result."""
    calls: list[str] = []

    def stage(user_id: str) -> list[str]:
        calls.append(user_id)
        return [f"c{i}" for i in range(50)]

    b = Stream([f"s{i}" for i in range(N)])
    config = StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, parallel_enabled=parallel)

    @interleaved(
        rankers={"B": b}, candidates=stage, config=config, sink=sink, executor=pool, k=K, metrics=False
    )
    def recommend(user_id: str, candidates: list[str] | None = None) -> pd.DataFrame:
        return frame((candidates or ["own"])[:20], "A")

    for i in range(5):
        recommend(f"u{i}")
        assert sink.last["served"] == "interleaved"
    assert len(calls) == 5
    assert b.candidates == [[f"c{i}" for i in range(50)]] * 5


def test_the_streaming_sample_pulls_k_items(run_sample: Any) -> None:
    """samples/streaming_ranker.py serves 10 items from an endless stream pulled 10 times."""
    out = run_sample("streaming_ranker.py")
    assert "B was pulled 10 times; the log says produced=10" in out
    assert out.splitlines()[0].count("'") == 20  # ten ids


def test_a_streaming_arm_in_an_async_handler(sink: CapturingSink) -> None:
    """An async handler interleaves with a streaming arm, pulled K times in a worker thread."""
    import asyncio

    b = Stream([f"s{i}" for i in range(N)])
    config = StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, timeout_ms=5000.0)

    @interleaved(rankers={"B": b}, config=config, sink=sink, k=K, metrics=False)
    async def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a", "b", "c", "d"], "A")

    served = asyncio.run(recommend("u1"))
    assert sink.last["served"] == "interleaved" and len(served) == K
    assert b.pulled == K == sink.last["arms"]["B"]["produced"]


@pytest.mark.parametrize(
    ("stream", "reason"),
    [(Stream(["s0", "s0"]), "invalid_output"), (Stream(["s0", "s1"], fail_at=1), "arm_error")],
    ids=["duplicate", "raises"],
)
def test_a_bad_streaming_baseline_arm_serves_the_handler(
    pool: ArmExecutor, sink: CapturingSink, stream: Stream, reason: str
) -> None:
    """A streaming rankers["A"] that fails serves the decorated function, with the arm's reason."""
    handler = frame(["a", "b"], "A")
    served = build({"A": stream, "B": Stream(["x", "y"])}, pool, sink, base=handler)("u1")
    pd.testing.assert_frame_equal(served, handler)
    assert (sink.last["served"], sink.last["fallback_reason"]) == ("A", reason)


def test_system_exit_from_a_stream_read_past_k_is_contained(
    pool: ArmExecutor, sink: CapturingSink, deep_method: str
) -> None:
    """A stream raising SystemExit while a method pulls past K: the handler serves, nothing escapes."""

    class Exiting(Stream):
        def rank_stream(self, user_id: str, candidates: Any = None) -> Iterator[Any]:
            for i in range(K + 2):
                yield {"item_id": f"s{i}"}
            raise SystemExit(3)

    handler = frame(["a", "b"], "A")
    served = build({"B": Exiting([])}, pool, sink, base=handler, method=deep_method)("u1")
    pd.testing.assert_frame_equal(served, handler)
    assert (sink.last["served"], sink.last["fallback_reason"]) == ("A", "arm_error")
    assert "SystemExit" in sink.last["error"]

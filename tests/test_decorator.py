"""The decorator: what each mode computes, sampling, signatures, methods, and failing open."""

from __future__ import annotations

import contextvars
import inspect
import logging
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import (
    ConfigSnapshot,
    ConfigUnavailable,
    EnvConfig,
    Interleaving,
    StaticConfig,
    interleaved,
    last_ranking_id,
    register,
    replay,
)
from interleave_sdk.interleaving import unregister
from interleave_sdk.testing import CapturingSink

from .conftest import CountingRanker, frame

Make = Callable[..., tuple[Callable[..., Any], CountingRanker, CountingRanker]]


# -- what each mode computes ---------------------------------------------------------------------


def test_mode_a_computes_only_a_and_returns_it_unchanged(make_recommender: Make, sink: CapturingSink) -> None:
    """mode=A: one call of A, none of B, A's frame as is (same rows, same columns)."""
    recommend, rank_a, rank_b = make_recommender(mode="A")
    result = recommend("u1", {})
    assert (rank_a.calls, rank_b.calls) == (1, 0)
    pd.testing.assert_frame_equal(result, frame(["a", "b", "c", "d"], "A"))
    assert sink.last["served"] == "A" and sink.last["fallback_reason"] is None


def test_mode_b_computes_only_b(make_recommender: Make, sink: CapturingSink) -> None:
    """mode=B: one call of B, none of A, B's frame as is."""
    recommend, rank_a, rank_b = make_recommender(mode="b")  # modes are case-insensitive
    result = recommend("u1", {})
    assert (rank_a.calls, rank_b.calls) == (0, 1)
    pd.testing.assert_frame_equal(result, frame(["c", "e", "a", "f"], "B"))
    assert sink.last["served"] == "B"


def test_interleave_in_sample_computes_each_arm_once_and_merges(
    make_recommender: Make, sink: CapturingSink
) -> None:
    """INTERLEAVE in sample: A once, B once, never the wrapped body a third time; merged frame."""
    recommend, rank_a, rank_b = make_recommender(sampling_rate=1.0)
    result = recommend("u1", {})
    assert (rank_a.calls, rank_b.calls) == (1, 1)
    assert list(result.columns) == ["item_id", "score", "meta", "source_ranker"]
    assert list(result.index) == list(range(len(result)))
    assert len(result) == 4 and result["item_id"].is_unique
    record = sink.last
    assert record["served"] == "interleaved"
    assert [i["item_id"] for i in record["items"]] == result["item_id"].tolist()
    assert [i["source_ranker"] for i in record["items"]] == result["source_ranker"].tolist()
    # Rows come from the drafting team's frame: meta tells which frame each row was taken from.
    assert (result["meta"] == result["source_ranker"]).all()


def test_interleave_out_of_sample_computes_only_the_baseline(
    make_recommender: Make, sink: CapturingSink
) -> None:
    """INTERLEAVE with rate 0: nobody is in sample, only A runs."""
    recommend, rank_a, rank_b = make_recommender(sampling_rate=0.0)
    recommend("u1", {})
    assert (rank_a.calls, rank_b.calls) == (1, 0)
    assert sink.last["in_sample"] is False and sink.last["served"] == "A"


def test_ranking_id_reaches_the_caller_without_touching_its_objects(
    make_recommender: Make, sink: CapturingSink
) -> None:
    """last_ranking_id() matches the log line on every path; only the SDK's merged frame is tagged."""
    for rate in (0.0, 1.0):
        recommend, _, _ = make_recommender(sampling_rate=rate)
        result = recommend("u1", {})
        assert last_ranking_id() == sink.last["ranking_id"]
        if rate == 0.0:
            assert "ranking_id" not in result.attrs  # the handler's own frame is never written on
        else:
            assert result.attrs["ranking_id"] == sink.last["ranking_id"]
    assert len({r["ranking_id"] for r in sink.records}) == 2


def test_ranking_ids_are_version_4_uuids_in_hex(make_recommender: Make, sink: CapturingSink) -> None:
    """Without an id_factory, each ranking id is a fresh random UUID written as 32 hex digits."""
    recommend, _, _ = make_recommender(sampling_rate=1.0)
    for _ in range(20):
        recommend("u1", {})
    ids = [record["ranking_id"] for record in sink.records]
    assert all(uuid.UUID(hex=i).version == 4 and uuid.UUID(hex=i).hex == i for i in ids)
    assert all(uuid.UUID(hex=i).variant == uuid.RFC_4122 for i in ids) and len(set(ids)) == 20


def test_a_cached_frame_returned_twice_keeps_its_attrs(sink: CapturingSink) -> None:
    """Defect 3: a handler returning one cached frame never sees it rewritten by later calls."""
    cached = frame(["a", "b"])
    cached.attrs["owner"] = "cache"

    @interleaved(rankers={"B": lambda user_id: frame(["c"])}, config=StaticConfig(mode="A"), sink=sink)
    def recommend(user_id: str) -> pd.DataFrame:
        return cached

    first = recommend("u1")
    first_id = last_ranking_id()
    assert recommend("u2") is cached and first is cached
    assert cached.attrs == {"owner": "cache"}
    assert last_ranking_id() != first_id == sink.records[0]["ranking_id"]


def test_k_limits_the_interleaved_list(make_recommender: Make, sink: CapturingSink) -> None:
    """k=2 serves two items; without k the baseline's length is used."""
    recommend, _, _ = make_recommender(k=2)
    assert len(recommend("u1")) == 2 and sink.last["k"] == 2


def test_union_shorter_than_k() -> None:
    """A list is never padded: length is min(k, |A ∪ B|)."""
    capture = CapturingSink()

    @interleaved(
        rankers={"B": lambda user_id: frame(["x"])},
        config=StaticConfig(mode="INTERLEAVE"),
        sink=capture,
        k=10,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["x", "y"])

    assert sorted(recommend("u").item_id) == ["x", "y"]
    assert capture.last["k"] == 10


# -- sampling ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
def test_sampling_share_matches_the_rate(make_recommender: Make, sink: CapturingSink, rate: float) -> None:
    """Over 2,000 users the interleaved share is the rate ± 3 points."""
    recommend, _, _ = make_recommender(sampling_rate=rate)
    for i in range(2000):
        recommend(f"user-{i}")
    share = sum(r["served"] == "interleaved" for r in sink.records) / 2000
    assert abs(share - rate) <= 0.03


def test_sampling_is_stable_per_user(make_recommender: Make, sink: CapturingSink) -> None:
    """The same user gets the same decision on every call."""
    recommend, _, _ = make_recommender(sampling_rate=0.5)
    for _ in range(3):
        for i in range(200):
            recommend(f"user-{i}")
    by_user: dict[str, set[bool]] = {}
    for record in sink.records:
        by_user.setdefault(record["user_id"], set()).add(record["in_sample"])
    assert all(len(decisions) == 1 for decisions in by_user.values())


@pytest.mark.parametrize("anonymous", [None, ""])
def test_anonymous_requests_are_decided_per_request(
    make_recommender: Make, sink: CapturingSink, anonymous: Any
) -> None:
    """No user id: each request is sampled on its own (both outcomes occur at rate 0.5)."""
    recommend, _, _ = make_recommender(sampling_rate=0.5)
    for _ in range(200):
        recommend(anonymous)
    share = sum(r["in_sample"] for r in sink.records) / 200
    assert 0.35 < share < 0.65
    assert all(r["user_id"] is None for r in sink.records)


def test_positional_and_keyword_user_ids_agree(make_recommender: Make, sink: CapturingSink) -> None:
    """Binding finds the user id however it is passed."""
    recommend, _, _ = make_recommender(sampling_rate=0.5, seed_strategy="user")
    for i in range(100):
        recommend(f"user-{i}", {})
        recommend(context={}, user_id=f"user-{i}")
    records = sink.records
    for positional, keyword in zip(records[::2], records[1::2], strict=True):
        assert positional["user_id"] == keyword["user_id"]
        assert positional["in_sample"] == keyword["in_sample"]
        assert positional["items"] == keyword["items"]


def test_custom_user_key_and_default_values() -> None:
    """user_key names the parameter; a default value of that parameter is used when not passed."""
    capture = CapturingSink()

    @interleaved(
        rankers={"B": lambda **kw: frame(["b"])},
        config=StaticConfig(mode="A"),
        sink=capture,
        user_key="member",
    )
    def recommend(*, member: str = "guest") -> pd.DataFrame:
        return frame(["a"])

    recommend()
    assert capture.last["user_id"] == "guest"
    recommend(member="m7")
    assert capture.last["user_id"] == "m7"


def test_missing_user_parameter_is_reported_at_decoration() -> None:
    """A signature without the user parameter fails loudly when decorating, not per request."""
    with pytest.raises(TypeError, match="no parameter 'user_id'"):

        @interleaved(rankers={"B": lambda uid: frame(["b"])}, config=StaticConfig())
        def recommend(uid: str) -> pd.DataFrame:
            return frame(["a"])


# -- seeds and replay ---------------------------------------------------------------------------------


def test_user_seed_strategy_repeats_the_interleaving(make_recommender: Make, sink: CapturingSink) -> None:
    """seed_strategy=user: the same user and lists get the same interleaving every time."""
    recommend, _, _ = make_recommender(seed_strategy="user")
    lists = {tuple(recommend("same-user")["item_id"]) for _ in range(20)}
    assert len(lists) == 1
    assert sink.last["seed"]["strategy"] == "user"


def test_request_seed_strategy_varies_between_requests(make_recommender: Make, sink: CapturingSink) -> None:
    """seed_strategy=request: the same user sees both coin outcomes across requests."""
    recommend, _, _ = make_recommender(seed_strategy="request")
    firsts = {recommend("same-user")["source_ranker"].iloc[0] for _ in range(40)}
    assert firsts == {"A", "B"}


def test_every_served_list_replays_from_its_log_line(make_recommender: Make, sink: CapturingSink) -> None:
    """replay(record) reproduces items and teams exactly, for many requests."""
    a = frame([f"v{i}" for i in range(30)])
    b = frame([f"v{i}" for i in random.Random(3).sample(range(45), 30)])
    recommend, _, _ = make_recommender(a=a, b=b, k=12)
    for i in range(100):
        recommend(f"u{i}")
    for record in sink.records:
        again = replay(record)
        assert list(again.items) == [i["item_id"] for i in record["items"]]
        assert list(again.teams) == [i["source_ranker"] for i in record["items"]]


def test_ranks_in_each_arm_are_logged(make_recommender: Make, sink: CapturingSink) -> None:
    """Each item carries its 1-based rank in A and B (null when absent)."""
    recommend, _, _ = make_recommender()
    recommend("u1")
    ranks = {i["item_id"]: i["ranks"] for i in sink.last["items"]}
    expected = {
        "a": {"A": 1, "B": 3},
        "b": {"A": 2, "B": None},
        "c": {"A": 3, "B": 1},
        "d": {"A": 4, "B": None},
        "e": {"A": None, "B": 2},
        "f": {"A": None, "B": 4},
    }
    assert ranks == {item: expected[item] for item in ranks}


# -- wrapping ---------------------------------------------------------------------------------------


def test_signature_name_and_wrapped_are_kept() -> None:
    """Editors and frameworks see the original function."""

    def recommend(user_id: str, context: dict[str, Any] | None = None) -> pd.DataFrame:
        """Docs of the handler."""
        return frame(["a"])

    decorated = interleaved(rankers={"B": recommend}, config=StaticConfig())(recommend)
    assert inspect.signature(decorated) == inspect.signature(recommend)
    assert decorated.__name__ == "recommend" and decorated.__doc__ == "Docs of the handler."
    assert decorated.__wrapped__ is recommend  # type: ignore[attr-defined]


def test_methods_work_with_callables_and_method_names() -> None:
    """On a method, self is not the user id; rankers may be given as method names."""
    capture = CapturingSink()

    class Recommender:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def rank_b(self, user_id: str, context: Any = None) -> pd.DataFrame:
            self.calls.append("B")
            return frame(["c", "d"], "B")

        @interleaved(rankers={"B": "rank_b"}, config=StaticConfig(mode="INTERLEAVE"), sink=capture)
        def recommend(self, user_id: str, context: Any = None) -> pd.DataFrame:
            self.calls.append("A")
            return frame(["a", "b"], "A")

    service = Recommender()
    result = service.recommend("u9", context={})
    assert sorted(service.calls) == ["A", "B"]
    assert capture.last["user_id"] == "u9" and capture.last["served"] == "interleaved"
    assert len(result) == 2 and set(result["item_id"]) <= {"a", "b", "c", "d"}
    service.recommend(user_id="u9")
    assert capture.last["user_id"] == "u9"


def test_disabled_decorator_returns_the_function() -> None:
    """enabled=False is a no-op: the very same function comes back."""

    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    assert interleaved(rankers={"B": recommend}, enabled=False)(recommend) is recommend


def test_decoration_does_no_io_and_starts_no_threads() -> None:
    """Decorating reads no config and starts no pool; the first call does."""

    class CountingConfig:
        calls = 0

        def get(self) -> ConfigSnapshot:
            self.calls += 1
            return StaticConfig(mode="INTERLEAVE").get()

    config = CountingConfig()
    from interleave_sdk import ArmExecutor

    pool = ArmExecutor(max_workers=1)

    @interleaved(
        rankers={"B": lambda user_id: frame(["b"])},
        config=config,
        executor=pool,
        sink=CapturingSink(),
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    assert config.calls == 0 and pool._pool is None
    recommend("u")
    assert config.calls == 1 and pool._pool is not None
    pool.shutdown()


def test_context_variables_reach_the_worker_thread(sink: CapturingSink) -> None:
    """A ranker running in the pool sees the caller's contextvars."""
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")
    seen: list[str] = []

    def rank_b(user_id: str) -> pd.DataFrame:
        seen.append(request_id.get())
        return frame(["b"])

    @interleaved(rankers={"B": rank_b}, config=StaticConfig(mode="INTERLEAVE"), sink=sink)
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    request_id.set("req-17")
    recommend("u")
    assert seen == ["req-17"]


def test_env_config_is_read_per_call(monkeypatch: pytest.MonkeyPatch, sink: CapturingSink) -> None:
    """EnvConfig follows INTERLEAVE_SDK_* variables without redecorating."""
    rank_b = CountingRanker(frame(["b"]))

    @interleaved(rankers={"B": rank_b}, config=EnvConfig(), sink=sink)
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    monkeypatch.setenv("INTERLEAVE_SDK_MODE", "B")
    recommend("u")
    assert sink.last["served"] == "B" and sink.last["config"]["source"] == "env"
    monkeypatch.setenv("INTERLEAVE_SDK_MODE", "A")
    recommend("u")
    assert sink.last["served"] == "A" and rank_b.calls == 1


# -- failing open -----------------------------------------------------------------------------------

GARBAGE = {
    "raises": RuntimeError("model server down"),
    "none": None,
    "list": ["a", "b"],
    "empty": pd.DataFrame({"item_id": [], "score": []}),
    "no item column": pd.DataFrame({"id": ["a"], "score": [1.0]}),
    "duplicates": frame(["a", "a", "b"]),
    "nan ids": pd.DataFrame({"item_id": ["a", None, "b"], "score": [3.0, 2.0, 1.0]}),
    "unhashable ids": pd.DataFrame({"item_id": [["a"], ["b"]], "score": [1.0, 2.0]}),
}
EXPECTED_MESSAGE = {
    "raises": "model server down",
    "none": "returned NoneType, expected a pandas DataFrame",
    "list": "returned list, expected a pandas DataFrame",
    "empty": "returned an empty DataFrame",
    "no item column": "has no column 'item_id'",
    "duplicates": "duplicate item ids",
    "nan ids": "is a null id",
    "unhashable ids": "an id of type list",
}


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_bad_arm_b_serves_the_baseline(
    make_recommender: Make, sink: CapturingSink, case: str, parallel: bool
) -> None:
    """B raising or returning garbage: the caller gets exactly A's frame, the log says why."""
    recommend, rank_a, _ = make_recommender(b=GARBAGE[case], parallel_enabled=parallel)
    result = recommend("u1")
    pd.testing.assert_frame_equal(result, frame(["a", "b", "c", "d"], "A"))
    assert rank_a.calls == 1
    record = sink.last
    assert record["served"] == "A"
    assert record["fallback_reason"] == ("arm_error" if case == "raises" else "invalid_output")
    assert EXPECTED_MESSAGE[case] in record["error"]
    assert record["arms"]["B"]["status"] == ("error" if case == "raises" else "invalid")


@pytest.mark.parametrize("case", ["raises", "list", "nan ids"])
def test_bad_b_in_mode_b_serves_the_baseline(make_recommender: Make, sink: CapturingSink, case: str) -> None:
    """mode=B with a broken B falls back to the undecorated function's answer."""
    recommend, rank_a, rank_b = make_recommender(b=GARBAGE[case], mode="B")
    pd.testing.assert_frame_equal(recommend("u1"), frame(["a", "b", "c", "d"], "A"))
    assert (rank_a.calls, rank_b.calls) == (1, 1)
    assert sink.last["fallback_reason"] in ("arm_error", "invalid_output")
    assert sink.last["mode"] == "B" and sink.last["served"] == "A"


@pytest.mark.parametrize("case", ["none", "list", "empty", "duplicates"])
def test_unusable_baseline_is_returned_unchanged(
    make_recommender: Make, sink: CapturingSink, case: str
) -> None:
    """Whatever the undecorated function returns is what the caller gets."""
    recommend, _, _ = make_recommender(a=GARBAGE[case])
    result = recommend("u1")
    if isinstance(GARBAGE[case], pd.DataFrame):
        pd.testing.assert_frame_equal(result, GARBAGE[case])
    else:
        assert result == GARBAGE[case]
    assert sink.last["fallback_reason"] == "baseline_invalid"


def test_baseline_exception_propagates_unchanged(make_recommender: Make, sink: CapturingSink) -> None:
    """The handler's own exception reaches the caller as the same object, and is logged."""
    error = KeyError("user not found")
    recommend, _, _ = make_recommender(a=error)
    with pytest.raises(KeyError) as caught:
        recommend("u1")
    assert caught.value is error
    assert sink.last["fallback_reason"] == "baseline_error"


def test_config_failure_serves_the_baseline(sink: CapturingSink, caplog: pytest.LogCaptureFixture) -> None:
    """A config provider that raises: mode A for this request, reason logged."""

    class BrokenConfig:
        def get(self) -> ConfigSnapshot:
            raise ConfigUnavailable("SSM unreachable")

    rank_b = CountingRanker(frame(["b"]))

    @interleaved(rankers={"B": rank_b}, config=BrokenConfig(), sink=sink)
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    with caplog.at_level(logging.WARNING, logger="interleave_sdk"):
        assert recommend("u").item_id.tolist() == ["a"]
    assert rank_b.calls == 0
    assert sink.last["fallback_reason"] == "config_error" and "SSM unreachable" in sink.last["error"]
    assert sink.last["config"]["source"] == "error" and sink.last["mode"] == "A"
    assert "SSM unreachable" in caplog.text


def test_unhashable_user_id_is_a_bucketing_error(make_recommender: Make, sink: CapturingSink) -> None:
    """A user id whose text cannot be made serves the baseline with bucketing_error."""

    class Weird:
        def __str__(self) -> str:
            raise ValueError("no text")

    recommend, rank_a, rank_b = make_recommender()
    recommend(Weird())
    assert (rank_a.calls, rank_b.calls) == (1, 0)
    assert sink.last["fallback_reason"] == "bucketing_error"


@pytest.fixture
def exploding_method() -> Iterator[str]:
    """A registered method that always fails, removed again after the test."""

    def exploding(rankings: Any, k: int, rng: random.Random) -> Interleaving:
        raise ZeroDivisionError("merge bug")

    register("exploding_v1")(exploding)
    yield "exploding_v1"
    unregister("exploding_v1")


def test_merge_failure_serves_the_baseline(
    make_recommender: Make, sink: CapturingSink, exploding_method: str
) -> None:
    """An interleaving method that fails costs nothing but the experiment for that request."""
    recommend, rank_a, _ = make_recommender(interleave_method=exploding_method)
    pd.testing.assert_frame_equal(recommend("u1"), frame(["a", "b", "c", "d"], "A"))
    assert rank_a.calls == 1
    assert sink.last["fallback_reason"] == "merge_error" and "merge bug" in sink.last["error"]
    assert sink.last["items"][0]["source_ranker"] == "A"


def test_sink_failure_still_returns_the_result(caplog: pytest.LogCaptureFixture) -> None:
    """A failing log sink is reported through logging; the caller still gets its list."""

    def broken_sink(record: dict[str, Any]) -> None:
        raise OSError("stdout closed")

    @interleaved(
        rankers={"B": lambda user_id: frame(["b"])},
        config=StaticConfig(mode="INTERLEAVE"),
        sink=broken_sink,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    with caplog.at_level(logging.WARNING, logger="interleave_sdk"):
        assert len(recommend("u")) == 1  # k defaults to the baseline length
    assert "stdout closed" in caplog.text


def test_default_sink_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a sink, each call prints exactly one JSON line on stdout."""
    import orjson

    @interleaved(rankers={"B": lambda user_id: frame(["b"])}, config=StaticConfig(mode="INTERLEAVE"))
    def recommend(user_id: str) -> pd.DataFrame:
        return frame(["a"])

    recommend("u1")
    recommend("u2")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert [orjson.loads(line)["user_id"] for line in lines] == ["u1", "u2"]


def test_integer_item_ids_and_extra_columns_are_merged(sink: CapturingSink) -> None:
    """Integer ids stay integers; columns only one arm has are kept (missing for the other)."""
    a = pd.DataFrame({"item_id": [1, 2, 3], "score": [3.0, 2.0, 1.0], "genre": ["x", "y", "z"]})
    b = pd.DataFrame({"item_id": [3, 4], "score": [9.0, 8.0], "maker": ["m", "n"]})

    @interleaved(rankers={"B": lambda user_id: b}, config=StaticConfig(mode="INTERLEAVE"), sink=sink, k=5)
    def recommend(user_id: str) -> pd.DataFrame:
        return a

    result = recommend("u")
    assert list(result.columns) == ["item_id", "score", "genre", "maker", "source_ranker"]
    assert sorted(result["item_id"].tolist()) == [1, 2, 3, 4]
    assert result["item_id"].dtype.kind == "i"
    assert all(isinstance(i["item_id"], int) for i in sink.last["items"])
    from_a = result[result.source_ranker == "A"]
    assert from_a["maker"].isna().all() and from_a["genre"].notna().all()


def test_baseline_exception_after_a_failed_b_is_reported_as_baseline_error(
    make_recommender: Make, sink: CapturingSink
) -> None:
    """mode=B, B fails, then the baseline raises: the line says baseline_error and keeps B's story."""
    recommend, _, _ = make_recommender(a=KeyError("db down"), b=RuntimeError("B down"), mode="B")
    with pytest.raises(KeyError):
        recommend("u1")
    assert sink.last["fallback_reason"] == "baseline_error"
    assert "db down" in sink.last["error"] and "after arm_error" in sink.last["error"]


def test_item_col_naming_the_credit_column_is_refused() -> None:
    """item_col='source_ranker' would overwrite the served ids with arm names: refused at decoration."""
    with pytest.raises(ValueError, match="item_col='source_ranker'"):
        interleaved(rankers={"B": lambda user_id: None}, config=StaticConfig(), item_col="source_ranker")

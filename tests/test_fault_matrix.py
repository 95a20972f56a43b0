"""The fault matrix of the request-engine issue: each reproduced defect, in parallel, sequential and
mode B, asserting what the caller gets (by identity), how often the handler ran, and that exactly
one line was written, valid against the shipped schema, with the expected reason.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import jsonschema
import numpy as np
import orjson
import pandas as pd
import pytest

from interleave_sdk import (
    ArmExecutor,
    ConfigSnapshot,
    JsonLineSink,
    Settings,
    StaticConfig,
    interleaved,
    log_schema,
    replay,
)
from interleave_sdk.ids import canonical_ids

from .conftest import concurrently, in_forked_child

VARIANTS = ["parallel", "sequential", "mode B"]
variants = pytest.mark.parametrize("variant", VARIANTS)


@pytest.fixture(scope="module")
def validator() -> Any:
    return jsonschema.Draft202012Validator(log_schema())


@pytest.fixture
def pool() -> Iterator[ArmExecutor]:
    executor = ArmExecutor(max_workers=4, thread_name_prefix="matrix")
    yield executor
    executor.shutdown()


def frame(ids: list[Any], tag: str = "a") -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids, "score": np.linspace(1.0, 0.1, len(ids)), "meta": [tag] * len(ids)})


def config_for(variant: str, **extra: Any) -> StaticConfig:
    mode = "B" if variant == "mode B" else "INTERLEAVE"
    return StaticConfig(mode=mode, sampling_rate=1.0, parallel_enabled=variant != "sequential", **extra)


@dataclass
class Rig:
    """A decorated handler whose calls are counted, writing real JSON lines to a buffer."""

    handler_result: Any
    b: Callable[..., Any]
    pool: ArmExecutor
    config: Any
    clock: Any = None
    calls: int = 0
    stream: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        rig = self

        @interleaved(
            rankers={"B": self.b},
            config=self.config,
            executor=self.pool,
            sink=JsonLineSink(self.stream),
            clock=self.clock,
            metrics=False,
        )
        def recommend(user_id: Any) -> Any:
            rig.calls += 1
            if isinstance(rig.handler_result, BaseException):
                raise rig.handler_result
            return rig.handler_result

        self.recommend = recommend

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.stream.getvalue().splitlines()]


def one_valid_line(rig: Rig, validator: Any) -> dict[str, Any]:
    lines = rig.lines()
    assert len(lines) == 1
    validator.validate(lines[0])
    return lines[0]


# -- 1: the handler can run twice ------------------------------------------------------------------


class FailingClock:
    """A clock whose monotonic() starts raising after ``good`` readings."""

    def __init__(self, good: int) -> None:
        self.good = good

    def monotonic(self) -> float:
        self.good -= 1
        if self.good < 0:
            raise OSError("clock source gone")
        return 1000.0

    def now(self) -> datetime:
        return datetime(2026, 11, 29, tzinfo=timezone.utc)


@variants
def test_1_a_clock_failing_after_the_handler_raised_does_not_run_it_again(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """The handler's exception reaches the caller as is, the handler ran once, one line: baseline_error."""
    boom = KeyError("user 7 not found")
    b = (
        (lambda user_id: (_ for _ in ()).throw(RuntimeError("B down")))
        if variant == "mode B"
        else (lambda user_id: frame(["b1"]))
    )
    rig = Rig(boom, b, pool, config_for(variant), clock=FailingClock(good=2))
    with pytest.raises(KeyError) as info:
        rig.recommend("u1")
    assert info.value is boom and rig.calls == 1
    assert one_valid_line(rig, validator)["fallback_reason"] == "baseline_error"


@variants
def test_1_a_snapshot_with_a_missing_age_serves_the_handler_once(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """A provider's snapshot with age_s=None: config_error, the handler's very object, once."""
    served = frame(["a1", "a2"])
    settings = config_for(variant).settings

    class NoAge:
        def get(self) -> ConfigSnapshot:
            return ConfigSnapshot(settings, "override", None, None)  # type: ignore[arg-type]

    rig = Rig(served, lambda user_id: frame(["b1"]), pool, NoAge())
    assert rig.recommend("u1") is served and rig.calls == 1
    assert one_valid_line(rig, validator)["fallback_reason"] == "config_error"


# -- 2: served, logged and replayed disagree ---------------------------------------------------------


@variants
def test_2_ids_equal_in_python_but_typed_differently_are_served_logged_and_replayed_alike(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """A's ids int64, B's float64: served == logged == replayed (canonical ids)."""
    a = frame(np.arange(10, dtype=np.int64))
    b = frame(np.array([3, 11, 1, 12, 5, 13, 14, 0, 15, 16], dtype=np.float64), "b")
    rig = Rig(a, lambda user_id: b, pool, config_for(variant))
    result = rig.recommend("u1")
    record = one_valid_line(rig, validator)
    assert rig.calls == (0 if variant == "mode B" else 1)
    served = canonical_ids("served", result["item_id"].tolist())
    assert served == [i["item_id"] for i in record["items"]]
    if variant == "mode B":
        assert result is b and record["served"] == "B"
    else:
        assert record["served"] == "interleaved" and record["fallback_reason"] is None
        assert list(replay(record).items) == served
        assert len(set(served)) == len(served)


# -- 3: the caller's own object is written on ----------------------------------------------------------


@variants
def test_3_a_cached_frame_is_returned_as_is_and_never_written_on(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """The handler's (or B's) cached frame comes back by identity with its attrs untouched."""
    cached = frame(["a1", "a2"])
    cached_b = frame(["b1", "b2"], "b")
    b: Callable[..., Any] = (lambda user_id: cached_b) if variant == "mode B" else (lambda user_id: None)
    rig = Rig(cached, b, pool, config_for(variant))
    expected = cached_b if variant == "mode B" else cached
    assert rig.recommend("u1") is expected
    assert cached.attrs == {} and cached_b.attrs == {}
    record = one_valid_line(rig, validator)
    assert record["fallback_reason"] == (None if variant == "mode B" else "invalid_output")
    assert rig.calls == (0 if variant == "mode B" else 1)


# -- 4: BaseException from the other arm ------------------------------------------------------------


@variants
@pytest.mark.parametrize("exc_type", [SystemExit, GeneratorExit])
def test_4_a_base_exception_from_b_is_contained_in_every_mode(
    variant: str, exc_type: type[BaseException], pool: ArmExecutor, validator: Any
) -> None:
    """SystemExit (or another BaseException) from B: the handler's object, one line, arm_error."""
    served = frame(["a1", "a2"])

    def b(user_id: str) -> pd.DataFrame:
        raise exc_type("B bailed out")

    rig = Rig(served, b, pool, config_for(variant))
    assert rig.recommend("u1") is served and rig.calls == 1
    record = one_valid_line(rig, validator)
    assert record["fallback_reason"] == "arm_error" and exc_type.__name__ in record["error"]


# -- 5: a provider's snapshot trusted blindly -------------------------------------------------------


def forged(settings: Settings, **changes: Any) -> Settings:
    """A Settings object with invalid values written past its validation (as a buggy provider might)."""
    copy = Settings(**settings.as_dict())
    for key, value in changes.items():
        object.__setattr__(copy, key, value)
    return copy


BAD_SNAPSHOTS: dict[str, Callable[[Settings], object]] = {
    "a dict": lambda s: {"mode": "INTERLEAVE", "sampling_rate": 1.0},
    "duck-typed": lambda s: type(
        "Snap", (), {"settings": s, "source": "ssm", "version": None, "age_s": 0.0}
    )(),
    "rate 2": lambda s: ConfigSnapshot(forged(s, sampling_rate=2.0), "ssm"),
    "rate nan": lambda s: ConfigSnapshot(forged(s, sampling_rate=float("nan")), "ssm"),
    "timeout 0": lambda s: ConfigSnapshot(forged(s, timeout_ms=0), "ssm"),
    "timeout -5": lambda s: ConfigSnapshot(forged(s, timeout_ms=-5), "ssm"),
    "mode 42": lambda s: ConfigSnapshot(forged(s, mode=42), "ssm"),
}


@variants
@pytest.mark.parametrize("bad", sorted(BAD_SNAPSHOTS))
def test_5_a_provider_returning_invalid_settings_is_a_config_error(
    variant: str, bad: str, pool: ArmExecutor, validator: Any
) -> None:
    """Whatever a provider returns is re-validated: anything invalid serves the handler, config_error."""
    served = frame(["a1", "a2"])
    snapshot = BAD_SNAPSHOTS[bad](config_for(variant).settings)
    b_calls: list[str] = []

    class Provider:
        def get(self) -> Any:
            return snapshot

    rig = Rig(served, lambda user_id: b_calls.append(user_id), pool, Provider())
    assert rig.recommend("u1") is served and rig.calls == 1 and b_calls == []
    record = one_valid_line(rig, validator)
    assert record["fallback_reason"] == "config_error" and record["config"]["source"] == "error"


# -- 6: a log line can be lost ----------------------------------------------------------------------


@variants
@pytest.mark.parametrize("user", ["\ud800", 2**64 + 5], ids=["lone surrogate", "huge int"])
def test_6_an_unencodable_user_id_still_writes_one_valid_line(
    variant: str, user: Any, pool: ArmExecutor, validator: Any
) -> None:
    """A user id the JSON encoder chokes on: the caller is served and one valid line is written."""
    served = frame(["a1", "a2"])
    b_frame = frame(["b1", "b2"], "b")
    rig = Rig(served, lambda user_id: b_frame, pool, config_for(variant))
    result = rig.recommend(user)
    record = one_valid_line(rig, validator)
    if isinstance(user, str):  # the line went out sanitised, saying why
        assert "surrogate" in record["encode_error"] or "UTF-8" in record["encode_error"]
    if variant == "mode B":
        assert result is b_frame and rig.calls == 0
    else:
        assert rig.calls == 1
        assert record["served"] in ("interleaved", "A")
        if record["served"] == "A":
            assert result is served and record["fallback_reason"] == "bucketing_error"


# -- 7: async handlers and generators ------------------------------------------------------------------


@variants
def test_7_async_handlers_interleave_with_b_awaited(variant: str, pool: ArmExecutor, validator: Any) -> None:
    """An async handler with an async B: B is awaited, the request served as configured, one line."""
    stream = io.StringIO()
    calls: list[str] = []
    b_frame = frame(["b1", "b2"], "b")

    async def rank_b(user_id: str) -> pd.DataFrame:
        return b_frame

    @interleaved(
        rankers={"B": rank_b},
        config=config_for(variant),
        executor=pool,
        sink=JsonLineSink(stream),
        metrics=False,
    )
    async def recommend(user_id: str) -> pd.DataFrame:
        calls.append(user_id)
        return frame(["a1", "a2"])

    result = asyncio.run(recommend("u1"))
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 1
    validator.validate(lines[0])
    if variant == "mode B":
        assert result is b_frame and calls == [] and lines[0]["served"] == "B"
    else:
        assert calls == ["u1"] and lines[0]["served"] == "interleaved"
        assert set(result["source_ranker"]) == {"A", "B"}
    assert lines[0]["fallback_reason"] is None


@variants
def test_7_generator_handlers_are_refused_at_decoration(variant: str, pool: ArmExecutor) -> None:
    """A generator (sync or async) cannot be the served list: decoration fails naming rankers=."""
    decorate = interleaved(rankers={"B": lambda user_id: None}, config=config_for(variant), executor=pool)

    def generator_handler(user_id: str) -> Iterator[str]:
        yield "a"

    async def async_generator_handler(user_id: str) -> AsyncIterator[str]:
        yield "a"

    with pytest.raises(TypeError, match="generator function"):
        decorate(generator_handler)
    with pytest.raises(TypeError, match="generator function"):
        decorate(async_generator_handler)


def healthy_rig(variant: str, pool: ArmExecutor, *, items: int, timeout_ms: float) -> Rig:
    """Both arms answer at once with ``items`` distinct items each (a0.. and b0..)."""
    return Rig(
        frame([f"a{i}" for i in range(items)]),
        lambda user_id: frame([f"b{i}" for i in range(items)], "b"),
        pool,
        config_for(variant, timeout_ms=timeout_ms),
    )


# -- 8: concurrent callers lose interleaving --------------------------------------------------------


@variants
def test_8_concurrent_callers_with_healthy_arms_are_all_served_as_configured(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """8 threads x 25 calls, rate 1, healthy arms: every request interleaved (or B in mode B)."""
    rig = healthy_rig(variant, pool, items=10, timeout_ms=5000)

    def worker(n: int) -> None:
        for i in range(25):
            rig.recommend(f"t{n}-{i}")

    concurrently(worker, 8)
    lines = rig.lines()
    assert len(lines) == 200
    for line in lines[:5]:
        validator.validate(line)
    expected = "B" if variant == "mode B" else "interleaved"
    assert [line["served"] for line in lines].count(expected) == 200
    assert rig.calls == (0 if variant == "mode B" else 200)


# -- 9: after fork() -------------------------------------------------------------------------------


@variants
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_9_a_forked_childs_first_request_is_served_as_configured(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """The parent's pool is started, then the process forks: the child's first request is not lost."""
    rig = healthy_rig(variant, pool, items=5, timeout_ms=2000)
    rig.recommend("parent")  # starts the pool in the parent

    def child() -> bytes:  # one request; what was served goes back to the parent
        rig.calls = 0
        before = len(rig.stream.getvalue().splitlines())
        rig.recommend("child")
        lines = rig.stream.getvalue().splitlines()
        return orjson.dumps({"lines": lines[before:], "calls": rig.calls})

    report = orjson.loads(in_forked_child(child))
    assert len(report["lines"]) == 1
    line = orjson.loads(report["lines"][0])
    validator.validate(line)
    assert line["served"] == ("B" if variant == "mode B" else "interleaved")
    assert report["calls"] == (0 if variant == "mode B" else 1)


# -- 10: options wrong at decoration -----------------------------------------------------------------

WRONG_OPTIONS: dict[str, dict[str, Any]] = {
    "k=True": {"k": True},
    "experiment=7": {"experiment": 7},
    "id_factory returning an int": {"id_factory": lambda: random.randrange(10)},
}


@variants
@pytest.mark.parametrize("option", sorted(WRONG_OPTIONS))
def test_10_wrong_options_fail_at_decoration_not_per_request(
    variant: str, option: str, pool: ArmExecutor
) -> None:
    """k=True, a non-str experiment, an id_factory giving ints: refused when decorating."""
    with pytest.raises((TypeError, ValueError)):
        interleaved(
            rankers={"B": lambda user_id: None},
            config=config_for(variant),
            executor=pool,
            **WRONG_OPTIONS[option],
        )


@variants
def test_10_a_method_name_ranker_on_a_staticmethod_fails_at_decoration(variant: str) -> None:
    """A method name needs an instance; on a staticmethod it is refused when the class is built."""
    with pytest.raises(TypeError, match="not a method"):

        class Service:
            @staticmethod
            @interleaved(rankers={"B": "rank_b"}, config=config_for(variant))
            def recommend(user_id: str) -> pd.DataFrame:
                return frame(["a"])


# -- the record itself cannot be built --------------------------------------------------------------


class Unmeasurable(pd.DataFrame):
    """A frame whose length cannot be taken: describing it for the log fails."""

    def __len__(self) -> int:
        raise RuntimeError("length unavailable")


@variants
def test_a_record_that_cannot_be_built_still_writes_one_minimal_valid_line(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """Describing the served object fails: the caller still gets it, once, and a valid line says why."""
    served = Unmeasurable({"item_id": ["a1", "a2"], "score": [2.0, 1.0]})
    rig = Rig(
        served, lambda user_id: (_ for _ in ()).throw(RuntimeError("B down")), pool, config_for(variant)
    )
    assert rig.recommend("u1") is served and rig.calls == 1
    record = one_valid_line(rig, validator)
    assert record["served"] == "A" and record["fallback_reason"] in ("arm_error", "internal_error")
    assert "record could not be built" in record["error"]


class ColumnsUnreadable(pd.DataFrame):
    """A frame whose columns cannot be listed: reading its ids fails inside the SDK."""

    @property
    def columns(self) -> Any:  # type: ignore[override]
        raise RuntimeError("columns unavailable")


@variants
def test_1_an_sdk_fault_after_the_handler_ran_serves_its_result_without_running_it_again(
    variant: str, pool: ArmExecutor, validator: Any
) -> None:
    """Reading the handler's ids raises inside the SDK: its very object is served, it ran once."""
    served = ColumnsUnreadable({"item_id": ["a1", "a2"]})
    b = (lambda user_id: (_ for _ in ()).throw(RuntimeError("B down"))) if variant == "mode B" else None
    rig = Rig(served, b or (lambda user_id: frame(["b1"])), pool, config_for(variant))
    assert rig.recommend("u1") is served and rig.calls == 1
    record = one_valid_line(rig, validator)
    assert record["fallback_reason"] == ("arm_error" if variant == "mode B" else "internal_error")


@variants
@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_the_handlers_base_exception_passes_through_with_its_line(
    variant: str, exc_type: type[BaseException], pool: ArmExecutor, validator: Any
) -> None:
    """The handler's own BaseException is the caller's, unchanged; its line is still written."""
    boom = exc_type("handler stops")
    b = (lambda user_id: (_ for _ in ()).throw(RuntimeError("B down"))) if variant == "mode B" else None
    rig = Rig(boom, b or (lambda user_id: frame(["b1"])), pool, config_for(variant))
    with pytest.raises(exc_type) as info:
        rig.recommend("u1")
    assert info.value is boom and rig.calls == 1
    record = one_valid_line(rig, validator)
    assert record["fallback_reason"] == "baseline_error" and exc_type.__name__ in record["error"]

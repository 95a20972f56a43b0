"""The built-in record processors: Lambda correlation, salted user-id hashing, dropping non-exposures."""

from __future__ import annotations

import hashlib
import hmac
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import StaticConfig, interleaved
from interleave_sdk.observability.processors import (
    LambdaContextBinder,
    current_invocation,
    drop_unexposed,
    hash_user_id,
    hash_user_ids,
    lambda_correlation,
    xray_trace_id,
)
from interleave_sdk.testing import CapturingSink

SALT = "0123456789abcdef-test-salt"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def context(request_id: str = "req-1", name: str = "reco") -> SimpleNamespace:
    return SimpleNamespace(aws_request_id=request_id, function_name=name)


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ranking_id": "r1",
        "user_id": "u1",
        "served": "A",
        "in_sample": None,
        "fallback_reason": None,
        "pinned": None,
    }
    return {**base, **fields}


# -- lambda_correlation ------------------------------------------------------------------------


def test_correlation_adds_the_bound_invocation_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a bound handler the request id, function name, cold start and trace id are added."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    binder = LambdaContextBinder()
    with binder.invocation(context()):
        out = lambda_correlation(record())
    assert out["function_request_id"] == "req-1"
    assert out["function_name"] == "reco"
    assert out["cold_start"] is True
    assert out["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def test_only_the_first_invocation_of_a_binder_is_the_cold_start() -> None:
    """The second and later invocations report cold_start false."""
    binder = LambdaContextBinder()

    @binder
    def handler(event: Any, ctx: Any) -> Any:
        return lambda_correlation(record())

    first = handler({}, context("req-1"))
    second = handler({}, context("req-2"))
    assert (first["cold_start"], second["cold_start"]) == (True, False)
    assert second["function_request_id"] == "req-2"


def test_binding_ends_with_the_invocation() -> None:
    """After the handler returns no invocation is bound, so nothing leaks into later lines."""
    binder = LambdaContextBinder()
    binder(lambda event, ctx: None)({}, context())
    assert current_invocation() is None
    assert "function_request_id" not in lambda_correlation(record())


def test_outside_lambda_no_field_is_invented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a bound context or trace header, the record is unchanged (no nulls added)."""
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    assert lambda_correlation(record()) == record()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (TRACE, "1-5759e988-bd862e3fe1be46a994272793"),
        ("Parent=1;Root=1-abc", "1-abc"),
        ("Sampled=0", None),
        ("", None),
    ],
)
def test_trace_id_is_the_root_of_the_header(header: str, expected: str | None) -> None:
    """The X-Ray id is the Root= part of the header, wherever it stands."""
    assert xray_trace_id({"_X_AMZN_TRACE_ID": header}) == expected


# -- hash_user_ids -----------------------------------------------------------------------------


def test_user_ids_are_replaced_by_their_keyed_hash() -> None:
    """user_id becomes HMAC-SHA256(salt, id) in hex; the raw id is gone."""
    out = hash_user_ids(SALT)(record(user_id="u42"))
    expected = hmac.new(SALT.encode(), b"u42", hashlib.sha256).hexdigest()
    assert out["user_id"] == expected == hash_user_id("u42", SALT)
    assert "u42" not in str(out)


def test_anonymous_requests_stay_anonymous() -> None:
    """A null user id is left null (the analysis treats it as anonymous)."""
    assert hash_user_ids(SALT)(record(user_id=None))["user_id"] is None


def test_different_salts_give_unrelated_ids() -> None:
    """The same id under two salts hashes differently (a salt per team or per environment)."""
    assert hash_user_id("u1", SALT) != hash_user_id("u1", SALT + "x")


@pytest.mark.parametrize(("salt", "error"), [("short", ValueError), (b"", ValueError), (42, TypeError)])
def test_a_weak_or_wrong_salt_is_refused_at_construction(salt: Any, error: type[Exception]) -> None:
    """A salt that is not a 16-byte secret fails when the processor is built, naming the fix."""
    with pytest.raises(error, match="salt"):
        hash_user_ids(salt)


# -- drop_unexposed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"served": "interleaved", "in_sample": True},
        {"served": "A", "in_sample": True, "fallback_reason": "timeout"},
        {"served": "A", "fallback_reason": "config_error"},
        {"served": "A", "pinned": "Z", "fallback_reason": "invalid_pin"},
    ],
)
def test_exposures_and_failures_are_kept(fields: dict[str, Any]) -> None:
    """Interleaved, in-sample and failed requests keep their line."""
    assert drop_unexposed(record(**fields)) is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"served": "A", "in_sample": False},
        {"served": "A"},
        {"served": "B"},
        {"served": "B", "pinned": "B"},
    ],
)
def test_requests_outside_the_experiment_are_dropped(fields: dict[str, Any]) -> None:
    """Out of sample, kill switch, one-arm modes and pinned routes write no line."""
    assert drop_unexposed(record(**fields)) is None


# -- through the decorator ---------------------------------------------------------------------


def _recommend(sink: CapturingSink, processors: list[Any], **settings: Any) -> Any:
    def rank_b(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": ["c", "d", "a"]})

    @interleaved(
        rankers={"B": rank_b},
        config=StaticConfig(**{"mode": "INTERLEAVE", **settings}),
        sink=sink,
        metrics=False,
        processors=processors,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return pd.DataFrame({"item_id": ["a", "b", "c"]})

    return recommend


def test_processors_run_on_decorated_calls_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Correlation and hashing applied by @interleaved(processors=...) reach the sink."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    sink = CapturingSink()
    recommend = _recommend(sink, [lambda_correlation, hash_user_ids(SALT)], sampling_rate=1.0)
    binder = LambdaContextBinder()
    with binder.invocation(context("req-9")):
        recommend("u7")
    line = sink.last
    assert line["served"] == "interleaved"
    assert line["user_id"] == hash_user_id("u7", SALT)
    assert line["function_request_id"] == "req-9"
    assert line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def test_drop_unexposed_through_the_decorator_keeps_only_exposures() -> None:
    """Out-of-sample calls write nothing; in-sample calls write their line."""
    sink = CapturingSink()
    out_of_sample = _recommend(sink, [drop_unexposed], sampling_rate=0.0)
    in_sample = _recommend(sink, [drop_unexposed], sampling_rate=1.0)
    served = out_of_sample("u1")
    assert list(served["item_id"]) == ["a", "b", "c"]  # the caller is served all the same
    assert sink.records == []
    in_sample("u1")
    assert [r["served"] for r in sink.records] == ["interleaved"]


def test_hashing_fails_closed_on_an_id_it_cannot_encode() -> None:
    """A user id with a lone surrogate cannot be hashed: it is logged as null, never raw."""
    process = hash_user_ids("k" * 32)
    record = process({"user_id": "user-\ud800"})
    assert record is not None and record["user_id"] is None
    assert "hash_user_ids" in record["processor_errors"][0]

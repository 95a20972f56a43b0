"""The Lambda sample's handler: routes pin arms, the switches steer the unified route, SSM failures
serve the baseline; every case with a REST (v1) and an HTTP API (v2) event, switches in local SSM.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from cfnlint.decode import decode

from interleave_sdk import log_schema
from interleave_sdk.config import ssm

from ..conftest import ROOT
from .conftest import Invoker, http_event

Event = Callable[..., dict[str, Any]]
#: Interleave everybody. The deadline is generous because it also covers the cold container's first
#: SSM read, which on a loaded test machine can take a good part of the default 300 ms.
#: The function's timeout as deployed (samples/lambda/template.yaml).
FUNCTION_TIMEOUT_S = float(
    decode(str(ROOT / "samples" / "lambda" / "template.yaml"))[0]["Resources"]["RecommendFunction"][
        "Properties"
    ]["Timeout"]
)
ON = {"mode": "INTERLEAVE", "sampling_rate": "1.0", "timeout_ms": "5000"}


def sources(response: dict[str, Any]) -> set[str]:
    return {item["source_ranker"] for item in response["body"]["items"]}


def ids(response: dict[str, Any]) -> list[str]:
    return [item["item_id"] for item in response["body"]["items"]]


def test_pinned_b_route_is_served_b_alone_even_when_interleaving_everybody(
    invoke: Invoker, switches: Callable[..., None], make_event: Event
) -> None:
    """GET /b/recommend with mode=INTERLEAVE, sampling 1.0: ranker B's list, logged as pinned B."""
    switches(**ON)
    response, line = invoke(make_event("/b/recommend", "u1"))
    assert response["statusCode"] == 200
    assert ids(response) == invoke.app.rank_b("u1")["item_id"].tolist()
    assert sources(response) == {"B"}
    assert (line["served"], line["pinned"], line["mode"]) == ("B", "B", "INTERLEAVE")
    assert line["in_sample"] is not True  # never an interleaving exposure
    assert set(line["arms"]) == {"B"}  # ranker A did not run


def test_pinned_a_route_is_served_a_alone(
    invoke: Invoker, switches: Callable[..., None], make_event: Event
) -> None:
    """GET /a/recommend with interleaving on for everybody: ranker A's list, logged as pinned A."""
    switches(**ON)
    response, line = invoke(make_event("/a/recommend", "u1"))
    assert ids(response) == invoke.app.rank_a("u1")["item_id"].tolist()
    assert (line["served"], line["pinned"]) == ("A", "A")


@pytest.mark.parametrize("path", ["/a/recommend", "/b/recommend", "/recommend"])
def test_kill_switch_overrides_every_pin(
    invoke: Invoker, switches: Callable[..., None], make_event: Event, path: str
) -> None:
    """mode=A: every route, the pinned B route included, is served by ranker A."""
    switches(mode="A", sampling_rate="1.0")
    response, line = invoke(make_event(path, "u1"))
    assert sources(response) == {"A"}
    assert line["served"] == "A" and line["mode"] == "A"
    assert line["pinned"] == invoke.app.ROUTES[path]  # the overridden pin stays visible


def test_unified_route_in_sample_is_interleaved(
    invoke: Invoker, switches: Callable[..., None], make_event: Event
) -> None:
    """GET /recommend, in sample: an interleaved list with items of both rankers."""
    switches(**ON)
    response, line = invoke(make_event("/recommend", "u1"))
    assert sources(response) == {"A", "B"}
    assert line["served"] == "interleaved" and line["pinned"] is None and line["in_sample"] is True
    logged = [(item["item_id"], item["source_ranker"]) for item in line["items"]]
    assert logged == [(i["item_id"], i["source_ranker"]) for i in response["body"]["items"]]


def test_unified_route_out_of_sample_is_served_the_baseline(
    invoke: Invoker, switches: Callable[..., None], make_event: Event
) -> None:
    """GET /recommend with sampling 0: ranker A's list, logged out of sample."""
    switches(mode="INTERLEAVE", sampling_rate="0")
    response, line = invoke(make_event("/recommend", "u1"))
    assert sources(response) == {"A"}
    assert (line["served"], line["in_sample"], line["fallback_reason"]) == ("A", False, None)


@pytest.mark.parametrize("path", ["/recommend", "/a/recommend", "/b/recommend"])
def test_the_response_carries_the_logged_ranking_id(
    invoke: Invoker, switches: Callable[..., None], make_event: Event, path: str
) -> None:
    """The body's ranking_id is the id of the request's log line (clicks join on it)."""
    switches(**ON)
    response, line = invoke(make_event(path, "u1"))
    assert response["body"]["ranking_id"] == line["ranking_id"]
    assert response["headers"]["Content-Type"] == "application/json"


def test_a_request_without_user_id_is_anonymous(
    invoke: Invoker, switches: Callable[..., None], make_event: Event
) -> None:
    """No user_id in the query string: served, logged with a null user id."""
    switches(**ON)
    response, line = invoke(make_event("/recommend"))
    assert response["statusCode"] == 200 and line["user_id"] is None


def test_log_lines_validate_and_carry_the_invocation(
    invoke: Invoker, switches: Callable[..., None], make_event: Event
) -> None:
    """Every line the sample writes matches the shipped schema and names its Lambda request."""
    switches(**ON)
    validator = jsonschema.Draft202012Validator(log_schema())
    for n, path in enumerate(["/recommend", "/a/recommend", "/b/recommend"], start=1):
        _, line = invoke(make_event(path, "u1"))
        validator.validate(line)
        assert line["function_request_id"] == f"req-{n}"
        assert line["cold_start"] is (n == 1)


@pytest.mark.parametrize(
    ("path", "method", "status"), [("/c/recommend", "GET", 404), ("/recommend", "POST", 405)]
)
def test_unknown_routes_and_methods_are_refused_without_a_line(
    invoke: Invoker, switches: Callable[..., None], make_event: Event, path: str, method: str, status: int
) -> None:
    """A route or method the API does not serve gets 404/405 and writes no ranking line."""
    switches(**ON)
    response, lines = invoke.call(make_event(path, "u1", method=method))
    assert response["statusCode"] == status and lines == []


def test_ssm_unreachable_serves_the_baseline_within_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hung_endpoint: str,
    make_event: Event,
    aws_env: None,
) -> None:
    """A hung SSM: ranker A's list, config_error logged, within the SDK's bounded client time."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", hung_endpoint)
    invoke = Invoker(capsys)
    assert invoke.app.handler  # the init phase: its prefetch fails (logged) and starts the backoff
    started = time.monotonic()
    response, line = invoke(make_event("/b/recommend", "u1"))
    elapsed = time.monotonic() - started
    assert sources(response) == {"A"}
    assert (line["served"], line["fallback_reason"]) == ("A", "config_error")
    assert line["config"]["source"] == "error"
    # The deadline that matters is the function's timeout in template.yaml: Lambda answers API
    # Gateway before it. The SDK's client gives up after two attempts of connect + read timeout
    # and one retry delay, well inside it.
    assert elapsed < ssm.MAX_ATTEMPTS * (ssm.CONNECT_TIMEOUT_S + ssm.READ_TIMEOUT_S) + 1.0 + 1.5
    assert elapsed < FUNCTION_TIMEOUT_S
    # The next request does not wait for SSM again: it is answered from the failure backoff.
    _, again = invoke(make_event("/recommend", "u2"))
    assert again["fallback_reason"] == "config_error"
    assert "SSM is called again in" in again["error"]


def test_an_http_api_catch_all_route_is_routed_by_its_path(
    invoke: Invoker, switches: Callable[..., None]
) -> None:
    """An HTTP API $default route: the handler pins by the request's raw path."""
    switches(**ON)
    event = http_event("/b/recommend", "u1")
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    response, line = invoke(event)
    assert sources(response) == {"B"} and line["pinned"] == "B"

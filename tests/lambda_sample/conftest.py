"""Fixtures for the Lambda sample: its handler loaded fresh, real-shaped API Gateway events, and the
switches in the local SSM endpoint (moto over HTTP, found through ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from ..conftest import ROOT
from ..local_aws import REGION, put

APP = ROOT / "samples" / "lambda" / "app.py"
_loads = itertools.count()


def load_module(path: Path) -> ModuleType:
    """A sample file as a new module (a new name each time, so module state starts afresh)."""
    spec = importlib.util.spec_from_file_location(f"sample_{path.stem}_{next(_loads)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_app() -> ModuleType:
    """samples/lambda/app.py as a new module: a cold start (its init phase prefetches the switches
    from wherever the environment points the default provider)."""
    return load_module(APP)


@pytest.fixture
def offline_app(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> ModuleType:
    """The app loaded with SSM pointed at a closed local port: its init's prefetch fails fast
    (logged) instead of reaching for a real AWS endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    return load_app()


def rest_event(path: str, user_id: str | None = None, method: str = "GET") -> dict[str, Any]:
    """A REST API (payload format 1.0) proxy event as API Gateway sends it, stage ``prod``."""
    query = None if user_id is None else {"user_id": user_id}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": None if query is None else {k: [v] for k, v in query.items()},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "curl/8.5.0"},
            "requestTimeEpoch": 1795993763000,
        },
        "body": None,
        "isBase64Encoded": False,
    }


def http_event(path: str, user_id: str | None = None, method: str = "GET") -> dict[str, Any]:
    """An HTTP API (payload format 2.0) proxy event, default stage; no query -> no key at all."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "" if user_id is None else f"user_id={user_id}",
        "headers": {"accept": "application/json", "host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "29/Nov/2026:23:09:23 +0000",
            "timeEpoch": 1795993763000,
        },
        "isBase64Encoded": False,
    }
    if user_id is not None:
        event["queryStringParameters"] = {"user_id": user_id}
    return event


EVENTS: dict[str, Callable[..., dict[str, Any]]] = {"v1": rest_event, "v2": http_event}


@pytest.fixture(params=sorted(EVENTS))
def make_event(request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """Each handler test runs once with a REST (v1) and once with an HTTP API (v2) event."""
    return EVENTS[str(request.param)]


def context(request_id: str = "4f7c0b8a-0000-4000-8000-000000000001") -> SimpleNamespace:
    """The attributes of a Lambda context the sample reads."""
    return SimpleNamespace(
        aws_request_id=request_id,
        function_name="reco-recommend",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:reco-recommend",
    )


class Invoker:
    """Calls the handler like the Lambda runtime and reads back the response and the log lines."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._app: ModuleType | None = None
        self._capsys = capsys
        self._calls = itertools.count(1)

    @property
    def app(self) -> ModuleType:
        """The module, loaded on first use (its init reads the switches the test has written)."""
        if self._app is None:
            self._app = load_app()
        return self._app

    def __call__(self, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(response with its body parsed, the one ranking line the call wrote)."""
        response, lines = self.call(event)
        assert len(lines) == 1, lines
        return response, lines[0]

    def call(self, event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self._capsys.readouterr()
        response = self.app.handler(event, context(f"req-{next(self._calls)}"))
        out = self._capsys.readouterr().out
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return {**response, "body": json.loads(response["body"])}, lines


@pytest.fixture
def switches(admin: Any, ssm_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Write the experiment switches to SSM and point the default provider at the local endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", ssm_url)
    monkeypatch.setenv("AWS_REGION", REGION)

    def write(**values: str) -> None:
        put(admin, values)

    return write


@pytest.fixture
def invoke(switches: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> Invoker:
    """A freshly loaded handler, reading its switches from the local SSM endpoint."""
    return Invoker(capsys)


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers (a hung SSM)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    host, port = server.getsockname()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.close()


def sample_path(*parts: str) -> Path:
    return ROOT.joinpath("samples", *parts)

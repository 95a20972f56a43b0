"""A local stand-in for Athena: moto's server over HTTP, with DuckDB answering the queries.

moto accepts Athena's API but runs nothing. :class:`DuckDBAthena` hooks a boto3 client so that
each statement, just before it is sent, runs as sent on DuckDB over the same logs, and DuckDB's
answer is queued in moto's results API: the engine under test then reads Athena-shaped results
over HTTP. Used by the Athena engine tests and the monitoring job's tests.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pandas as pd
import pytest
import sqlglot
from botocore.config import Config

from interleave_sdk.analysis import sql
from interleave_sdk.analysis.athena import AthenaEngine, FeedbackInPlace
from interleave_sdk.analysis.engine import _COMPAT_MACROS

from ..conftest import dummy_aws_credentials
from ..local_aws import REGION, moto_server

BUCKET = "analysis-bucket"
OUTPUT = f"s3://{BUCKET}/athena/"


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's threaded server on a free loopback port, with dummy credentials only."""
    with pytest.MonkeyPatch.context() as mp:
        dummy_aws_credentials(mp, str(tmp_path_factory.mktemp("aws") / "absent"))
        server = moto_server()
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


def post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


@pytest.fixture
def aws(moto_url: str) -> Iterator[dict[str, Any]]:
    """Fresh moto state, a bucket, and boto3 clients for Athena and S3 over HTTP."""
    post(f"{moto_url}/moto-api/reset", {})
    config = Config(retries={"max_attempts": 1})
    clients = {
        name: boto3.client(name, region_name=REGION, endpoint_url=moto_url, config=config)
        for name in ("athena", "s3")
    }
    clients["s3"].create_bucket(Bucket=BUCKET)
    clients["url"] = moto_url
    yield clients
    post(f"{moto_url}/moto-api/state-manager/unset-transition", {"model_name": "athena::execution"})


class FakeClock:
    """A monotonic clock that moves only when the engine sleeps; records each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """Captures every statement the client submits, and the id Athena gave it."""

    def __init__(self, client: Any) -> None:
        self.statements: list[str] = []
        self.ids: dict[str, str] = {}
        client.meta.events.register("provide-client-params.athena.StartQueryExecution", self._before)
        client.meta.events.register("after-call.athena.StartQueryExecution", self._after)

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self.statements.append(params["QueryString"])

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        self.ids[parsed["QueryExecutionId"]] = self.statements[-1]


def engine_for(aws: dict[str, Any], clock: FakeClock, **kw: Any) -> AthenaEngine:
    return AthenaEngine(
        database="db",
        table="log",
        output=OUTPUT,
        client=aws["athena"],
        s3=aws["s3"],
        sleep=clock.sleep,
        clock=clock.monotonic,
        **kw,
    )


FEEDBACK_PREFIX = "feedback-store/"


def in_place(aws: dict[str, Any], feedback: pd.DataFrame, fmt: str = "json") -> FeedbackInPlace:
    """The team's feedback as files in its own bucket (set-up, not the run), read in place."""
    frame = feedback.astype(object).where(feedback.notna(), None)
    if fmt == "csv":
        body = frame.to_csv(index=False).encode()
    else:
        body = b"".join(json.dumps(row, default=str).encode() + b"\n" for row in frame.to_dict("records"))
    aws["s3"].put_object(Bucket=BUCKET, Key=f"{FEEDBACK_PREFIX}part-0.{fmt}", Body=body)
    return FeedbackInPlace(location=f"s3://{BUCKET}/{FEEDBACK_PREFIX}", format=fmt)


def left_in_bucket(aws: dict[str, Any]) -> list[str]:
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET)
    return [obj["Key"] for obj in listed.get("Contents", [])]


# -- DuckDB standing in for Athena's query engine ---------------------------------------------


_UNLOAD = re.compile(r"^UNLOAD \((.*)\) TO '([^']+)' WITH \(format = 'PARQUET'\)$", re.DOTALL)
_CTAS = re.compile(r"^CREATE TABLE (\S+) WITH \((.*?)\) AS\n(.*)$", re.DOTALL)
_EXTERNAL = re.compile(r"^CREATE EXTERNAL TABLE (\S+) \((.*?)\).*LOCATION '([^']+)'", re.DOTALL)
_ATHENA_TYPES = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


def athena_text(value: Any) -> dict[str, str]:
    """One value as GetQueryResults returns it (NULL is a datum without a value)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    if isinstance(value, datetime):
        return {"VarCharValue": value.strftime("%Y-%m-%d %H:%M:%S.%f")}
    return {"VarCharValue": str(value)}


class DuckDBAthena:
    """Runs the statements the engine submits, as they are, on DuckDB over the same logs."""

    def __init__(self, aws: dict[str, Any], pattern: str, scratch: Path) -> None:
        self.aws = aws
        self.scratch = scratch
        self.con = duckdb.connect()
        for macro in _COMPAT_MACROS:
            self.con.execute(macro)
        # Trino's ISO 8601 parser, for feedback files read in place (ts with an offset or Z).
        self.con.execute("CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)")
        self.con.execute("CREATE SCHEMA db")
        item = (
            "STRUCT(item_id VARCHAR, position INTEGER, source_ranker VARCHAR,"
            " ranks MAP(VARCHAR, INTEGER))[]"
        )
        columns = (
            "{'event': 'VARCHAR', 'ranking_id': 'VARCHAR', 'experiment': 'VARCHAR',"
            " 'user_id': 'VARCHAR', 'ts': 'VARCHAR', 'served': 'VARCHAR', 'method': 'VARCHAR',"
            " 'k': 'VARCHAR', 'contest_depth': 'VARCHAR', 'schema_version': 'VARCHAR',"
            f" 'items': '{item}'}}"
        )
        # The Athena table (dt: the day the line was written, as Firehose would file it) ...
        self.con.execute(
            "CREATE TABLE db.log AS SELECT *, replace(substr(ts, 1, 10), '-', '/') AS dt"
            f" FROM read_ndjson('{pattern}', columns = {columns}, ignore_errors = true)"
        )
        # ... and its reader view, from athena_ddl() itself, translated by sqlglot.
        ddl = sql.athena_ddl(database="db", table="log", location="s3://x/", first_day="2026/01/01")
        self.con.execute(sqlglot.transpile(ddl[1], read="athena", write="duckdb")[0])
        self.hooked: Any = None

    def hook(self, target: Any) -> None:
        """Answer every query a client (or every client a boto3 session makes later) starts."""
        events = target.meta.events if hasattr(target, "meta") else target.events
        events.register("provide-client-params.athena.StartQueryExecution", self._answer)

    def _answer(self, params: dict[str, Any], **_: Any) -> None:
        rows, info = self.run(params["QueryString"])
        post(
            f"{self.aws['url']}/moto-api/static/athena/query-results",
            {"region": REGION, "results": [{"rows": rows, "column_info": info}]},
        )

    def run(self, statement: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        if match := _EXTERNAL.match(statement):
            name, _, location = match.groups()
            bucket, _, prefix = location[5:].partition("/")
            local = self.scratch / name
            local.mkdir()
            for key in [
                o["Key"] for o in self.aws["s3"].list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
            ]:
                (local / Path(key).name).write_bytes(
                    self.aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()
                )
            types = ", ".join(f"'{c}': 'VARCHAR'" for c in ("user_id", "item_id", "ts", "kind", "ranking_id"))
            if "OpenCSVSerde" in statement:
                reader = f"read_csv('{local}/*', header = true, columns = {{{types}}})"
            else:
                reader = f"read_ndjson('{local}/*', columns = {{{types}}})"
            self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {reader}")
            return [], []
        if match := _UNLOAD.match(statement):
            body, location = match.groups()
            bucket, _, prefix = location[5:].partition("/")
            local = self.scratch / f"unload-{len(list(self.scratch.iterdir()))}.parquet"
            self.con.execute(f"COPY ({body}) TO '{local}' (FORMAT PARQUET)")
            if self.con.execute(f"SELECT count(*) FROM '{local}'").fetchall()[0][0]:
                # Athena writes no file for an empty result.
                key = f"{prefix}part-0.parquet"
                self.aws["s3"].put_object(Bucket=bucket, Key=key, Body=local.read_bytes())
            return [], []
        if match := _CTAS.match(statement):
            name, _, body = match.groups()
            self.con.execute(f"CREATE TABLE {name} AS {body}")  # the body exactly as sent
            return [], []
        if statement.startswith("DROP TABLE"):
            self.con.execute(statement)
            return [], []
        cursor = self.con.execute(statement)
        names = [d[0] for d in cursor.description]
        kinds = [_ATHENA_TYPES.get(str(d[1]), "varchar") for d in cursor.description]
        data = cursor.fetchall()
        header = {"Data": [{"VarCharValue": n} for n in names]}
        rows = [header] + [{"Data": [athena_text(v) for v in row]} for row in data]
        info = [{"Name": n, "Type": k} for n, k in zip(names, kinds, strict=True)]
        return rows, info

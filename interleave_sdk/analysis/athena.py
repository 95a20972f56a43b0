"""The analysis on Athena: the same step files as DuckDB, run through boto3, the verdict computed here.

Each step becomes a temporary CTAS table (Parquet under the run's own S3 prefix), so the logs are
scanned once and only the day partitions the time range needs. Feedback is read where it lies
(:class:`FeedbackInPlace`: a table, or an S3 prefix the run declares as an external table); the
client never reads or uploads it. Every join and aggregate runs in Athena; what comes back is
``UNLOAD``-ed to Parquet under the run's prefix and read with one listing and one ``GetObject``
per file, so the API calls of a run do not grow with its rows. Whatever happens, the run's tables
are dropped and its S3 prefix emptied before :meth:`AthenaEngine.run` returns.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ..errors import AnalysisError, AnalysisInputError, AthenaQueryError
from .credit import CreditRule
from .engine import StepOutput, finish, run_steps
from .filters import ALL_EXPOSURES, ExposureFilter
from .outcomes import Attribution
from .sources import FEEDBACK_COLUMNS, PathSpec

#: How an S3 prefix of feedback files is declared: JSON lines, or CSV with a header row whose
#: columns are the contract's, in its order.
FEEDBACK_FORMATS: dict[str, str] = {
    "json": "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION '{location}'",
    "csv": "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' LOCATION '{location}'"
    " TBLPROPERTIES ('skip.header.line.count' = '1')",
}

_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")
_DONE = ("SUCCEEDED", "FAILED", "CANCELLED")
_INTEGER_TYPES = ("tinyint", "smallint", "integer", "int", "bigint")
_FLOAT_TYPES = ("double", "float", "real", "decimal")


@dataclass(frozen=True)
class Backoff:
    """Polling delays: ``first`` seconds, times ``factor`` after each poll, at most ``cap``."""

    first: float = 0.25
    factor: float = 2.0
    cap: float = 5.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.cap, delay * self.factor)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> (bucket, ``some/prefix/``); anything else is refused."""
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise AnalysisInputError(f"athena output must be an s3://bucket/prefix/ location, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise AnalysisInputError(f"athena output has no bucket: {uri!r}")
    if key and not key.endswith("/"):
        key += "/"
    return bucket, key


def _aws(what: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    """One AWS call; a botocore failure (refused, unreachable, throttled past retries) becomes an
    AnalysisError naming the call, so the CLI reports it instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise AnalysisError(f"Athena analysis: {what} failed: {exc}") from exc


def _day(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d")


def _convert(values: list[str | None], kind: str) -> pd.Series[Any]:
    """One result column from Athena's text values to the dtype its declared type means."""
    kind = kind.lower()
    if kind in _INTEGER_TYPES:
        return pd.Series([None if v is None else int(v) for v in values], dtype="Int64")
    if kind in _FLOAT_TYPES or kind.startswith("decimal"):
        return pd.Series([None if v is None else float(v) for v in values], dtype=float)
    if kind == "boolean":
        return pd.Series([None if v is None else v == "true" for v in values], dtype=object)
    if kind.startswith("timestamp"):
        stamps: pd.Series[Any] = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
        return stamps
    return pd.Series(values, dtype=object)


@dataclass(frozen=True)
class FeedbackInPlace:
    """Feedback that Athena reads where it lies: the client reads, uploads and receives none of it.

    ``table``: a table (``name`` in the engine's database, or ``database.name``) with the
    columns ``user_id``, ``item_id``, ``ts`` (a timestamp, UTC), ``kind`` and ``ranking_id``.
    ``location``: an S3 prefix of feedback files in ``format`` (``json`` lines or ``csv`` with a
    header, the contract's columns in its order) that the run declares as a temporary external
    table; their ``ts`` is ISO 8601 text (with an offset or ``Z``; none means UTC) and an empty
    ``ranking_id`` is none. Give exactly one of the two.
    """

    table: str | None = None
    location: str | None = None
    format: str = "json"

    def __post_init__(self) -> None:
        if (self.table is None) == (self.location is None):
            raise AnalysisInputError("FeedbackInPlace needs exactly one of table= and location=")
        if self.table is not None and not all(_NAME.match(part) for part in self.table.split(".", 1)):
            raise AnalysisInputError(
                f"feedback table {self.table!r}: use [database.]name, letters, digits and underscores"
            )
        if self.location is not None:
            split_s3(self.location)
        if self.format not in FEEDBACK_FORMATS:
            raise AnalysisInputError(
                f"feedback format {self.format!r}; valid formats: {', '.join(FEEDBACK_FORMATS)}"
            )


@dataclass
class AthenaEngine:
    """Runs the analysis steps on Athena (engine v3) over the table ``athena_ddl()`` creates.

    ``database`` and ``table`` name that table (its ``<table>_log`` view is read); ``output`` is
    an S3 prefix the run may write under (query results, temporary tables, the feedback upload),
    emptied afterwards. ``client`` and ``s3`` are boto3 clients (built for ``region`` when not
    given); ``sleep`` and ``clock`` drive polling, so tests need no real waiting. A query that
    has not finished ``timeout_seconds`` after it started is stopped and the run fails.
    ``delivery_lag_hours`` widens the ``dt`` partitions read on each side: ``dt`` is the day
    Firehose delivered a line, which can be after (or, with clock skew, just before) its ``ts``.
    """

    database: str
    table: str
    output: str
    workgroup: str = "primary"
    region: str | None = None
    client: Any = None
    s3: Any = None
    timeout_seconds: float = 900.0
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    delivery_lag_hours: float = 1.0
    new_run_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex[:12])

    name = "athena"

    def __post_init__(self) -> None:
        for label, value in (("database", self.database), ("table", self.table)):
            if not _NAME.match(value):
                raise AnalysisInputError(
                    f"athena {label} {value!r}: use letters, digits and underscores only"
                )
        if not self.workgroup:
            raise AnalysisInputError("athena workgroup must not be empty")
        split_s3(self.output)
        if not self.timeout_seconds > 0:
            raise AnalysisInputError(f"timeout_seconds must be > 0, got {self.timeout_seconds}")
        if self.region is not None and self.client is not None and self.s3 is not None:
            raise AnalysisInputError(
                "region only applies to the clients the engine builds; both were passed in "
                "(set the region on them instead)"
            )
        if not self.delivery_lag_hours >= 0:
            raise AnalysisInputError(f"delivery_lag_hours must be >= 0, got {self.delivery_lag_hours}")

    # -- clients ------------------------------------------------------------------------------

    def _athena(self) -> Any:
        if self.client is None:
            import boto3

            self.client = boto3.client("athena", region_name=self.region)
        return self.client

    def _s3(self) -> Any:
        if self.s3 is None:
            import boto3

            self.s3 = boto3.client("s3", region_name=self.region)
        return self.s3

    # -- one query ----------------------------------------------------------------------------

    def execute(self, statement: str, results: str) -> str:
        """Start ``statement``, poll until it is done; returns its id or raises AthenaQueryError."""
        client = self._athena()
        started = _aws(
            "StartQueryExecution",
            client.start_query_execution,
            QueryString=statement,
            QueryExecutionContext={"Database": self.database},
            WorkGroup=self.workgroup,
            ResultConfiguration={"OutputLocation": results},
        )
        query_id = str(started["QueryExecutionId"])
        deadline = self.clock() + self.timeout_seconds
        delays = self.backoff.delays()
        while True:
            status = _aws("GetQueryExecution", client.get_query_execution, QueryExecutionId=query_id)[
                "QueryExecution"
            ]
            state = str(status["Status"]["State"])
            if state == "SUCCEEDED":
                return query_id
            if state in _DONE:
                reason = str(status["Status"].get("StateChangeReason", "no reason given"))
                raise AthenaQueryError(query_id, state, reason, statement)
            remaining = deadline - self.clock()
            if remaining <= 0:
                reason = f"still {state} after {self.timeout_seconds:g} s; stopped"
                try:
                    client.stop_query_execution(QueryExecutionId=query_id)
                except Exception as exc:  # the timeout is the error to report; say this too
                    reason = f"still {state} after {self.timeout_seconds:g} s; stopping failed: {exc}"
                raise AthenaQueryError(query_id, "TIMED_OUT", reason, statement)
            self.sleep(min(next(delays), remaining))

    def results(self, query_id: str) -> pd.DataFrame:
        """All rows of a finished SELECT, page by page, typed by the columns' declared types."""
        client = self._athena()
        names: list[str] = []
        kinds: list[str] = []
        rows: list[list[str | None]] = []
        token: str | None = None
        first = True
        while True:
            kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
            if token:
                kwargs["NextToken"] = token
            page = _aws("GetQueryResults", client.get_query_results, **kwargs)
            result = page["ResultSet"]
            if first:
                info = result.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                names = [str(c["Name"]) for c in info]
                kinds = [str(c.get("Type", "varchar")) for c in info]
            page_rows = [[d.get("VarCharValue") for d in r.get("Data", [])] for r in result["Rows"]]
            if first and page_rows and page_rows[0] == names:
                page_rows = page_rows[1:]  # a SELECT's first row repeats the column names
            rows.extend(page_rows)
            first = False
            token = page.get("NextToken")
            if not token:
                break
        columns = {
            name: _convert([row[i] if i < len(row) else None for row in rows], kind)
            for i, (name, kind) in enumerate(zip(names, kinds, strict=True))
        }
        frame: pd.DataFrame = pd.DataFrame(columns)
        return frame

    def read_parquet(self, bucket: str, prefix: str) -> pd.DataFrame:
        """Every Parquet file under an S3 prefix (an UNLOAD's output), as one frame."""
        import io

        s3 = self._s3()
        listing = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        found = _aws("ListObjectsV2", lambda: [o for page in listing for o in page.get("Contents", [])])
        keys = sorted(str(o["Key"]) for o in found if not str(o["Key"]).endswith("/"))
        bodies = [_aws("GetObject", s3.get_object, Bucket=bucket, Key=key)["Body"].read() for key in keys]
        frames = [pd.read_parquet(io.BytesIO(body)) for body in bodies]
        frame: pd.DataFrame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return frame

    def create_table(self, *, location: str, first_day: str) -> list[str]:
        """Run :func:`~interleave_sdk.analysis.sql.athena_ddl`'s statements in order, once per
        table: ``location`` is the Firehose prefix (``s3://.../``), ``first_day`` ``yyyy/MM/dd``.

        Returns the query ids; the query results (empty for DDL) land under ``output``.
        """
        from .sql import athena_ddl

        split_s3(location)
        statements = athena_ddl(
            database=self.database, table=self.table, location=location, first_day=first_day
        )
        return [self.execute(statement, self.output) for statement in statements]

    # -- the run ------------------------------------------------------------------------------

    def partitions(self, filters: ExposureFilter, window_seconds: int) -> str | None:
        """The ``dt`` condition for the exposures a filtered run reads; None reads every day."""
        lag = timedelta(hours=self.delivery_lag_hours)
        parts = []
        if filters.since is not None:
            parts.append(f"dt >= '{_day(filters.since - lag)}'")
        end = filters.read_until(window_seconds)
        if end is not None:
            parts.append(f"dt <= '{_day(end + lag)}'")
        return " AND ".join(parts) if parts else None

    def run(
        self,
        exposures: PathSpec | None,
        feedback: pd.DataFrame | FeedbackInPlace,
        *,
        rule: CreditRule,
        kinds: Mapping[str, int],
        negative_counts: bool,
        window_seconds: int,
        filters: ExposureFilter = ALL_EXPOSURES,
    ) -> Attribution:
        if exposures is not None:
            raise AnalysisInputError("the athena engine reads its table, not files: leave the exposures out")
        if not isinstance(feedback, FeedbackInPlace):
            raise AnalysisInputError(
                "the athena engine reads feedback where it lies, never through this process: pass "
                "FeedbackInPlace(table=...) or FeedbackInPlace(location='s3://...') as the feedback"
            )
        bucket, key = split_s3(self.output)
        run_id = self.new_run_id()
        if not re.fullmatch(r"[a-z0-9]{1,32}", run_id):
            raise AnalysisInputError(f"run ids must be 1-32 lowercase letters or digits, got {run_id!r}")
        run = _AthenaRun(self, bucket, f"{key}interleave-{run_id}/", run_id)
        try:
            feedback_relation = run.feedback(feedback)
            output: StepOutput = run_steps(
                run,
                ranking_log=f"{self.database}.{self.table}_log",
                feedback=feedback_relation,
                rule=rule,
                kinds=kinds,
                negative_counts=negative_counts,
                window_seconds=window_seconds,
                keep=filters.keep_sql(window_seconds, extra=self.partitions(filters, window_seconds)),
                credited=filters.credited_sql(),
            )
        except BaseException:
            run.cleanup(raise_errors=False)
            raise
        run.cleanup(raise_errors=True)
        # The lines read are the records rankings.sql kept (no second scan to count the rest).
        # Athena's SerDe reads a malformed line as an all-NULL row, counted as not interleaved
        # (see athena_ddl.sql), so malformed and blank lines cannot be told apart here.
        read = sum(output.status.values())
        quality = {"exposure_lines": read, "malformed_lines": 0, "blank_lines": 0}
        return finish(output, quality)


class _AthenaRun:
    """One run's temporary objects (tables, S3 prefix) and the step store over them."""

    def __init__(self, engine: AthenaEngine, bucket: str, prefix: str, run_id: str) -> None:
        self.engine = engine
        self.bucket = bucket
        self.prefix = prefix
        self.tag = run_id
        self.tables: list[str] = []
        self.fetches = 0

    def location(self, folder: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{folder}/"

    def execute(self, statement: str) -> str:
        return self.engine.execute(statement, self.location("results"))

    def _table(self, name: str) -> str:
        full = f"{self.engine.database}.{self.engine.table}_tmp_{self.tag}_{name}"
        self.tables.append(full)
        return full

    def feedback(self, source: FeedbackInPlace) -> str:
        """The relation that reads the feedback in Athena, in the shape attribution.sql expects."""
        if source.table is not None:
            table = source.table if "." in source.table else f"{self.engine.database}.{source.table}"
            return (
                "(SELECT CAST(user_id AS varchar) AS user_id, CAST(item_id AS varchar) AS item_id,"
                " CAST(ts AS timestamp) AS ts, CAST(kind AS varchar) AS kind,"
                f" CAST(ranking_id AS varchar) AS ranking_id FROM {table})"
            )
        assert source.location is not None
        table = self._table("feedback")
        columns = ", ".join(f"{name} string" for name in FEEDBACK_COLUMNS)
        declared = FEEDBACK_FORMATS[source.format].format(location=source.location)
        self.execute(f"CREATE EXTERNAL TABLE {table} ({columns}) {declared}")
        # A ts that does not parse reads as NULL: attribution counts the event as invalid.
        return (
            "(SELECT user_id, item_id,"
            " CAST(try(from_iso8601_timestamp(ts)) AT TIME ZONE 'UTC' AS timestamp) AS ts, kind,"
            f" nullif(ranking_id, '') AS ranking_id FROM {table})"
        )

    # StepStore
    def create(self, name: str, query: str) -> str:
        table = self._table(name)
        self.execute(
            f"CREATE TABLE {table} WITH (format = 'PARQUET',"
            f" external_location = '{self.location('tables/' + name)}') AS\n{query}"
        )
        return table

    def drop(self, relation: str) -> None:
        """Kept until :meth:`cleanup`: one DROP per table at the end costs no extra round trip."""

    def fetch(self, query: str) -> pd.DataFrame:
        """``query``'s rows, UNLOAD-ed to Parquet under the run's prefix and read from there."""
        self.fetches += 1
        folder = f"unload/{self.fetches}"
        self.execute(f"UNLOAD ({query}) TO '{self.location(folder)}' WITH (format = 'PARQUET')")
        frame = self.engine.read_parquet(self.bucket, f"{self.prefix}{folder}/")
        if len(frame.columns) == 0:  # no rows, so no file: the column names from the query itself
            return self.engine.results(self.execute(f"SELECT * FROM ({query}) WHERE FALSE"))
        return frame

    def cleanup(self, *, raise_errors: bool) -> None:
        """Drop every table this run created, then delete every object under its prefix."""
        problems: list[str] = []
        for table in reversed(self.tables):
            try:
                self.execute(f"DROP TABLE IF EXISTS {table}")
            except Exception as exc:  # keep going: the other tables and the objects still go
                problems.append(f"{table}: {exc}")
        self.tables.clear()
        try:
            s3 = self.engine._s3()
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
            for start in range(0, len(keys), 1000):
                s3.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]},
                )
        except Exception as exc:
            problems.append(f"s3://{self.bucket}/{self.prefix}: {exc}")
        if problems and raise_errors:
            raise AnalysisError("Athena cleanup left temporary objects: " + "; ".join(problems))

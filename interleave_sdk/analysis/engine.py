"""Run the shipped ``.sql`` files: the step procedure every SQL engine shares, and DuckDB's backend.

:func:`run_steps` chains the step files over a :class:`StepStore` (where a step's table lives:
a DuckDB table here, a temporary CTAS table on Athena, see ``athena.py``), so both engines submit
the same text. DuckDB's own JSON reader parses each line once, into only the fields the analysis
reads, and hands the items on as parallel arrays, the shape the step files expect (each item's ranks
as a map from arm name to rank: the arms are data, never column names). Malformed lines are counted
by cheap extra passes (see :func:`physical_lines`). Trino's ``sequence()``, ``regexp_like()`` and
``array_remove()`` are filled by macros.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ..errors import AnalysisInputError, MissingDependency
from . import sql, versions
from .credit import CreditRule
from .filters import ALL_EXPOSURES, ExposureFilter
from .outcomes import (
    RANKING_STATUS_KEYS,
    Attribution,
    count_event_quality,
    count_matching,
    finish_clicks,
    finish_events,
    finish_outcomes,
)
from .rank_credit import sql_delta
from .sources import PathSpec, expand_paths

#: Each log line's fields as DuckDB should type them; the reader skips every other field.
_ITEM_TYPE = (
    "STRUCT(item_id VARCHAR, position INTEGER, source_ranker VARCHAR,"
    " ranks MAP(VARCHAR, INTEGER))[]"
)
_LOG_COLUMNS = (
    "{'event': 'VARCHAR', 'ranking_id': 'VARCHAR', 'experiment': 'VARCHAR', 'user_id': 'VARCHAR',"
    f" 'ts': 'VARCHAR', 'served': 'VARCHAR', 'items': '{_ITEM_TYPE}', 'method': 'VARCHAR',"
    " 'k': 'VARCHAR', 'contest_depth': 'VARCHAR', 'schema_version': 'VARCHAR'}"
)
#: The reader view's columns: a row with all of them NULL is a malformed line or an object
#: without any field the analysis reads, and only a second pass can tell which.
_LOG_FIELDS = (
    "event", "ranking_id", "experiment", "user_id", "ts", "served", "schema_version", "item_ids"
)
_CHUNK = 1 << 24

_COMPAT_MACROS = (
    "CREATE MACRO sequence(a, b) AS generate_series(CAST(a AS BIGINT), CAST(b AS BIGINT))",
    "CREATE MACRO regexp_like(s, pattern) AS regexp_matches(s, pattern)",
    # Trino's array_remove keeps NULL elements (NULL never equals the element); so does this.
    "CREATE MACRO array_remove(l, e) AS list_filter(l, lambda v: v IS DISTINCT FROM e)",
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def physical_lines(files: Sequence[str]) -> int:
    """Lines in the files as the reference counts them: newlines, plus an unterminated last line.

    A plain byte count, no parsing: with the reader's row count it gives the blank lines, which
    DuckDB's JSON reader skips without a trace.
    """
    total = 0
    for name in files:
        last = b"\n"
        with gzip.open(name, "rb") if name.endswith(".gz") else open(name, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                total += chunk.count(b"\n")
                last = chunk[-1:]
        total += last != b"\n"
    return total


def kinds_relation(kinds: Mapping[str, int]) -> str:
    """The ``{kinds}`` relation: a VALUES list of (kind, polarity), valid in DuckDB and Trino."""
    rows = ", ".join(f"({_quote(kind)}, {int(polarity)})" for kind, polarity in kinds.items())
    return f"(VALUES {rows})"


class StepStore(Protocol):
    """Where the steps' intermediate tables live; :func:`run_steps` needs only these three verbs."""

    def create(self, name: str, query: str) -> str:
        """Materialise ``query`` as the step table ``name``; returns the name to query it by."""
        ...

    def drop(self, relation: str) -> None:
        """Release an input no later step reads (a no-op where cleanup comes later)."""
        ...

    def fetch(self, query: str) -> pd.DataFrame:
        """The rows of ``query`` as a frame (types as close to the engine's as it can give)."""
        ...


@dataclass
class StepOutput:
    """What the step files produce, before the frames are given their final dtypes."""

    outcomes: pd.DataFrame
    events: pd.DataFrame
    clicks: pd.DataFrame
    status: dict[str, int]
    impressions: int
    versions: dict[str, dict[str, int]]


#: credit.sql's ``{rank_delta}``: arm ``t.arm``'s credit against the other arm of a two-arm
#: impression (its arms are sorted, so the other is the one of the two that is not ``t.arm``).
RANK_DELTA = sql_delta(
    method="c.method",
    rank_a="c.ranks[t.arm]",
    rank_b="c.ranks[CASE WHEN c.arms[1] = t.arm THEN c.arms[2] ELSE c.arms[1] END]",
    k="c.k",
    position="c.position",
    contest="c.contest_depth",
)


def _restricted(relation: str, condition: str | None) -> str:
    """The relation itself, or a subquery keeping the rows that meet ``condition``."""
    return relation if condition is None else f"(SELECT * FROM {relation} WHERE {condition})"


def run_steps(
    store: StepStore,
    *,
    ranking_log: str,
    feedback: str,
    rule: CreditRule,
    kinds: Mapping[str, int],
    negative_counts: bool,
    window_seconds: int,
    keep: str,
    credited: str | None,
) -> StepOutput:
    """The six step files in order, each input released as soon as the next step has it.

    ``keep`` is rankings.sql's record filter; ``credited`` (a condition on an impression's ts, or
    None) narrows the impressions that are credited and counted, after attribution has seen
    every exposure it may need (see :class:`~interleave_sdk.analysis.filters.ExposureFilter`).
    """
    rankings = store.create(
        "rankings",
        sql.render(
            "rankings", ranking_log=ranking_log, keep=keep, schema_majors=versions.sql_majors()
        ),
    )
    store.drop(ranking_log)  # DuckDB's parsed log is the largest table; Athena keeps its view
    counts = store.fetch(
        f"SELECT status, schema_version, count(*) AS n FROM {rankings}"
        " GROUP BY status, schema_version"
    )
    rows = [
        (str(s), None if pd.isna(v) else str(v), int(n))
        for s, v, n in zip(counts["status"], counts["schema_version"], counts["n"], strict=True)
    ]
    status: dict[str, int] = {}
    for name, _, n in rows:
        status[name] = status.get(name, 0) + n
    items = store.create("exposure_items", sql.render("exposure_items", rankings=rankings))
    store.drop(rankings)
    impressions = store.create("impressions", sql.render("impressions", exposure_items=items))
    attributed = store.create(
        "attributed",
        sql.render(
            "attribution",
            feedback=feedback,
            exposure_items=items,
            impressions=impressions,
            kinds=kinds_relation(kinds),
            window_seconds=int(window_seconds),
        ),
    )
    outcomes = store.fetch(
        sql.render(
            "credit",
            impressions=_restricted(impressions, credited),
            exposure_items=items,
            attributed=attributed,
            eligible=rule.sql_eligible,
            rank_delta=RANK_DELTA,
            negative_counts="TRUE" if negative_counts else "FALSE",
        )
    )
    events = store.fetch(
        f"SELECT a.*, x.position, x.team FROM {attributed} AS a LEFT JOIN {items} AS x"
        " ON x.ranking_id = a.ranking_id AND x.item_id = a.item_id"
    )
    clicks = store.fetch(
        sql.render(
            "clicks_by_position",
            attributed=attributed,
            exposure_items=_restricted(items, credited),
        )
    )
    total = store.fetch(f"SELECT count(*) AS n FROM {impressions}")
    return StepOutput(
        outcomes, events, clicks, status, int(total["n"].iloc[0]), versions.tally(rows)
    )


def finish(output: StepOutput, quality: dict[str, int]) -> Attribution:
    """The engine-independent tail: final dtypes, the ranking and event counts."""
    status = output.status
    quality = {
        **quality,
        **{key: int(status.get(name, 0)) for name, key in RANKING_STATUS_KEYS.items()},
        "invalid_items": int(status.get("ok", 0)) - int(output.impressions),
    }
    events = finish_events(output.events)
    quality.update(count_event_quality(events))
    return Attribution(
        finish_outcomes(output.outcomes),
        events,
        count_matching(events),
        quality,
        finish_clicks(output.clicks),
        output.versions,
    )


class _DuckDBStore:
    """Step tables as plain DuckDB tables in the run's scratch database."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def create(self, name: str, query: str) -> str:
        self.con.execute(f"CREATE TABLE {name} AS {query}")
        return name

    def drop(self, relation: str) -> None:
        self.con.execute(f"DROP TABLE {relation}")

    def fetch(self, query: str) -> pd.DataFrame:
        frame: pd.DataFrame = self.con.execute(query).df()
        return frame


def import_duckdb() -> Any:
    """DuckDB, or an error naming the extra that provides it."""
    try:
        import duckdb
    except ModuleNotFoundError as exc:
        raise MissingDependency("duckdb", "the DuckDB analysis engine", "interleave-sdk[analysis]") from exc
    return duckdb


class DuckDBEngine:
    """Materialises each step as a table in a scratch database, then reads the counts back.

    ``database`` defaults to in-memory; past ``memory_limit`` DuckDB spills to a temporary
    directory instead of growing the process without bound.
    """

    name = "duckdb"

    def __init__(
        self, *, memory_limit: str = "1GB", threads: int | None = None, database: str | None = None
    ) -> None:
        self.memory_limit = memory_limit
        self.threads = threads
        self.database = database

    def run(
        self,
        exposures: PathSpec | None,
        feedback: pd.DataFrame,
        *,
        rule: CreditRule,
        kinds: Mapping[str, int],
        negative_counts: bool,
        window_seconds: int,
        filters: ExposureFilter = ALL_EXPOSURES,
    ) -> Attribution:
        duckdb = import_duckdb()
        if exposures is None:
            raise AnalysisInputError("the duckdb engine reads log files: give the exposures")
        files = [str(path) for path in expand_paths(exposures)]
        with tempfile.TemporaryDirectory(prefix="interleave-duckdb-") as scratch:
            con = duckdb.connect(self.database or ":memory:")
            try:
                con.execute(f"SET memory_limit = {_quote(self.memory_limit)}")
                con.execute(f"SET temp_directory = {_quote(str(Path(scratch) / 'spill'))}")
                con.execute("SET preserve_insertion_order = false")
                con.execute("SET enable_progress_bar = false")
                if self.threads is not None:
                    con.execute(f"SET threads = {int(self.threads)}")
                for macro in _COMPAT_MACROS:
                    con.execute(macro)
                output, quality = self._run(
                    con, files, feedback, rule, kinds, negative_counts, window_seconds, filters
                )
            finally:
                con.close()
        # Finished only now, with DuckDB's tables gone: the frames' copies then reuse that memory.
        return finish(output, quality)

    def _run(
        self,
        con: Any,
        files: list[str],
        feedback: pd.DataFrame,
        rule: CreditRule,
        kinds: Mapping[str, int],
        negative_counts: bool,
        window_seconds: int,
        filters: ExposureFilter,
    ) -> tuple[StepOutput, dict[str, int]]:
        """The step output as DuckDB returns it, and the counts only the reader can give."""
        file_list = "[" + ", ".join(_quote(f) for f in files) + "]"
        # One parse per line, of the needed fields only; a line that is not a JSON object reads
        # as an all-NULL row instead of stopping the run. Files have no day partitions: dt is
        # NULL here (it only serves pruning on Athena).
        con.execute(
            "CREATE TABLE ranking_log AS SELECT event, ranking_id, experiment, user_id, ts,"
            " served, schema_version, CAST(NULL AS VARCHAR) AS dt,"
            " list_transform(items, lambda i: i.item_id) AS item_ids,"
            " list_transform(items, lambda i: i.position) AS positions,"
            " list_transform(items, lambda i: i.source_ranker) AS teams,"
            " list_transform(items, lambda i: i.ranks) AS ranks, method, k, contest_depth"
            f" FROM read_ndjson({file_list}, columns = {_LOG_COLUMNS}, ignore_errors = true)"
        )
        all_null = " AND ".join(f"{name} IS NULL" for name in _LOG_FIELDS)
        ((rows, empty_rows),) = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {all_null}) FROM ranking_log"
        ).fetchall()
        malformed = 0
        if empty_rows:
            # Only now pay for a second parse: which of the empty rows were not JSON objects.
            malformed = con.execute(
                "SELECT count(*) FILTER (WHERE json IS NULL OR json_type(json) <> 'OBJECT')"
                f" FROM read_ndjson_objects({file_list}, ignore_errors = true)"
            ).fetchall()[0][0]

        fb = feedback.copy()
        fb["ts"] = fb["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
        con.register("feedback_frame", fb)
        con.execute(
            "CREATE TABLE feedback AS SELECT CAST(user_id AS VARCHAR) AS user_id,"
            " CAST(item_id AS VARCHAR) AS item_id, CAST(ts AS TIMESTAMP) AS ts,"
            " CAST(kind AS VARCHAR) AS kind, CAST(ranking_id AS VARCHAR) AS ranking_id"
            " FROM feedback_frame"
        )
        con.unregister("feedback_frame")
        store = _DuckDBStore(con)
        output = run_steps(
            store,
            ranking_log="ranking_log",
            feedback="feedback",
            rule=rule,
            kinds=kinds,
            negative_counts=negative_counts,
            window_seconds=window_seconds,
            keep=filters.keep_sql(window_seconds),
            credited=filters.credited_sql(),
        )
        # rankings.sql sees a malformed line as an empty record, which is "not interleaved"; a
        # filter drops the empty records (no experiment, no time), and the malformed with them.
        if filters.active:
            malformed_kept = 0
        else:
            malformed_kept = int(malformed)
        output.status["not_interleaved"] = int(output.status.get("not_interleaved", 0)) - malformed_kept
        quality = {
            "exposure_lines": int(rows),
            "malformed_lines": int(malformed),
            "blank_lines": physical_lines(files) - int(rows),
        }
        return output, quality

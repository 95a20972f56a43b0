"""Run the shipped ``.sql`` files on DuckDB: embedded, no server, reading the JSON lines directly.

DuckDB's own JSON reader parses each line once, into only the fields the analysis reads, and hands
the items on as parallel arrays, the shape the step files expect. Malformed lines are counted by
cheap extra passes (see :func:`physical_lines`). Trino's ``sequence()`` and ``regexp_like()``
are filled by macros.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import sql
from .credit import CreditRule
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
    ' ranks STRUCT("A" INTEGER, "B" INTEGER))[]'
)
_LOG_COLUMNS = (
    "{'event': 'VARCHAR', 'ranking_id': 'VARCHAR', 'user_id': 'VARCHAR', 'ts': 'VARCHAR',"
    f" 'served': 'VARCHAR', 'items': '{_ITEM_TYPE}', 'method': 'VARCHAR', 'k': 'VARCHAR'}}"
)
#: The reader view's columns: a row with all of them NULL is a malformed line or an object
#: without any field the analysis reads, and only a second pass can tell which.
_LOG_FIELDS = ("event", "ranking_id", "user_id", "ts", "served", "item_ids")
_CHUNK = 1 << 24

_COMPAT_MACROS = (
    "CREATE MACRO sequence(a, b) AS generate_series(CAST(a AS BIGINT), CAST(b AS BIGINT))",
    "CREATE MACRO regexp_like(s, pattern) AS regexp_matches(s, pattern)",
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


class DuckDBEngine:
    """Materialises each step as a table in a scratch database, then reads the counts back.

    ``database`` defaults to in-memory; past ``memory_limit`` DuckDB spills to a temporary
    directory instead of growing the process without bound.
    """

    def __init__(
        self, *, memory_limit: str = "1GB", threads: int | None = None, database: str | None = None
    ) -> None:
        self.memory_limit = memory_limit
        self.threads = threads
        self.database = database

    def run(
        self,
        exposures: PathSpec,
        feedback: pd.DataFrame,
        *,
        rule: CreditRule,
        kinds: Mapping[str, int],
        negative_counts: bool,
        window_seconds: int,
    ) -> Attribution:
        import duckdb

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
                fetched = self._run(
                    con, files, feedback, rule, kinds, negative_counts, window_seconds
                )
            finally:
                con.close()
        # Finished only now, with DuckDB's tables gone: the frames' copies then reuse that memory.
        outcomes, events, clicks, quality = fetched
        events = finish_events(events)
        quality.update(count_event_quality(events))
        return Attribution(
            finish_outcomes(outcomes), events, count_matching(events), quality, finish_clicks(clicks)
        )

    def _run(
        self,
        con: Any,
        files: list[str],
        feedback: pd.DataFrame,
        rule: CreditRule,
        kinds: Mapping[str, int],
        negative_counts: bool,
        window_seconds: int,
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, int]]:
        """Raw outcomes, events and clicks as DuckDB returns them, and the log's counts."""
        file_list = "[" + ", ".join(_quote(f) for f in files) + "]"
        # One parse per line, of the needed fields only; a line that is not a JSON object reads
        # as an all-NULL row instead of stopping the run.
        con.execute(
            "CREATE TABLE ranking_log AS SELECT event, ranking_id, user_id, ts, served,"
            " list_transform(items, lambda i: i.item_id) AS item_ids,"
            " list_transform(items, lambda i: i.position) AS positions,"
            " list_transform(items, lambda i: i.source_ranker) AS teams,"
            " list_transform(items, lambda i: i.ranks.A) AS ranks_a,"
            " list_transform(items, lambda i: i.ranks.B) AS ranks_b, method, k"
            f" FROM read_ndjson({file_list}, columns = {_LOG_COLUMNS}, ignore_errors = true)"
        )
        all_null = " AND ".join(f"{name} IS NULL" for name in _LOG_FIELDS)
        rows, empty_rows = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {all_null}) FROM ranking_log"
        ).fetchone()
        malformed = 0
        if empty_rows:
            # Only now pay for a second parse: which of the empty rows were not JSON objects.
            malformed = con.execute(
                "SELECT count(*) FILTER (WHERE json IS NULL OR json_type(json) <> 'OBJECT')"
                f" FROM read_ndjson_objects({file_list}, ignore_errors = true)"
            ).fetchone()[0]
        # Each input is dropped as soon as the next step has it, to keep the peak memory low.
        con.execute(f"CREATE TABLE rankings AS {sql.render('rankings', ranking_log='ranking_log')}")
        con.execute("DROP TABLE ranking_log")
        status = dict(con.execute("SELECT status, count(*) FROM rankings GROUP BY 1").fetchall())
        con.execute(
            f"CREATE TABLE exposure_items AS {sql.render('exposure_items', rankings='rankings')}"
        )
        con.execute("DROP TABLE rankings")
        con.execute(
            "CREATE TABLE impressions AS "
            + sql.render("impressions", exposure_items="exposure_items")
        )

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
        con.execute(
            "CREATE TABLE attributed AS "
            + sql.render(
                "attribution",
                feedback="feedback",
                exposure_items="exposure_items",
                impressions="impressions",
                kinds=kinds_relation(kinds),
                window_seconds=int(window_seconds),
            )
        )
        outcomes = con.execute(
            sql.render(
                "credit",
                impressions="impressions",
                exposure_items="exposure_items",
                attributed="attributed",
                eligible=rule.sql_eligible,
                rank_delta=sql_delta(
                    method="m.method", rank_a="x.rank_a", rank_b="x.rank_b", k="m.k"
                ),
                negative_counts="TRUE" if negative_counts else "FALSE",
            )
        ).df()
        events = con.execute(
            "SELECT a.*, x.position, x.team FROM attributed AS a LEFT JOIN exposure_items AS x"
            " ON x.ranking_id = a.ranking_id AND x.item_id = a.item_id"
        ).df()
        clicks = con.execute(
            sql.render("clicks_by_position", attributed="attributed", exposure_items="exposure_items")
        ).df()
        n_impressions = con.execute("SELECT count(*) FROM impressions").fetchone()[0]

        # rankings.sql sees a malformed line as an empty record, which is "not interleaved".
        status["not_interleaved"] = int(status.get("not_interleaved", 0)) - int(malformed)
        quality = {
            "exposure_lines": int(rows),
            "malformed_lines": int(malformed),
            "blank_lines": physical_lines(files) - int(rows),
            **{key: int(status.get(name, 0)) for name, key in RANKING_STATUS_KEYS.items()},
            "invalid_items": int(status.get("ok", 0)) - int(n_impressions),
        }
        return outcomes, events, clicks, quality

"""Run the shipped ``.sql`` files on DuckDB: embedded, no server, reading the JSON lines directly.

DuckDB parses every line itself (``from_json``), so malformed lines are counted without a Python
pass over the logs; the reader hands the items on as parallel arrays, the shape the step files
expect. The one gap in the common dialect, Trino's ``sequence()``, is filled by a macro.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
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
    finish_events,
    finish_outcomes,
)
from .sources import PathSpec, expand_paths

#: Each log line's fields as DuckDB should type them (the rest of the line is ignored).
_LOG_STRUCTURE = (
    '{"event": "VARCHAR", "ranking_id": "VARCHAR", "user_id": "VARCHAR", "ts": "VARCHAR",'
    ' "served": "VARCHAR", "items": [{"item_id": "VARCHAR", "position": "INTEGER",'
    ' "source_ranker": "VARCHAR", "ranks": {"A": "INTEGER", "B": "INTEGER"}}]}'
)
_COMPAT_MACROS = (
    "CREATE MACRO sequence(a, b) AS generate_series(CAST(a AS BIGINT), CAST(b AS BIGINT))",
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
                return self._run(con, files, feedback, rule, kinds, negative_counts, window_seconds)
            finally:
                con.close()

    def _run(
        self,
        con: Any,
        files: list[str],
        feedback: pd.DataFrame,
        rule: CreditRule,
        kinds: Mapping[str, int],
        negative_counts: bool,
        window_seconds: int,
    ) -> Attribution:
        file_list = "[" + ", ".join(_quote(f) for f in files) + "]"
        con.execute(
            f"""
            CREATE TABLE log_lines AS
            SELECT
                line IS NULL OR trim(line, ' \t\r') = '' AS blank,
                coalesce(try(json_type(line)) = 'OBJECT', false) AS valid,
                try(from_json(line, {_quote(_LOG_STRUCTURE)})) AS j
            FROM read_csv({file_list}, columns = {{'line': 'VARCHAR'}}, delim = chr(31),
                          quote = '', escape = '', header = false, auto_detect = false,
                          strict_mode = false)
            """
        )
        line_counts = con.execute(
            "SELECT count(*) FILTER (WHERE blank), count(*) FILTER (WHERE NOT blank),"
            " count(*) FILTER (WHERE NOT blank AND NOT valid) FROM log_lines"
        ).fetchone()
        con.execute(
            "CREATE VIEW ranking_log AS SELECT j.event AS event, j.ranking_id AS ranking_id,"
            " j.user_id AS user_id, j.ts AS ts, j.served AS served,"
            " list_transform(j.items, lambda i: i.item_id) AS item_ids,"
            " list_transform(j.items, lambda i: i.position) AS positions,"
            " list_transform(j.items, lambda i: i.source_ranker) AS teams,"
            " list_transform(j.items, lambda i: i.ranks.A) AS ranks_a,"
            " list_transform(j.items, lambda i: i.ranks.B) AS ranks_b"
            " FROM log_lines WHERE valid"
        )
        steps = {
            "rankings": {"ranking_log": "ranking_log"},
            "exposure_items": {"rankings": "rankings"},
            "impressions": {"exposure_items": "exposure_items"},
        }
        for name, values in steps.items():
            con.execute(f"CREATE TABLE {name} AS {sql.render(name, **values)}")
        con.execute("DROP TABLE log_lines")

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
                negative_counts="TRUE" if negative_counts else "FALSE",
            )
        ).df()
        events = con.execute(
            "SELECT a.*, x.position, x.team FROM attributed AS a LEFT JOIN exposure_items AS x"
            " ON x.ranking_id = a.ranking_id AND x.item_id = a.item_id"
        ).df()
        status = dict(con.execute("SELECT status, count(*) FROM rankings GROUP BY 1").fetchall())
        n_impressions = con.execute("SELECT count(*) FROM impressions").fetchone()[0]

        events = finish_events(events)
        quality = {
            "exposure_lines": int(line_counts[1]),
            "malformed_lines": int(line_counts[2]),
            "blank_lines": int(line_counts[0]),
            **{key: int(status.get(name, 0)) for name, key in RANKING_STATUS_KEYS.items()},
            "invalid_items": int(status.get("ok", 0)) - int(n_impressions),
            **count_event_quality(events),
        }
        return Attribution(finish_outcomes(outcomes), events, count_matching(events), quality)

"""Run one of the migration's verification queries on DuckDB over local ranking-log files.

    python samples/migration/verify.py step1_legacy_routes 'logs/*.jsonl.gz' 2026-11-29T10:00:00.000Z

The same SQL files run unchanged in Athena over the ranking_ops table (ranking_ops_athena.sql),
with the same two parameters: the UTC day as yyyy/MM/dd, then the time the step began.
"""

import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent


def run_query(name, logs, since):
    """The rows of ``NAME.sql`` over ``logs`` (a path or glob) from ``since`` (ISO time, ...Z)."""
    con = duckdb.connect()
    try:
        con.execute((HERE / "ranking_ops_duckdb.sql").read_text().replace("{path}", str(logs)))
        day = since[:10].replace("-", "/")
        cursor = con.execute((HERE / f"{name}.sql").read_text(), [day, since])
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


if __name__ == "__main__":
    query, logs, since = sys.argv[1:4]
    for row in run_query(query, logs, since):
        print(row)

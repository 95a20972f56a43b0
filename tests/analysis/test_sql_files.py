"""Every shipped .sql file is Trino SQL (sqlglot) and runs on DuckDB as written."""

from __future__ import annotations

from importlib import resources

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from interleave_sdk.analysis import sql
from interleave_sdk.analysis.credit import available_credit_rules, get_credit_rule
from interleave_sdk.analysis.engine import _COMPAT_MACROS, RANK_DELTA, kinds_relation
from interleave_sdk.errors import AnalysisError

#: Placeholder values that make each step a complete query over named tables.
TABLES = {
    "ranking_log": "ranking_log",
    "rankings": "rankings",
    "exposure_items": "exposure_items",
    "impressions": "impressions",
    "feedback": "feedback",
    "attributed": "attributed",
    "kinds": kinds_relation({"click": 1, "nope": -1}),
    "window_seconds": 86400,
    "negative_counts": "FALSE",
    "keep": "TRUE",
    "schema_majors": "'1'",
}


def rendered(step: str, rule: str = "competitive") -> str:
    values = {name: TABLES.get(name) for name in sql.placeholders(step)}
    if "eligible" in values:
        values["eligible"] = get_credit_rule(rule).sql_eligible
    if "rank_delta" in values:
        values["rank_delta"] = RANK_DELTA
    return sql.render(step, **values)


def test_every_sql_file_is_a_known_step():
    """No stray .sql file: each is a pipeline step or the Athena DDL."""
    names = {p.name for p in resources.files(sql).iterdir() if p.name.endswith(".sql")}
    assert names == {f"{s}.sql" for s in sql.STEPS} | {"athena_ddl.sql"}


@pytest.mark.parametrize(
    ("step", "rule"),
    [(s, "competitive") for s in sql.STEPS] + [("credit", r) for r in available_credit_rules()],
)
def test_step_parses_as_trino(step, rule):
    """sqlglot reads each step as one Trino SELECT."""
    (tree,) = sqlglot.parse(rendered(step, rule), read="trino")
    assert isinstance(tree, exp.Query)


def test_athena_ddl_is_four_separate_statements():
    """athena_ddl() returns the table and three views as separate statements, one per query."""
    ddl = sql.athena_ddl(database="db", table="log", location="s3://b/p/", first_day="2026/01/01")
    assert isinstance(ddl, list) and len(ddl) == 4
    for statement in ddl:
        (_tree,) = sqlglot.parse(statement, read="athena")
        assert not statement.rstrip().endswith(";")
        assert not statement.lstrip().startswith("--")
    assert [sqlglot.parse_one(s, read="athena").args["kind"] for s in ddl] == ["TABLE"] + ["VIEW"] * 3


def test_athena_ddl_parses_and_embeds_the_steps():
    """The views' bodies are rankings.sql (keeping every record) and exposure_items.sql."""
    ddl = sql.athena_ddl(database="db", table="log", location="s3://b/p/", first_day="2026/01/01")
    _table, _reader, rankings_view, items_view = (sqlglot.parse_one(s, read="athena") for s in ddl)
    assert "'ignore.malformed.json'" in ddl[0]
    assert "${dt}" in ddl[0]  # Athena's projection template survives our placeholder filling
    for view, step, source in [
        (rankings_view, "rankings", {"ranking_log": "db.log_log", "keep": "TRUE", "schema_majors": "'1'"}),
        (items_view, "exposure_items", {"rankings": "db.log_rankings"}),
    ]:
        assert isinstance(view.expression, exp.Query)
        assert sql.render(step, **source).strip() in "\n".join(ddl)


def test_athena_table_has_experiment_and_views_expose_dt():
    """The table declares experiment; the reader and rankings views output dt and experiment."""
    ddl = sql.athena_ddl(database="db", table="log", location="s3://b/p/", first_day="2026/01/01")
    table = sqlglot.parse_one(ddl[0], read="athena")
    declared = {c.name for c in table.find_all(exp.ColumnDef)}
    assert {"experiment", "ts", "user_id", "items", "method", "k"} <= declared
    for statement in ddl[1:3]:
        view = sqlglot.parse_one(statement, read="athena").expression
        assert {"dt", "experiment", "ranking_id"} <= set(view.named_selects), statement[:60]
    items_view = sqlglot.parse_one(ddl[3], read="athena").expression
    assert "ranking_id" in items_view.named_selects  # the key to join to the rankings view


def test_steps_run_on_duckdb_in_order():
    """The steps chain on DuckDB over empty typed inputs without error."""
    con = duckdb.connect()
    for macro in _COMPAT_MACROS:
        con.execute(macro)
    con.execute(
        "CREATE TABLE ranking_log (event VARCHAR, ranking_id VARCHAR, experiment VARCHAR,"
        " user_id VARCHAR, ts VARCHAR, served VARCHAR, dt VARCHAR, item_ids VARCHAR[],"
        " positions INTEGER[], teams VARCHAR[],"
        " ranks MAP(VARCHAR, INTEGER)[], method VARCHAR, k VARCHAR, contest_depth VARCHAR,"
        " schema_version VARCHAR)"
    )
    con.execute(
        "CREATE TABLE feedback (user_id VARCHAR, item_id VARCHAR, ts TIMESTAMP, kind VARCHAR,"
        " ranking_id VARCHAR)"
    )
    for step in ("rankings", "exposure_items", "impressions", "attribution"):
        target = "attributed" if step == "attribution" else step
        con.execute(f"CREATE TABLE {target} AS {rendered(step)}")
    assert con.execute(rendered("credit")).fetchall() == []
    assert con.execute(rendered("clicks_by_position")).fetchall() == []


def test_render_refuses_missing_or_unknown_placeholders():
    """A misspelt table placeholder is an error, not a query against the wrong name."""
    with pytest.raises(AnalysisError, match="missing"):
        sql.render("impressions")
    with pytest.raises(AnalysisError, match="unexpected"):
        sql.render("impressions", exposure_items="x", extra="y")

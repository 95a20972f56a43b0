"""Every shipped .sql file is Trino SQL (sqlglot) and runs on DuckDB as written."""

from __future__ import annotations

from importlib import resources

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from interleave_sdk.analysis import sql
from interleave_sdk.analysis.credit import available_credit_rules, get_credit_rule
from interleave_sdk.analysis.engine import _COMPAT_MACROS, kinds_relation
from interleave_sdk.analysis.rank_credit import sql_delta
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
}


def rendered(step: str, rule: str = "competitive") -> str:
    values = {name: TABLES.get(name) for name in sql.placeholders(step)}
    if "eligible" in values:
        values["eligible"] = get_credit_rule(rule).sql_eligible
    if "rank_delta" in values:
        values["rank_delta"] = sql_delta(method="m.method", rank_a="x.rank_a", rank_b="x.rank_b", k="m.k")
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


def test_athena_ddl_parses_and_embeds_the_steps():
    """The DDL is a table and two views whose bodies are rankings.sql and exposure_items.sql."""
    ddl = sql.athena_ddl(database="db", table="log", location="s3://b/p/", first_day="2026/01/01")
    table, reader, rankings_view, items_view = sqlglot.parse(ddl, read="athena")
    assert reader.args["kind"] == "VIEW"
    assert table.args["kind"] == "TABLE"
    assert "'ignore.malformed.json'" in ddl
    assert "${dt}" in ddl  # Athena's projection template survives our placeholder filling
    for view, step, source in [
        (rankings_view, "rankings", {"ranking_log": "db.log_log"}),
        (items_view, "exposure_items", {"rankings": "db.log_rankings"}),
    ]:
        assert view.args["kind"] == "VIEW"
        assert isinstance(view.expression, exp.Query)
        assert sql.render(step, **source).strip() in ddl


def test_steps_run_on_duckdb_in_order():
    """The steps chain on DuckDB over empty typed inputs without error."""
    con = duckdb.connect()
    for macro in _COMPAT_MACROS:
        con.execute(macro)
    con.execute(
        "CREATE TABLE ranking_log (event VARCHAR, ranking_id VARCHAR, user_id VARCHAR,"
        " ts VARCHAR, served VARCHAR, item_ids VARCHAR[], positions INTEGER[], teams VARCHAR[],"
        " ranks_a INTEGER[], ranks_b INTEGER[], method VARCHAR, k VARCHAR)"
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

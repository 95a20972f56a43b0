"""The migration runbook (docs/migration.md) step by step: switches written to SSM, traffic through
the sample handler, and each step's verification query (samples/migration/*.sql) run on DuckDB over
the JSON lines the handler wrote, returning what the runbook promises.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from interleave_sdk import bucket
from interleave_sdk.analysis.sql import athena_ddl
from interleave_sdk.observability.record import iso_utc

from ..conftest import ROOT
from .conftest import Invoker, http_event, load_module, rest_event

QUERIES = ROOT / "samples" / "migration"
VERIFY = load_module(QUERIES / "verify.py")
USERS = [f"user-{n:03d}" for n in range(160)]
#: The arms' deadline on this shared test machine; the runbook's steps leave it at its default.
TEST_TIMEOUT = {"timeout_ms": "5000"}


class Fleet:
    """The function across the migration: each step starts new containers after its switch writes
    (so every container has seen them) and appends their log lines to one file, as S3 would."""

    def __init__(self, log: Path, switches: Callable[..., None], capsys: pytest.CaptureFixture[str]):
        self.log = log
        self._switches = switches
        self._capsys = capsys
        self.since = ""

    def step(self, **values: str) -> None:
        """Write the switches in the given order, then mark the time the step's traffic starts."""
        for key, value in values.items():
            self._switches(**{key: value})
        self._switches(**TEST_TIMEOUT)
        time.sleep(0.002)  # lines of the previous step are strictly older than `since`
        self.since = iso_utc(datetime.now(timezone.utc))
        self._invoker = Invoker(self._capsys)

    def traffic(self, path: str, users: list[str]) -> None:
        """One request per user on ``path``, alternating REST (v1) and HTTP API (v2) events."""
        with self.log.open("a") as out:
            for n, user in enumerate(users):
                make = rest_event if n % 2 else http_event
                response, lines = self._invoker.call(make(path, user))
                assert response["statusCode"] == 200
                out.writelines(json.dumps(line) + "\n" for line in lines)

    def query(self, name: str) -> list[dict[str, Any]]:
        """Run samples/migration/NAME.sql with the runbook's runner, from the step's start."""
        rows: list[dict[str, Any]] = VERIFY.run_query(name, self.log, self.since)
        return rows


@pytest.fixture
def fleet(tmp_path: Path, switches: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> Fleet:
    return Fleet(tmp_path / "ranking-log.jsonl", switches, capsys)


def in_sample(users: list[str], rate: float) -> int:
    return sum(bucket("reco", user) < rate for user in users)


def test_step1_each_legacy_route_serves_its_own_ranker(fleet: Fleet) -> None:
    """Armed but empty (sampling 0, then INTERLEAVE): route A serves A, route B serves B."""
    fleet.step(sampling_rate="0", mode="INTERLEAVE")
    fleet.traffic("/a/recommend", USERS[:20])
    fleet.traffic("/b/recommend", USERS[20:50])
    assert fleet.query("step1_legacy_routes") == [
        {"route_pin": "A", "lines": 20, "wrong_arm": 0, "interleaved": 0, "fallbacks": 0},
        {"route_pin": "B", "lines": 30, "wrong_arm": 0, "interleaved": 0, "fallbacks": 0},
    ]


def test_step1_query_exposes_a_kill_switch_overriding_the_b_route(fleet: Fleet) -> None:
    """With mode=A the B route serves A: the query shows every B line as served by the wrong arm."""
    fleet.step(mode="A")
    fleet.traffic("/b/recommend", USERS[:10])
    assert fleet.query("step1_legacy_routes") == [
        {"route_pin": "B", "lines": 10, "wrong_arm": 10, "interleaved": 0, "fallbacks": 0}
    ]


def test_step2_unified_route_serves_a_to_everybody(fleet: Fleet) -> None:
    """The unified route with sampling 0 serves ranker A alone; legacy routes unchanged."""
    fleet.step(sampling_rate="0", mode="INTERLEAVE")
    fleet.traffic("/recommend", USERS[:40])
    fleet.traffic("/b/recommend", USERS[40:50])
    assert fleet.query("step2_unified_route") == [
        {"lines": 40, "served_a": 40, "interleaved": 0, "fallbacks": 0}
    ]
    legacy = {r["route_pin"]: r for r in fleet.query("step1_legacy_routes")}
    assert set(legacy) == {"B", "unpinned"}  # unpinned: the unified route's lines, as announced
    assert legacy["B"]["wrong_arm"] == 0


def test_step3_a_low_rate_interleaves_exactly_the_sampled_users(fleet: Fleet) -> None:
    """sampling_rate=0.05: the users hashed below 0.05 are interleaved, nobody else."""
    fleet.step(sampling_rate="0.05", mode="INTERLEAVE")
    fleet.traffic("/recommend", USERS)
    fleet.traffic("/b/recommend", USERS[:10])
    expected = in_sample(USERS, 0.05)
    (row,) = fleet.query("step3_interleave_sample")
    assert expected > 0
    assert row["sampling_rate"] == 0.05 and row["lines"] == len(USERS)
    assert row["in_sample"] == row["interleaved"] == expected and row["in_sample_fallbacks"] == 0
    assert row["in_sample_share"] == round(expected / len(USERS), 4)
    assert {r["route_pin"]: r["interleaved"] for r in fleet.query("step1_legacy_routes")}["B"] == 0


def test_step4_raised_rate_keeps_the_sample_and_the_b_route_can_go(fleet: Fleet) -> None:
    """After raising to 0.5 with clients moved off /b/recommend: no B row, a larger sample."""
    fleet.step(sampling_rate="0.05", mode="INTERLEAVE")
    fleet.traffic("/recommend", USERS[:60])
    before = {r["user_id"] for r in _interleaved_users(fleet)}
    fleet.step(sampling_rate="0.5")
    fleet.traffic("/recommend", USERS[:60])
    fleet.traffic("/a/recommend", USERS[:5])
    rows = {r["route"]: r for r in fleet.query("step4_route_traffic")}
    assert set(rows) == {"A", "unified"}
    assert rows["unified"]["interleaved"] == in_sample(USERS[:60], 0.5)
    after = {r["user_id"] for r in _interleaved_users(fleet)}
    assert before and before <= after  # raising the rate only adds users


def test_step5_no_request_arrives_pinned(fleet: Fleet) -> None:
    """With only GET /recommend left in API Gateway, no line is pinned."""
    fleet.step(sampling_rate="0.5", mode="INTERLEAVE")
    fleet.traffic("/recommend", USERS[:40])
    (row,) = fleet.query("step5_no_split")
    assert row["lines"] == 40 and row["pinned_lines"] == 0
    assert row["interleaved"] == in_sample(USERS[:40], 0.5) and row["fallbacks"] == 0


def test_rollback_kill_switch_serves_a_on_every_route(fleet: Fleet) -> None:
    """mode=A at any step: one row (A, A), whatever the routes and their pins."""
    fleet.step(sampling_rate="1.0", mode="INTERLEAVE")
    fleet.traffic("/recommend", USERS[:10])
    fleet.step(mode="A")
    for path in ("/recommend", "/a/recommend", "/b/recommend"):
        fleet.traffic(path, USERS[:10])
    assert fleet.query("kill_switch") == [{"mode": "A", "served": "A", "lines": 30}]


def _interleaved_users(fleet: Fleet) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in fleet.log.read_text().splitlines()]
    return [line for line in lines if line["ts"] >= fleet.since and line["served"] == "interleaved"]


@pytest.mark.parametrize("path", sorted(p.name for p in QUERIES.glob("*.sql") if "duckdb" not in p.name))
def test_queries_and_athena_table_parse_as_athena_sql(path: str) -> None:
    """The same files are valid Athena (Trino) SQL: sqlglot parses each as one statement."""
    text = (QUERIES / path).read_text()
    for placeholder, value in {
        "{database}": "reco",
        "{location}": "s3://b/rankings/",
        "{first_day}": "2026/11/01",
    }.items():
        text = text.replace(placeholder, value)
    assert len(sqlglot.parse(text, read="athena", error_level=sqlglot.ErrorLevel.RAISE)) == 1


def test_the_ops_table_reads_the_objects_as_the_analysis_table_does() -> None:
    """ranking_ops_athena.sql keeps the location and dt projection of athena_ddl()'s table."""
    fill = {"database": "reco", "location": "s3://bucket/logs/", "first_day": "2026/11/29"}
    sample = (QUERIES / "ranking_ops_athena.sql").read_text()
    for name, value in fill.items():
        sample = sample.replace(f"{{{name}}}", value)
    package = athena_ddl(table="ranking_log", **fill)[0]

    def storage(ddl: str) -> str:
        return ddl[ddl.index("\nLOCATION ") :].strip().rstrip(";")

    assert storage(sample) == storage(package)
    assert "PARTITIONED BY (dt string)" in sample and "PARTITIONED BY (dt string)" in package

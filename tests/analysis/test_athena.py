"""The Athena engine against moto's server over HTTP: lifecycle, cleanup, and the exact SQL it sends.

moto does not run queries. For the equivalence test, a hook on the client runs each submitted
statement on DuckDB (over the same logs) just before it goes out, and queues DuckDB's answer in
moto's results API, so the engine reads real Athena-shaped results over HTTP.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
import sqlglot

from interleave_sdk.analysis.athena import AthenaEngine, Backoff, FeedbackInPlace
from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.errors import AnalysisInputError, AthenaQueryError

from .athena_stand_in import (
    BUCKET,
    OUTPUT,
    REGION,
    DuckDBAthena,
    FakeClock,
    Recorder,
    engine_for,
    in_place,
    left_in_bucket,
    post,
)
from .two_experiments import two_experiment_logs

SINCE, UNTIL = "2026-11-24", "2026-11-26T06:00:00Z"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pd.DataFrame]:
    return two_experiment_logs(tmp_path_factory.mktemp("logs"))


# -- the tests ----------------------------------------------------------------------------------


def test_submitted_sql_on_duckdb_gives_the_duckdb_engines_outcomes(aws, logs, tmp_path):
    """The statements the engine sends, run as sent on DuckDB, give `--engine duckdb`'s result."""
    pattern, feedback = logs
    clock = FakeClock()
    recorder = Recorder(aws["athena"])
    stand_in = DuckDBAthena(aws, pattern, tmp_path)
    stand_in.hook(aws["athena"])
    filters = {"experiment": "home", "since": SINCE, "until": UNTIL}
    got = analyze(None, in_place(aws, feedback), engine=engine_for(aws, clock), **filters)
    expected = analyze(pattern, feedback, engine="duckdb", **filters)

    pd.testing.assert_frame_equal(got.outcomes, expected.outcomes)
    pd.testing.assert_frame_equal(got.events, expected.events)
    pd.testing.assert_frame_equal(got.clicks_by_position, expected.clicks_by_position)
    assert got.matching == expected.matching
    assert got.verdict == expected.verdict
    assert got.verdict.impressions > 50  # a real comparison, not two empty results
    for key in ("invalid_rankings", "duplicate_rankings", "unknown_ranking_id", "ignored_kind"):
        assert got.data_quality[key] == expected.data_quality[key], key
    assert len(recorder.statements) >= 11


def test_submitted_sql_parses_as_trino_and_prunes_by_day(aws, logs, tmp_path):
    """Every statement parses as Trino; the log is read with dt and experiment conditions."""
    pattern, feedback = logs
    recorder = Recorder(aws["athena"])
    DuckDBAthena(aws, pattern, tmp_path).hook(aws["athena"])
    engine = engine_for(aws, FakeClock())
    analyze(None, in_place(aws, feedback), engine=engine, experiment="home", since=SINCE, until=UNTIL)
    for statement in recorder.statements:
        unload = re.match(r"^UNLOAD \((.*)\) TO 's3://[^']+' WITH \(.*\)$", statement, re.S)
        query = unload.group(1) if unload else statement  # sqlglot has no UNLOAD; its query parses
        assert len(sqlglot.parse(query, read="trino")) == 1, statement[:80]
    (reads_log,) = [s for s in recorder.statements if "db.log_log" in s]
    # since minus the hour of delivery lag; until plus the 24 h window plus the lag.
    assert "dt >= '2026/11/23'" in reads_log and "dt <= '2026/11/27'" in reads_log
    assert "experiment = 'home'" in reads_log
    assert reads_log.startswith("CREATE TABLE db.log_tmp_")


def test_run_leaves_no_tables_and_no_objects(aws, logs, tmp_path):
    """After a run, every temporary table was dropped and the run's S3 prefix is empty."""
    pattern, feedback = logs
    recorder = Recorder(aws["athena"])
    DuckDBAthena(aws, pattern, tmp_path).hook(aws["athena"])
    aws["s3"].put_object(Bucket=BUCKET, Key="athena/keep-me.txt", Body=b"not ours")
    analyze(None, in_place(aws, feedback), engine=engine_for(aws, FakeClock()), since=SINCE)
    created = {
        m.group(1)
        for s in recorder.statements
        for m in [re.match(r"CREATE (?:EXTERNAL )?TABLE (\S+)", s)]
        if m
    }
    dropped = {s.split()[-1] for s in recorder.statements if s.startswith("DROP TABLE IF EXISTS")}
    assert created and created == dropped
    assert left_in_bucket(aws) == ["athena/keep-me.txt", "feedback-store/part-0.json"]


def test_polls_with_backoff_until_the_query_succeeds(aws):
    """A query still queued/running is polled again after growing delays, then succeeds."""
    post(
        f"{aws['url']}/moto-api/state-manager/set-transition",
        {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 3}},
    )
    clock = FakeClock()
    engine = engine_for(aws, clock, backoff=Backoff(first=0.5, factor=2.0, cap=3.0))
    query_id = engine.execute("SELECT 1", OUTPUT + "results/")
    state = aws["athena"].get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert state["Status"]["State"] == "SUCCEEDED"
    assert clock.sleeps[:4] == [0.5, 1.0, 2.0, 3.0]
    assert len(clock.sleeps) >= 4


def force_state(client: Any, recorder: Recorder, prefix: str, status: dict[str, str]) -> None:
    """Make Athena report ``status`` for the statements starting with ``prefix``."""

    def rewrite(parsed: dict[str, Any], **_: Any) -> None:
        execution = parsed.get("QueryExecution", {})
        if recorder.ids.get(execution.get("QueryExecutionId", ""), "").startswith(prefix):
            execution["Status"] = dict(status)

    client.meta.events.register("after-call.athena.GetQueryExecution", rewrite)


def test_a_failed_query_raises_its_reason_and_still_cleans_up(aws, logs):
    """FAILED: the error names the query and Athena's reason; created tables and objects go."""
    _pattern, feedback = logs
    recorder = Recorder(aws["athena"])
    force_state(
        aws["athena"],
        recorder,
        "CREATE TABLE",
        {"State": "FAILED", "StateChangeReason": "SYNTAX_ERROR: line 1:1"},
    )
    with pytest.raises(AthenaQueryError, match="FAILED: SYNTAX_ERROR") as caught:
        analyze(None, in_place(aws, feedback), engine=engine_for(aws, FakeClock()), since=SINCE)
    assert caught.value.query_id in recorder.ids
    dropped = [s for s in recorder.statements if s.startswith("DROP TABLE IF EXISTS")]
    assert len(dropped) == 2  # the feedback table and the CTAS that failed
    assert left_in_bucket(aws) == ["feedback-store/part-0.json"]


def test_a_query_past_its_timeout_is_stopped_and_cleaned_up(aws, logs):
    """Still RUNNING at the deadline: stopped (CANCELLED in Athena), error raised, cleanup done."""
    _pattern, feedback = logs
    recorder = Recorder(aws["athena"])
    force_state(aws["athena"], recorder, "CREATE TABLE", {"State": "RUNNING"})
    clock = FakeClock()
    engine = engine_for(aws, clock, timeout_seconds=30.0)
    with pytest.raises(AthenaQueryError, match="TIMED_OUT") as caught:
        analyze(None, in_place(aws, feedback), engine=engine)
    assert sum(clock.sleeps) == pytest.approx(30.0)
    plain = boto3.client("athena", region_name=REGION, endpoint_url=aws["url"])
    stopped = plain.get_query_execution(QueryExecutionId=caught.value.query_id)
    assert stopped["QueryExecution"]["Status"]["State"] == "CANCELLED"
    assert sum(s.startswith("DROP TABLE IF EXISTS") for s in recorder.statements) == 2
    assert left_in_bucket(aws) == ["feedback-store/part-0.json"]


def test_engine_refuses_files_and_bad_settings(aws):
    """Exposure files, a non-S3 output and unsafe names are refused with the fix named."""
    with pytest.raises(AnalysisInputError, match="s3://"):
        AthenaEngine(database="db", table="log", output="/tmp/out")
    with pytest.raises(AnalysisInputError, match="letters, digits"):
        AthenaEngine(database="db; DROP", table="log", output=OUTPUT)
    engine = engine_for(aws, FakeClock())
    with pytest.raises(AnalysisInputError, match="not files"):
        analyze("some.jsonl", pd.DataFrame(columns=["user_id", "item_id", "ts", "kind"]), engine=engine)
    with pytest.raises(AnalysisInputError, match="AthenaEngine"):
        analyze(None, pd.DataFrame(columns=["user_id", "item_id", "ts", "kind"]), engine="athena")


class PagedClient:
    """A stub that returns a result in pages of two rows, to check the engine follows NextToken."""

    def __init__(self) -> None:
        self.pages = [
            (["n", "flag", "at"], None),
            (["1", "true", "2026-11-23 10:00:00.000"], None),
            (["2", None, None], None),
            (["3", "false", "2026-11-23 10:00:01.500"], None),
        ]

    def get_query_results(
        self, QueryExecutionId: str, MaxResults: int, NextToken: str | None = None
    ) -> dict[str, Any]:
        start = int(NextToken or 0)
        chunk = self.pages[start : start + 2]
        page: dict[str, Any] = {
            "ResultSet": {
                "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r, _ in chunk],
                "ResultSetMetadata": {
                    "ColumnInfo": [
                        {"Name": "n", "Type": "bigint"},
                        {"Name": "flag", "Type": "boolean"},
                        {"Name": "at", "Type": "timestamp"},
                    ]
                },
            }
        }
        if start + 2 < len(self.pages):
            page["NextToken"] = str(start + 2)
        return page


def test_results_follow_pages_and_keep_nulls_and_types():
    """Every page is read, the header row dropped once, NULLs kept, values typed."""
    engine = AthenaEngine(database="db", table="log", output=OUTPUT, client=PagedClient())
    frame = engine.results("q")
    assert frame["n"].tolist() == [1, 2, 3]
    assert frame["flag"].tolist() == [True, None, False]
    assert frame["at"].isna().tolist() == [False, True, False]
    assert frame["at"].iloc[2] == pd.Timestamp("2026-11-23 10:00:01.500")


def test_setup_sample_creates_the_table_and_views_over_http(aws, tmp_path):
    """samples/athena_setup.py runs athena_ddl()'s four statements, in order, one per query."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "AWS_ENDPOINT_URL": aws["url"], "AWS_REGION": REGION}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            str(root / "samples" / "athena_setup.py"),
            "analytics",
            "ranking_log",
            f"s3://{BUCKET}/rankings/",
            OUTPUT,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=root,
    )
    ids = done.stdout.split()
    sent = [aws["athena"].get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]
    assert len(sent) == 4
    assert sent[0].startswith("CREATE EXTERNAL TABLE IF NOT EXISTS analytics.ranking_log (")
    assert [s.split(" AS")[0] for s in sent[1:]] == [
        f"CREATE OR REPLACE VIEW analytics.ranking_log_{name}"
        for name in ("log", "rankings", "exposure_items")
    ]


def test_an_unreachable_endpoint_is_an_analysis_error_not_a_traceback(tmp_path):
    """Connection refused: AnalysisError naming the AWS call (the CLI then exits 1 with it)."""
    from botocore.config import Config

    from interleave_sdk.errors import AnalysisError

    config = Config(retries={"max_attempts": 1}, connect_timeout=1)

    def refused(service: str) -> Any:  # a client whose every call meets a closed port
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url="http://127.0.0.1:9",
            config=config,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )

    engine = AthenaEngine(
        database="db",
        table="log",
        output=OUTPUT,
        client=refused("athena"),
        s3=refused("s3"),
    )
    feedback = FeedbackInPlace(location=f"s3://{BUCKET}/feedback/")
    with pytest.raises(AnalysisError, match="StartQueryExecution failed"):
        analyze(None, feedback, engine=engine)


def test_region_with_both_clients_given_is_refused():
    """--region has an effect only on clients the engine builds: with both passed in it is refused."""
    client = boto3.client("athena", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    with pytest.raises(AnalysisInputError, match="region only applies"):
        AthenaEngine(database="db", table="log", output=OUTPUT, client=client, s3=s3, region="eu-west-1")

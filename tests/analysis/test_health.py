"""The health section: each check says when the data behind a verdict are off, and only then."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from interleave_sdk import StaticConfig, interleaved
from interleave_sdk.analysis.pipeline import analyze
from interleave_sdk.analysis.report import REPORT_FILE, format_table, write_report
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.testing import CapturingSink

from ..conftest import ROOT, frame

START = datetime(2026, 11, 23, tzinfo=timezone.utc)
CHECKS = [
    "first_pick_balance",
    "feedback_coverage",
    "fallback_share",
    "exhausted_share",
    "duplicate_rankings",
    "unknown_schema",
]


class StepClock:
    """Wall time that advances one minute per request, so exposures are ordered; the monotonic
    clock stands still, so no deadline passes."""

    def __init__(self) -> None:
        self.ticks = 0

    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        self.ticks += 1
        return START + timedelta(minutes=self.ticks)


def served(n: int = 400, users: int = 200, *, b_fails_for: int = 0, b_items: int = 6) -> list[dict]:
    """Lines the real decorator wrote for ``n`` requests; B raises for users below ``b_fails_for``."""
    sink = CapturingSink()
    catalogue = [f"v{i}" for i in range(30)]

    def rank_b(user_id: Any, context: Any = None) -> pd.DataFrame:
        if int(user_id[1:]) < b_fails_for:
            raise RuntimeError("B's store is down for this shard")
        rng = random.Random(f"B{user_id}{context}")
        return frame(rng.sample(catalogue, b_items), "B")

    @interleaved(
        rankers={"B": rank_b},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, timeout_ms=30_000),
        sink=sink,
        clock=StepClock(),
        experiment="health",
    )
    def recommend(user_id: Any, context: Any = None) -> pd.DataFrame:
        rng = random.Random(f"A{user_id}{context}")
        return frame(rng.sample(catalogue, 6), "A")

    for n_request in range(n):
        recommend(f"u{n_request % users}", n_request)
    return sink.records


def clicks(records: list[dict], *, wrong_ids: float = 0.0, seed: int = 1) -> pd.DataFrame:
    """One click per interleaved line on a uniformly drawn item, by ranking id; a share of them
    carry a ranking id that no line has."""
    rng = random.Random(seed)
    rows = []
    for line in records:
        if line["served"] != "interleaved":
            continue
        item = rng.choice(line["items"])
        shown = datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
        wrong = rng.random() < wrong_ids
        rows.append(
            {
                "user_id": line["user_id"],
                "item_id": item["item_id"],
                "ts": (shown + timedelta(seconds=5)).isoformat(),
                "kind": "click",
                "ranking_id": f"lost{rng.randrange(10**9)}" if wrong else line["ranking_id"],
            }
        )
    return pd.DataFrame(rows)


def health_of(tmp_path: Path, records: list[dict], feedback: pd.DataFrame, **kw: Any) -> dict:
    log = write_json_lines(tmp_path / "log.jsonl", records)
    result = analyze(str(log), feedback, n_boot=20, series_points=0, **kw)
    return {check.name: check for check in result.health}


@pytest.fixture(scope="module")
def healthy() -> list[dict]:
    return served()


def test_health_is_all_ok_on_healthy_simulated_data(tmp_path, healthy):
    """Real decorator lines, uniform clicks by ranking id: every check is ok, in a fixed order."""
    checks = health_of(tmp_path, healthy, clicks(healthy))
    assert list(checks) == CHECKS
    assert {name: c.status for name, c in checks.items()} == dict.fromkeys(CHECKS, "ok")
    assert checks["feedback_coverage"].value == 1.0
    assert checks["exhausted_share"].value == 0.0  # measured: the lines log both arms' lists
    assert checks["fallback_share"].value == 0.0


def test_feedback_coverage_warns_when_half_the_clicks_carry_wrong_ids(tmp_path, healthy):
    """Half the clicks name rankings nobody logged: coverage near 50 %, a warning that says so."""
    check = health_of(tmp_path, healthy, clicks(healthy, wrong_ids=0.5))["feedback_coverage"]
    assert check.status == "warn"
    assert 0.4 < check.value < 0.6
    assert "unknown_ranking_id" in check.message


def test_first_pick_balance_warns_when_one_arm_always_drafts_first(tmp_path, healthy):
    """Lines rewritten so that A always drafts first: the binomial test flags the sampler."""
    tilted = json.loads(json.dumps(healthy))
    for line in tilted:
        if line["served"] == "interleaved":
            teams = [item["source_ranker"] for item in line["items"]]
            if teams[0] == "B":  # swap the teams: same slots, A first
                for item in line["items"]:
                    item["source_ranker"] = "A" if item["source_ranker"] == "B" else "B"
    check = health_of(tmp_path, tilted, clicks(tilted))["first_pick_balance"]
    assert check.status == "warn"
    assert check.value == 1.0


def test_fallbacks_on_a_fifth_of_the_users_fail_and_are_named_by_arm_and_reason(tmp_path):
    """B raising for a fifth of the users: a failing share, B/arm_error, concentrated on users."""
    records = served(users=100, b_fails_for=20)
    check = health_of(tmp_path, records, clicks(records))["fallback_share"]
    assert check.status == "fail"
    assert check.value == pytest.approx(0.2)
    assert list(check.detail["by_arm_reason"]) == ["B/arm_error"]
    assert check.detail["users_with_fallback"] == 20
    # Four requests per user: random failures at 20 % would reach 100 (1 - 0.8^4) = 59 users.
    assert check.detail["users_expected_if_random"] == pytest.approx(59.04)
    assert "selection bias" in check.message


def test_exhausted_share_counts_rankings_where_an_arm_ran_short(tmp_path):
    """B returns 3 items for k = 6 on every request: every ranking had a short arm, B."""
    records = served(n=100, b_items=3)
    check = health_of(tmp_path, records, clicks(records))["exhausted_share"]
    assert check.status == "fail"
    assert check.value == 1.0
    assert check.detail["by_arm"] == {"B": 1.0}


def test_duplicate_rankings_warn_when_many_lines_repeat_an_id(tmp_path, healthy):
    """One line in twenty delivered twice: a share above 1 % warns."""
    doubled = healthy + healthy[::20]
    check = health_of(tmp_path, doubled, clicks(healthy))["duplicate_rankings"]
    assert check.status == "warn"
    assert check.value == pytest.approx(20 / 420)


def test_health_comes_first_in_the_json_table_and_report(tmp_path, healthy):
    """The JSON's first key, the table's first block and the report's first section."""
    log = write_json_lines(tmp_path / "log.jsonl", healthy)
    result = analyze(str(log), clicks(healthy), n_boot=20, series_points=5)
    payload = result.as_dict()
    assert next(iter(payload)) == "health"
    assert [c["name"] for c in payload["health"]] == CHECKS
    assert set(payload["health"][0]) >= {"name", "status", "value", "threshold", "message"}
    table = format_table(result.verdict, health=result.health, sequential=result.sequential)
    assert table.splitlines()[0] == "Health"
    assert table.splitlines()[1].split()[:2] == ["first_pick_balance", "OK"]
    report = write_report(result, tmp_path / "report").read_text()
    assert report.index("## Health") < report.index("| statistic |") < report.index("## Over time")
    assert (tmp_path / "report" / REPORT_FILE).exists()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interleave_sdk", "analyze", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_strict_exits_3_only_when_a_check_fails(tmp_path, healthy):
    """`analyze --strict` exits 3 on a failed check (after printing), 0 on healthy data."""
    good = write_json_lines(tmp_path / "good.jsonl", healthy)
    clicks(healthy).to_csv(tmp_path / "fb.csv", index=False)
    future = [dict(line, schema_version=2) if n % 2 else line for n, line in enumerate(healthy)]
    bad = write_json_lines(tmp_path / "bad.jsonl", future)
    common = ["--feedback", str(tmp_path / "fb.csv"), "--n-boot", "20"]

    ok = run_cli("--exposures", str(good), *common, "--strict")
    failed = run_cli("--exposures", str(bad), *common, "--strict")
    lenient = run_cli("--exposures", str(bad), *common)

    assert ok.returncode == 0, ok.stderr
    assert failed.returncode == 3, failed.stderr
    assert "unknown_schema" in failed.stderr and failed.stdout.startswith("Health")
    assert lenient.returncode == 0

"""``interleave-sdk analyze`` end to end: the real pipeline, statistics and report behind the CLI."""

from __future__ import annotations

import json
import math

import pytest

from interleave_sdk.analysis.report import PLOT_FILES, REPORT_FILE
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.cli import main

from .conftest import event, events, rec

#: Item a is drafted by A, item b by B; the arms disagree on both, so both slots are contested.
ITEMS = [("a", "A", 1, 2), ("b", "B", 2, 1)]
#: Users whose one impression A wins, B wins, or ties (a click on each team's item).
A_USERS, B_USERS, TIE_USERS = 24, 6, 5


@pytest.fixture
def inputs(tmp_path):
    """35 users, one impression each: 24 click A's item, 6 click B's, 5 click both (by id)."""
    records, rows = [], []
    for n in range(A_USERS + B_USERS + TIE_USERS):
        rid, user = f"r{n}", f"u{n}"
        records.append(rec(rid, user, n, ITEMS))
        clicked = "a" if n < A_USERS else "b" if n < A_USERS + B_USERS else "ab"
        rows += [event(user, item, n + 1, rid=rid) for item in clicked]
    rows.append(event("u0", "zzz", 2))  # shown to nobody: unmatched
    log = write_json_lines(tmp_path / "log.jsonl", records)
    with log.open("ab") as handle:
        handle.write(b"{not json\n")
    events(*rows).to_csv(tmp_path / "fb.csv", index=False)
    return str(log), str(tmp_path / "fb.csv")


def sign_test_p(wins: int, losses: int) -> float:
    """Exact two-sided binomial p-value against 1/2, from the definition."""
    n, k = wins + losses, max(wins, losses)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n)


def test_json_output_is_the_real_verdict(inputs, capsys):
    """--format json prints the statistics module's verdict, computed by hand here."""
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["winner"] == "A"
    assert (payload["wins_a"], payload["wins_b"], payload["ties"]) == (24, 6, 5)
    assert (payload["impressions"], payload["users"]) == (35, 35)
    assert payload["p_value"] == pytest.approx(sign_test_p(24, 6), rel=1e-9)
    assert payload["delta_ab"] == pytest.approx((24 + 5 / 2) / 35 - 0.5)
    assert payload["ci_low"] < payload["delta_ab"] < payload["ci_high"]
    assert payload["matching"] == {"by_ranking_id": 40, "by_window": 0, "unmatched": 1}
    assert payload["data_quality"]["malformed_lines"] == 1


def test_json_output_follows_unit_and_seed(inputs, capsys):
    """--unit impression and --seed reach the verdict; the same seed gives the same interval."""
    log, fb = inputs
    argv = ["analyze", "--exposures", log, "--feedback", fb, "--format", "json"]
    outs = []
    for seed in ("3", "3", "4"):
        assert main([*argv, "--unit", "impression", "--seed", seed, "--n-boot", "200"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0]["unit"] == "impression" and outs[0]["seed"] == 3
    assert outs[0]["parameters"]["unit"] == "impression"
    assert (outs[0]["ci_low"], outs[0]["ci_high"]) == (outs[1]["ci_low"], outs[1]["ci_high"])
    assert outs[2]["seed"] == 4


def test_table_is_the_report_table(inputs, capsys):
    """The default output is report.format_table: winner, ΔAB with CI, p-value, counts."""
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Health"  # the health checks come first
    start = lines.index("") + 1
    assert lines[start].startswith("Interleaving verdict (unit: user")
    rows = {line.split("  ")[1].strip(): line for line in lines[start:] if line.startswith("  ")}
    assert rows["winner"].split()[-1] == "A"
    assert "+0.2571" in rows["ΔAB"] and "CI" in rows["ΔAB"]
    assert rows["wins A / B / ties (users)"].endswith("24 / 6 / 5")
    assert "Feedback matching" in lines and "Data quality" in lines
    assert any(line.split() == ["unmatched", "1"] for line in lines)


def test_no_progress_bar_when_stderr_is_not_a_terminal(inputs, capsys):
    """The progress bar stays off when stderr is not a TTY: a successful run writes nothing there."""
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb]) == 0
    assert capsys.readouterr().err == ""


def test_report_directory_gets_markdown_and_plots(inputs, tmp_path, capsys):
    """--report DIR writes report.md and its three PNGs, and the table is still printed."""
    log, fb = inputs
    out = tmp_path / "report"
    assert main(["analyze", "--exposures", log, "--feedback", fb, "--report", str(out)]) == 0
    markdown = (out / REPORT_FILE).read_text(encoding="utf-8")
    assert "Users prefer **A**" in markdown
    for name in PLOT_FILES.values():
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
        assert f"]({name})" in markdown
    assert "\nInterleaving verdict" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--credit", "first_click"],
        ["--unit", "session"],
        ["--window-hours", "-1"],
        ["--positive", "click", "--negative", "click"],
        ["--feedback-query", "SELECT 1"],
    ],
    ids=["credit", "unit", "window", "kinds", "query-without-dsn"],
)
def test_bad_arguments_exit_2(inputs, extra, capsys):
    """Unusable parameters exit 2 with a message, before any statistics run."""
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb, *extra]) == 2
    assert capsys.readouterr().err.strip()


def test_missing_file_exits_2_with_clear_message(tmp_path, capsys):
    """A missing exposures file is a bad argument, named in the message."""
    fb = tmp_path / "fb.csv"
    events().to_csv(fb, index=False)
    code = main(["analyze", "--exposures", str(tmp_path / "nope.jsonl"), "--feedback", str(fb)])
    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_postgres_dsn_requires_a_query(inputs, capsys):
    """A postgresql:// feedback source without --feedback-query is a bad argument."""
    log, _ = inputs
    assert main(["analyze", "--exposures", log, "--feedback", "postgresql://localhost/x"]) == 2
    assert "--feedback-query" in capsys.readouterr().err


def test_report_failure_exits_1(inputs, tmp_path, capsys):
    """A failure after the inputs were accepted (the report path is a file) exits 1."""
    log, fb = inputs
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a directory")
    assert main(["analyze", "--exposures", log, "--feedback", fb, "--report", str(blocker)]) == 1
    assert "taken" in capsys.readouterr().err


# -- filters, inputs, engines ---------------------------------------------------------------


def analyze_parser():
    from interleave_sdk.cli import build_parser

    (sub,) = [a for a in build_parser()._actions if a.dest == "command"]
    return sub.choices["analyze"]


def test_every_analyze_option_has_help_text():
    """--help explains every option of analyze (none is left bare)."""
    bare = [
        action.option_strings
        for action in analyze_parser()._actions
        if action.option_strings and not action.help
    ]
    assert bare == []


@pytest.fixture(scope="module")
def two_logs(tmp_path_factory):
    from .two_experiments import two_experiment_logs

    folder = tmp_path_factory.mktemp("cli-two")
    pattern, feedback = two_experiment_logs(folder)
    feedback.rename(columns={"ts": "timestamp", "user_id": "uid"}).to_csv(folder / "renamed.csv", index=False)
    return pattern, str(folder / "renamed.csv")


def test_experiment_since_and_columns_reach_the_analysis(two_logs, capsys):
    """--experiment/--since select what pandas counts; --columns reads renamed feedback."""
    from .two_experiments import independent_counts

    pattern, renamed = two_logs
    args = ["analyze", "--exposures", pattern, "--feedback", renamed, "--format", "json"]
    args += ["--columns", "ts=timestamp,user_id=uid", "--n-boot", "10"]
    args += ["--experiment", "home", "--since", "2026-11-25"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    expected = independent_counts(pattern, "home", "2026-11-25")
    assert payload["impressions_total"] == expected["impressions"]
    assert payload["users_total"] == expected["users"]
    assert payload["parameters"]["experiment"] == "home"
    assert payload["parameters"]["since"] == "2026-11-25T00:00:00+00:00"
    assert payload["matching"]["by_ranking_id"] > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--columns", "when=timestamp"], "valid targets"),
        (["--columns", "ts=stamp"], "no column"),
        (["--since", "yesterday"], "ISO date"),
        (["--since", "2026-11-25", "--until", "2026-11-24"], "before until"),
        (["--athena-table", "log"], "only apply with --engine athena"),
        (["--engine", "athena"], "drop --exposures"),
    ],
)
def test_bad_filters_and_engine_options_exit_2(two_logs, extra, message, capsys):
    """Each misuse exits 2 with a message naming the fix."""
    pattern, renamed = two_logs
    args = ["analyze", "--exposures", pattern, "--feedback", renamed, *extra]
    if "--columns" not in extra:
        args += ["--columns", "ts=timestamp,user_id=uid"]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_athena_engine_names_its_missing_options(two_logs, capsys):
    """--engine athena without database, table or output says which are missing."""
    _, renamed = two_logs
    assert main(["analyze", "--engine", "athena", "--feedback", renamed]) == 2
    err = capsys.readouterr().err
    assert "--athena-database, --athena-table, --athena-output" in err


def test_a_missing_duckdb_names_the_extra(two_logs, monkeypatch, capsys):
    """Without DuckDB installed, analyze exits 2 and says which extra to install."""
    import sys

    pattern, renamed = two_logs
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb now fails
    args = ["analyze", "--exposures", pattern, "--feedback", renamed]
    assert main([*args, "--columns", "ts=timestamp,user_id=uid"]) == 2
    assert "interleave-sdk[analysis]" in capsys.readouterr().err


def test_user_id_salt_joins_raw_feedback_to_hashed_logs(tmp_path, capsys):
    """Logs with hashed user ids match raw-id feedback by window only when the salt is given."""
    from interleave_sdk.observability.processors import check_salt, hash_user_id

    key = check_salt("pepper-salt-for-tests")
    records, rows = [], []
    for n in range(12):
        records.append(rec(f"r{n}", hash_user_id(f"u{n}", key), n, ITEMS))
        rows.append(event(f"u{n}", "a", n + 1))  # no ranking id: joined by user and window
    log = write_json_lines(tmp_path / "hashed.jsonl", records)
    events(*rows).to_csv(tmp_path / "raw.csv", index=False)
    base = ["analyze", "--exposures", str(log), "--feedback", str(tmp_path / "raw.csv")]
    base += ["--format", "json", "--n-boot", "10"]
    assert main([*base, "--user-id-salt", "pepper-salt-for-tests"]) == 0
    assert json.loads(capsys.readouterr().out)["matching"]["by_window"] == 12
    assert main(base) == 0
    assert json.loads(capsys.readouterr().out)["matching"]["by_window"] == 0


def test_engine_athena_from_the_command_line_gives_the_duckdb_verdict(aws, tmp_path, monkeypatch, capsys):
    """--engine athena with its options (over moto HTTP) prints the verdict --engine duckdb prints."""
    import boto3

    from .athena_stand_in import OUTPUT, REGION, DuckDBAthena, in_place
    from .two_experiments import two_experiment_logs

    pattern, feedback = two_experiment_logs(tmp_path)
    feedback.to_csv(tmp_path / "fb.csv", index=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws["url"])
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.Session(region_name=REGION))
    DuckDBAthena(aws, pattern, tmp_path).hook(boto3.DEFAULT_SESSION)
    place = in_place(aws, feedback, "csv").location
    common = ["--format", "json", "--experiment", "search", "--since", "2026-11-24", "--until", "2026-11-26"]
    athena = ["analyze", "--feedback", place, "--feedback-format", "csv", "--engine", "athena"]
    athena += ["--athena-database", "db", "--athena-table", "log", "--athena-output", OUTPUT]
    athena += ["--athena-workgroup", "primary", "--region", REGION]
    assert main([*athena, *common]) == 0
    got = json.loads(capsys.readouterr().out)
    assert main(["analyze", "--feedback", str(tmp_path / "fb.csv"), *common, "--exposures", pattern]) == 0
    expected = json.loads(capsys.readouterr().out)
    verdict = [k for k in expected if k not in ("data_quality", "parameters", "health")]
    # Fallbacks and short arms are tallied from log files; a table is not scanned for them.
    scanned = ("fallback_share", "exhausted_share")
    assert [c for c in got["health"] if c["name"] not in scanned] == [
        c for c in expected["health"] if c["name"] not in scanned
    ]
    assert {k: got[k] for k in verdict} == {k: expected[k] for k in verdict}
    assert got["parameters"]["engine"] == "athena" and got["impressions_total"] > 50


def test_alpha_reaches_both_verdicts_and_the_table_shows_the_sequential_decision(inputs, capsys):
    """--alpha sets the level of the fixed-horizon and the sequential verdict; the table has both."""
    log, fb = inputs
    argv = ["analyze", "--exposures", log, "--feedback", fb]
    assert main([*argv, "--format", "json", "--alpha", "0.01"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["alpha"] == 0.01 and payload["parameters"]["alpha"] == 0.01
    assert payload["sequential"]["decision"] in ("A", "B", "continue")
    assert main([*argv, "--alpha", "0.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "α = 0.01" in lines[lines.index("") + 1]
    decision = next(line for line in lines if "sequential decision" in line).split()
    expected = payload["sequential"]["decision"]
    assert decision[2] == expected and (expected == "continue" or decision[3] == "wins")


def test_format_text_prints_the_table(inputs, capsys):
    """``--format text`` prints the verdict table, the same as the default."""
    log, fb = inputs
    assert main(["analyze", "--exposures", log, "--feedback", fb, "--n-boot", "10"]) == 0
    default = capsys.readouterr().out
    assert main(["analyze", "--exposures", log, "--feedback", fb, "--n-boot", "10", "--format", "text"]) == 0
    assert capsys.readouterr().out == default and "winner" in default.lower()


def test_format_table_is_a_deprecated_alias_of_text(inputs, capsys):
    """The old ``--format table`` prints the same table plus one deprecation note on stderr."""
    log, fb = inputs
    argv = ["analyze", "--exposures", log, "--feedback", fb, "--n-boot", "10", "--format"]
    assert main([*argv, "text"]) == 0
    text = capsys.readouterr().out
    assert main([*argv, "table"]) == 0
    out, err = capsys.readouterr()
    assert out == text
    assert err.strip() == (
        "interleave-sdk analyze: note: --format table is now --format text; the old name will be removed"
    )


def test_report_prints_where_it_wrote(inputs, tmp_path, capsys):
    """``--report DIR`` says on stderr where report.md is; stdout stays the JSON alone."""
    log, fb = inputs
    out = tmp_path / "rep"
    argv = ["analyze", "--exposures", log, "--feedback", fb, "--n-boot", "10", "--format", "json"]
    assert main([*argv, "--report", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    json.loads(stdout)
    assert stderr.strip() == f"interleave-sdk analyze: wrote the report to {out / REPORT_FILE}"
    assert (out / REPORT_FILE).is_file()

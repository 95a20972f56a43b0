"""Every ``interleave-sdk`` failure is one line on stderr with one prefix, naming the fix.

The AWS set-up cases run as an operator runs them: the installed console script in a fresh process,
with an environment that has no AWS settings at all (no region, no credentials, no profile), so
nothing of the test session's own AWS set-up can hide a traceback. Argument errors run in process
(each fresh process pays seconds of imports).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from interleave_sdk.cli import main

from .local_aws import REGION

SCRIPT = str(Path(sys.executable).with_name("interleave-sdk"))


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment without any AWS setting; config files point nowhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INTERLEAVE_SDK_"))}
    nowhere = str(tmp_path / "absent")
    env.update(
        AWS_CONFIG_FILE=nowhere, AWS_SHARED_CREDENTIALS_FILE=nowhere, AWS_EC2_METADATA_DISABLED="true"
    )
    env.update(extra)
    return env


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args],
        capture_output=True,
        text=True,
        env=bare_env(tmp_path, **env),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], command: str) -> str:
    """The single stderr line of a failed run, checked for the common prefix."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"interleave-sdk {command}: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "args", [("config", "show"), ("config", "set", "mode", "A")], ids=["show", "set"]
)
def test_config_without_a_region_is_one_line_naming_the_fix(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """No region anywhere: exit 2 and one line saying to pass --region or set AWS_REGION."""
    result = run(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    line = one_line(result, "config")
    assert "--region" in line and "AWS_REGION" in line
    assert "Traceback" not in result.stderr


def test_config_show_without_credentials_names_the_fix(tmp_path: Path, ssm_url: str) -> None:
    """A region but no credentials: exit 2 and one line naming the credential variables."""
    result = run(tmp_path, "config", "show", "--endpoint-url", ssm_url, AWS_REGION=REGION)
    assert result.returncode == 2, result.stderr
    assert "AWS_ACCESS_KEY_ID" in one_line(result, "config")


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """(exit code, the one stderr line) of ``interleave-sdk args`` run in this process."""
    code = main(list(args))
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"interleave-sdk {args[0]}: error: "), lines[0]
    return code, lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("config", "set", "nope", "1"), "known keys"),
        (("config", "set", "sampling_rate", "2"), "nothing written"),
        (("analyze", "--exposures", "missing.jsonl", "--feedback", "missing.csv"), "no such file"),
        (("simulate", "--arms", "a,b,c"), "exactly two"),
        (("simulate", "--requests", "0"), "--requests must be a positive count"),
    ],
    ids=["config-key", "config-value", "analyze-input", "simulate-arms", "simulate-requests"],
)
def test_bad_arguments_are_one_line_with_the_common_prefix(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str
) -> None:
    """Each command's argument errors: exit 2, one line, ``interleave-sdk <command>: error:``."""
    code, line = in_process(capsys, *args)
    assert code == 2 and needle in line


def test_simulate_with_three_arms_says_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    """``--arms a,b,c`` names the arm count, not the request count, and points to multileaving."""
    _, line = in_process(capsys, "simulate", "--arms", "a,b,c")
    assert "'a,b,c'" in line and "multileaving" in line and "--requests" not in line


def test_top_level_help_does_not_say_two_rankers(capsys: pytest.CaptureFixture[str]) -> None:
    """Multileaving exists, so the description speaks of rankers, two or more."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "two rankers" not in out and "or more" in out


def test_analyze_and_simulate_share_the_format_names(capsys: pytest.CaptureFixture[str]) -> None:
    """Both commands show ``--format {text,json}`` in their help."""
    for command in ("analyze", "simulate"):
        assert main([command, "--help"]) == 0
        assert "{text,json}" in capsys.readouterr().out, command


# -- config set mode: a typo never reaches the fleet ------------------------------------------


def set_mode(tmp_path: Path, ssm_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(
        tmp_path, "config", "set", "mode", *args, "--endpoint-url", ssm_url, "--region", REGION,
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
    )  # fmt: skip


def stored_mode(admin: object) -> str | None:
    found = admin.get_parameters(Names=["/reco/exp/mode"])["Parameters"]  # type: ignore[attr-defined]
    return found[0]["Value"] if found else None


def test_set_mode_refuses_a_name_that_is_no_known_arm(tmp_path: Path, ssm_url: str, admin: object) -> None:
    """``set mode INTERLEAV`` exits 2, writes nothing, and names --arms as the way to confirm."""
    result = set_mode(tmp_path, ssm_url, "INTERLEAV")
    assert result.returncode == 2, result.stderr
    line = one_line(result, "config")
    assert "nothing written" in line and "--arms A,B,INTERLEAV" in line
    assert stored_mode(admin) is None


def test_set_mode_with_confirmed_arm_is_written(tmp_path: Path, ssm_url: str, admin: object) -> None:
    """An arm the operator lists in --arms is written (the console script, as an operator runs it)."""
    result = set_mode(tmp_path, ssm_url, "C", "--arms", "A,B,C")
    assert result.returncode == 0, result.stderr
    assert stored_mode(admin) == "C"


def set_mode_here(ssm_url: str, *args: str) -> int:
    return main(["config", "set", "mode", *args, "--endpoint-url", ssm_url, "--region", REGION])


@pytest.mark.parametrize(
    ("value", "written"),
    [("INTERLEAVE", "INTERLEAVE"), ("interleave", "INTERLEAVE"), ("A", "A"), ("b", "B")],
)
def test_set_mode_accepts_interleave_a_and_b(
    ssm_url: str, admin: object, value: str, written: str
) -> None:
    """INTERLEAVE, A and B (any case the parser accepts) need no --arms."""
    assert set_mode_here(ssm_url, value) == 0
    assert stored_mode(admin) == written


def test_set_mode_refuses_an_arm_missing_from_the_confirmed_list(
    ssm_url: str, admin: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --arms given, only INTERLEAVE and the listed names are accepted; A is not implied."""
    for mode in ("D", "A"):
        code = set_mode_here(ssm_url, mode, "--arms", "B,C")
        assert code == 2 and "--arms B,C" in capsys.readouterr().err
    assert stored_mode(admin) is None


def test_arms_applies_only_to_mode(ssm_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--arms`` on another key is refused rather than ignored."""
    args = ("config", "set", "sampling_rate", "0.5", "--arms", "A,B", "--endpoint-url", ssm_url)
    code, line = in_process(capsys, *args)
    assert code == 2 and "--arms only applies" in line


def test_arms_must_be_arm_names(capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed --arms list is an argument error naming the rule."""
    assert main(["config", "set", "mode", "C", "--arms", "A,,9x"]) == 2
    assert "--arms takes arm names" in capsys.readouterr().err

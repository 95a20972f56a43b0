"""``interleave-sdk config set|show`` against the local SSM endpoint: validate, write, explain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from interleave_sdk.cli import main

from .conftest import REGION, put


def cli(ssm_url: str, *args: str) -> int:
    return main(["config", *args, "--endpoint-url", ssm_url, "--region", REGION])


def stored(admin: Any, key: str) -> dict[str, Any] | None:
    response = admin.get_parameters(Names=[f"/reco/exp/{key}"])
    return response["Parameters"][0] if response["Parameters"] else None


@pytest.mark.parametrize(
    ("key", "value", "written"),
    [
        ("mode", "A", "A"),
        ("mode", "interleave", "INTERLEAVE"),
        ("sampling_rate", "0.25", "0.25"),
        ("parallel_enabled", "0", "false"),
        ("seed_strategy", "User", "user"),
        ("timeout_ms", "250", "250.0"),
    ],
)
def test_set_writes_the_canonical_value(
    ssm_url: str, admin: Any, key: str, value: str, written: str
) -> None:
    """A valid value is written as a String parameter in the form the SDK reads back."""
    assert cli(ssm_url, "set", key, value) == 0
    parameter = stored(admin, key)
    assert parameter is not None
    assert (parameter["Value"], parameter["Type"]) == (written, "String")


def test_set_overwrites_and_bumps_version(ssm_url: str, admin: Any) -> None:
    """Setting an existing key overwrites it; SSM's version counts the writes."""
    assert cli(ssm_url, "set", "mode", "INTERLEAVE") == 0
    assert cli(ssm_url, "set", "mode", "A") == 0
    parameter = stored(admin, "mode")
    assert parameter is not None
    assert (parameter["Value"], parameter["Version"]) == ("A", 2)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("mode", "C D", "expected INTERLEAVE or an arm name"),
        ("sampling_rate", "1.5", "expected a number between 0 and 1"),
        ("sampling_rate", "nan", "expected a number between 0 and 1"),
        ("parallel_enabled", "maybe", "expected a boolean"),
        ("interleave_method", "coin_flip", "one of optimized_inverse_v1, optimized_v1, team_draft_v1"),
        ("seed_strategy", "session", "expected one of user, request"),
        ("timeout_ms", "-1", "expected a positive number of milliseconds"),
        ("colour", "red", "unknown key 'colour'"),
    ],
)
def test_set_invalid_exits_2_and_writes_nothing(
    ssm_url: str,
    admin: Any,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: str,
    message: str,
) -> None:
    """An invalid key or value is refused before any write: exit 2, SSM untouched."""
    put(admin, {"mode": "B"})
    assert cli(ssm_url, "set", key, value) == 2
    assert message in capsys.readouterr().err
    names = admin.get_parameters_by_path(Path="/reco/exp")["Parameters"]
    assert [(p["Name"], p["Value"], p["Version"]) for p in names] == [("/reco/exp/mode", "B", 1)]


def test_set_leaves_other_parameters_alone(ssm_url: str, admin: Any) -> None:
    """Writing a switch never touches the user's own parameters."""
    put(admin, {"pool_size": "200"}, prefix="/reco/candidate")
    assert cli(ssm_url, "set", "mode", "A") == 0
    pool = admin.get_parameter(Name="/reco/candidate/pool_size")["Parameter"]
    assert (pool["Value"], pool["Version"]) == ("200", 1)


def test_set_then_show_round_trip(
    ssm_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``set`` wrote, ``show`` reports as coming from SSM with its version."""
    monkeypatch.delenv("INTERLEAVE_SDK_MODE", raising=False)
    assert cli(ssm_url, "set", "mode", "B") == 0
    assert cli(ssm_url, "set", "sampling_rate", "0.3") == 0
    capsys.readouterr()
    assert cli(ssm_url, "show", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["prefix"] == "/reco/exp"
    assert shown["settings"]["mode"] == {
        "value": "B",
        "source": "ssm",
        "version": 1,
        "ssm_value": "B",
    }
    assert shown["settings"]["sampling_rate"]["value"] == 0.3
    assert shown["settings"]["parallel_enabled"] == {
        "value": True,
        "source": "default",
        "version": None,
        "ssm_value": None,
    }


def test_show_table_marks_env_override(
    ssm_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With INTERLEAVE_SDK_MODE set, show names the override and what SSM holds underneath."""
    assert cli(ssm_url, "set", "mode", "INTERLEAVE") == 0
    monkeypatch.setenv("INTERLEAVE_SDK_MODE", "A")
    capsys.readouterr()
    assert cli(ssm_url, "show") == 0
    lines = capsys.readouterr().out.splitlines()
    mode_line = next(line for line in lines if line.startswith("mode "))
    assert mode_line.split()[:4] == ["mode", "A", "env", "override"]
    assert "SSM has 'INTERLEAVE'" in mode_line


def test_show_with_invalid_stored_value_exits_1(
    ssm_url: str, admin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value already in SSM (written around the CLI) is reported: exit 1 with the reason."""
    put(admin, {"sampling_rate": "lots"})
    assert cli(ssm_url, "show") == 1
    assert "'lots'" in capsys.readouterr().err


def test_config_without_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``interleave-sdk config`` alone prints usage and exits 2."""
    assert main(["config"]) == 2
    assert "show" in capsys.readouterr().err


def test_console_script_round_trip(
    ssm_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed ``interleave-sdk`` command writes what ``config show`` then reads back."""
    monkeypatch.delenv("INTERLEAVE_SDK_MODE", raising=False)
    script = Path(sys.executable).with_name("interleave-sdk")
    wrote = subprocess.run(
        [str(script), "config", "set", "mode", "a", "--endpoint-url", ssm_url, "--region", REGION],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert (wrote.returncode, wrote.stdout.strip()) == (0, "/reco/exp/mode = A (version 1)")
    assert cli(ssm_url, "show", "--json") == 0
    shown = json.loads(capsys.readouterr().out)["settings"]["mode"]
    assert (shown["value"], shown["source"], shown["version"]) == ("A", "ssm", 1)

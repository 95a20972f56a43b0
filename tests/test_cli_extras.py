"""On a core install (no optional extras), the CLI names the extra to install instead of a traceback."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

from interleave_sdk.errors import MissingDependency
from interleave_sdk.extras import EXTRA_OF_MODULE, install_hint

from .conftest import ROOT

#: The CLI with the analysis extra's packages unimportable, as after `pip install interleave-sdk`.
CORE_ONLY = """
import sys
for name in {hidden!r}:
    sys.modules[name] = None
from interleave_sdk.cli import main
raise SystemExit(main(sys.argv[1:]))
"""
ANALYSIS_MODULES = sorted(m for m, extra in EXTRA_OF_MODULE.items() if extra == "analysis")


def core_only(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = CORE_ONLY.format(hidden=ANALYSIS_MODULES)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "--exposures", "log.jsonl", "--feedback", "feedback.csv"),
        ("simulate", "--requests", "10", "--out", "out"),
    ],
    ids=["analyze", "simulate"],
)
def test_a_command_needing_the_analysis_extra_exits_2_naming_it(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    """Exit code 2 and one message with the pip command; no traceback."""
    (tmp_path / "log.jsonl").write_text("")
    (tmp_path / "feedback.csv").write_text("user_id,item_id,ts,kind\n")
    result = core_only(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "pip install 'interleave-sdk[analysis]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_commands_need_no_extra(tmp_path: Path) -> None:
    """The operator's commands work on a core install (here: --help of config set)."""
    result = core_only("config", "set", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "validated" in result.stdout


def test_the_table_covers_every_optional_requirement_in_setup_cfg() -> None:
    """Each package of the analysis, blas and powertools extras has its module in the table."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    extras = parser["options.extras_require"]
    for extra in ("analysis", "blas", "powertools"):
        packages = [
            line.split("[")[0].split(">")[0].split("=")[0].strip()
            for line in extras[extra].split("\n")
            if line.strip()
        ]
        modules = {package.replace("-", "_") for package in packages}
        assert {m for m, e in EXTRA_OF_MODULE.items() if e == extra} == modules, extra


def test_hints_name_the_extra_and_leave_core_errors_alone() -> None:
    """An optional module maps to its extra; MissingDependency names its own; anything else is None."""
    assert install_hint(ModuleNotFoundError(name="duckdb")) == "pip install 'interleave-sdk[analysis]'"
    assert (
        install_hint(ModuleNotFoundError(name="matplotlib.pyplot"))
        == "pip install 'interleave-sdk[analysis]'"
    )
    missing = MissingDependency("threadpoolctl", "limiting BLAS threads", "interleave-sdk[blas]")
    assert install_hint(missing) == "pip install 'interleave-sdk[blas]'"
    assert install_hint(ModuleNotFoundError(name="pandas")) is None

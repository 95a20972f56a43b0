"""Docs stay true: every code block marked as a sample is the sample file, byte for byte."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKED = re.compile(r"<!-- sample: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)```", re.S)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def marked_blocks() -> list[tuple[str, str, str]]:
    return [
        (page.name, m["path"], m["code"])
        for page in PAGES
        for m in MARKED.finditer(page.read_text(encoding="utf-8"))
    ]


def test_docs_have_marked_samples() -> None:
    """The README and the quickstart show real sample files."""
    pages = {page for page, _, _ in marked_blocks()}
    assert {"README.md", "quickstart.md"} <= pages


@pytest.mark.parametrize(("page", "path", "code"), marked_blocks())
def test_marked_block_is_the_sample_file(page: str, path: str, code: str) -> None:
    """A code block under <!-- sample: PATH --> equals PATH's content."""
    assert (ROOT / path).read_text(encoding="utf-8") == code, f"{page} shows a stale copy of {path}"


def test_readme_example_runs() -> None:
    """The README's example prints a log line and a merged frame with source_ranker."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "samples" / "readme_example.py")],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.startswith('{"schema_version":1') and "source_ranker" in out


def test_readme_names_exactly_two_setup_commands() -> None:
    """The set-up section offers make demo and make test, nothing else."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make \w+", setup, re.M)
    assert commands == ["make demo", "make test"]


def test_make_demo_announces_each_stage_from_a_fresh_clone(tmp_path: Path) -> None:
    """``make -n demo`` with no .venv: a progress line before creating, installing and running."""
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", "demo"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stages = [line for line in result.stdout.splitlines() if line.startswith("echo \"make: [")]
    assert [line.split("]")[0][-3:] for line in stages] == ["1/3", "2/3", "3/3"]
    commands = result.stdout
    assert commands.index("[1/3]") < commands.index("-m venv") < commands.index("[2/3]")
    assert commands.index("[2/3]") < commands.index("pip sync") < commands.index("[3/3]")
    assert commands.index("[3/3]") < commands.index("samples/demo.py\n")

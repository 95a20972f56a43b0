"""The package as published: an sdist and a wheel that build from the sources, pass `twine check`
and carry the license, the typing marker and the data files the SDK reads at run time.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from interleave_sdk import __version__

from .conftest import ROOT

#: What a build needs (the files the Lambda sample's Dockerfile copies, plus MANIFEST.in), and
#: the test suite, as in a clone: setuptools would put tests/test*.py in an sdist by default.
SOURCES = (
    "setup.cfg",
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "MANIFEST.in",
    "interleave_sdk",
    "tests",
)
#: Where the README's links to docs/ point, so they work on the package index page too.
DOCS_URL = "https://github.com/interleave-sdk/interleave-sdk/blob/main/"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel built from a clean copy of the sources (the work tree stays untouched)."""
    tree = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, tree / name)
    out = tree / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--sdist",
            "--wheel",
            "--outdir",
            str(out),
            str(tree),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


@pytest.mark.slow
def test_twine_accepts_the_sdist_and_the_wheel(dist: Path) -> None:
    """`twine check --strict` passes on both artifacts (metadata and README render on PyPI)."""
    artifacts = sorted(str(path) for path in dist.iterdir())
    assert [Path(a).name for a in artifacts] == [
        f"interleave_sdk-{__version__}-py3-none-any.whl",
        f"interleave_sdk-{__version__}.tar.gz",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *artifacts],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_wheel_carries_license_types_and_data_files(dist: Path) -> None:
    """LICENSE, py.typed, the log schema and the SQL files are inside the wheel; metadata says MIT."""
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"interleave_sdk-{__version__}.dist-info/METADATA").decode()
    assert f"interleave_sdk-{__version__}.dist-info/licenses/LICENSE" in names
    assert {
        "interleave_sdk/py.typed",
        "interleave_sdk/observability/ranking_log.schema.json",
        "interleave_sdk/analysis/sql/rankings.sql",
    } <= names
    assert "License: MIT" in metadata and "Project-URL: Changelog" in metadata


@pytest.mark.slow
def test_the_sdist_carries_license_and_changelog(dist: Path) -> None:
    """The source archive has LICENSE and CHANGELOG.md next to setup.cfg."""
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {Path(name).name for name in archive.getnames() if name.count("/") == 1}
    assert {"LICENSE", "CHANGELOG.md", "setup.cfg", "README.md"} <= names


def test_license_file_matches_the_metadata() -> None:
    """setup.cfg says MIT and the LICENSE file is the MIT license."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    assert parser["metadata"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.slow
def test_the_sdist_ships_no_part_of_the_test_suite(dist: Path) -> None:
    """No tests/ file in the sdist: a part without its conftest and fixtures could not run."""
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert [name for name in names if "/tests/" in name] == []
    assert any(name.endswith("/interleave_sdk/__init__.py") for name in names)


def test_readme_links_to_docs_are_absolute_and_exist() -> None:
    """Every README link into the repository is an absolute URL (it renders on the package index
    page, where relative links break) naming a file that exists here."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert relative == []
    ours = [t[len(DOCS_URL) :] for t in targets if t.startswith(DOCS_URL)]
    assert ours and all((ROOT / path).is_file() for path in ours), ours

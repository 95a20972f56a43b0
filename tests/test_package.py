"""The package as published: an sdist and a wheel that build from the sources, pass `twine check`
and carry the license, the typing marker and the data files the SDK reads at run time.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from interleave_sdk import __version__

from .conftest import ROOT

#: What a build needs; the same files the Lambda sample's Dockerfile copies, plus MANIFEST.in.
SOURCES = (
    "setup.cfg",
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "MANIFEST.in",
    "interleave_sdk",
)


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

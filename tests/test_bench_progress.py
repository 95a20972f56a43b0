"""``make bench`` says which case runs and how long each took, on stderr, as it goes."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

import benchmarks.__main__ as bench


def test_each_case_is_announced_with_its_rank_and_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two chosen cases: a start line and a done line each, numbered i/n, before the table."""
    ran: list[int] = []

    def case(number: int) -> Any:
        return lambda quick, args: ran.append(number) or {}

    titles = {1: "first thing", 2: "second", 3: "third"}
    fake_cases = {n: (f"{n}_x", title, case(n)) for n, title in titles.items()}
    monkeypatch.setattr(bench, "CASES", fake_cases)
    monkeypatch.setattr(bench, "render", lambda report: "TABLE")
    no_analysis = types.SimpleNamespace(util=types.SimpleNamespace(find_spec=lambda name: None))
    monkeypatch.setattr(bench, "importlib", no_analysis)
    assert bench.main(["--cases", "1,3", "--out", str(tmp_path / "b.json")]) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert ran == [1, 3]
    assert lines[0] == "bench: case 1 (1/2): first thing..."
    assert lines[1].startswith("bench: case 1 (1/2): first thing: done in ") and lines[1].endswith(" s")
    assert lines[2] == "bench: case 3 (2/2): third..."
    assert len(lines) == 4 and out.startswith("TABLE")


def test_the_real_cases_are_numbered_one_to_eight() -> None:
    """The case table keeps the documented numbering and report keys (8: the analysis floor)."""
    assert sorted(bench.CASES) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(key.startswith(f"{n}_") for n, (key, _, _) in bench.CASES.items())

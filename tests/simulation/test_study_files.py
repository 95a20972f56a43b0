"""write_study: a study's table and JSON land side by side, and the table is echoed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from interleave_sdk.simulation.study_files import write_study


def test_table_and_json_are_written_side_by_side_and_the_table_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """out/<name>.md holds the table, out/<name>.json the result; stdout the table and duration."""
    out = tmp_path / "nested" / "study"
    result = {"seconds": 12.4, "rows": [1, 2]}
    write_study(out, "demo", "| a |\n", result)
    assert (out / "demo.md").read_text(encoding="utf-8") == "| a |\n"
    assert orjson.loads((out / "demo.json").read_bytes()) == result
    assert capsys.readouterr().out == f"| a |\nstudy took 12 s; files in {out}\n"

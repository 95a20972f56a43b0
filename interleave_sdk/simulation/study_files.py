"""Where a study's command puts its result: the markdown table and the JSON it was rendered from,
side by side in one folder, and the table echoed to the console."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson


def write_study(out: Path, name: str, table: str, result: Mapping[str, Any]) -> None:
    """``out/<name>.md`` and ``out/<name>.json``; then the table and the study's duration."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(table, encoding="utf-8")
    (out / f"{name}.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    sys.stdout.write(table)
    print(f"study took {result['seconds']:.0f} s; files in {out}")

"""Reading the two inputs: ranking logs (JSON lines, plain or gzipped, globs) and feedback events.

Feedback comes from CSV, JSON lines, Parquet, a DataFrame or a PostgreSQL query and leaves here in
one shape (contract 2): text ids, UTC timestamps, and a count of every row that needed fixing.
"""

from __future__ import annotations

import glob
import gzip
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, Union, runtime_checkable

import numpy as np
import orjson
import pandas as pd

from ..errors import AnalysisInputError
from ..ids import id_text
from .filters import rename_columns

PathSpec = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]

FEEDBACK_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "ts", "kind", "ranking_id")
_REQUIRED_FEEDBACK = ("user_id", "item_id", "ts", "kind")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_GLOB_CHARS = re.compile(r"[*?\[]")


def expand_paths(spec: PathSpec) -> list[Path]:
    """Files named by a path, a glob, or a list of either; sorted within each glob.

    A name that matches nothing is an input error: an empty analysis would read as "no effect".
    """
    items = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if not items:
        raise AnalysisInputError("no input files given")
    paths: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if _GLOB_CHARS.search(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise AnalysisInputError(f"no files match {text!r}")
            paths.extend(Path(m) for m in matches if Path(m).is_file())
        elif Path(text).is_file():
            paths.append(Path(text))
        else:
            raise AnalysisInputError(f"no such file: {text!r}")
    return paths


def _open_text(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _is_blank(line: bytes) -> bool:
    # The same test as the DuckDB reader: only spaces, tabs and carriage returns.
    return not line.strip(b" \t\r\n")


@dataclass
class JsonLines:
    """Parsed JSON objects of some files, and how many lines were blank or not a JSON object."""

    records: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    blank_lines: int = 0
    malformed_lines: int = 0


def read_json_lines(spec: PathSpec) -> JsonLines:
    """Every JSON object in the files; a line that is not one is counted and skipped."""
    out = JsonLines()
    for path in expand_paths(spec):
        with _open_text(path) as handle:
            for line in handle:
                if _is_blank(line):
                    out.blank_lines += 1
                    continue
                out.lines += 1
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:
                    out.malformed_lines += 1
                    continue
                if isinstance(value, dict):
                    out.records.append(value)
                else:
                    out.malformed_lines += 1
    return out


# --- feedback ----------------------------------------------------------------------------------


@runtime_checkable
class FeedbackSource(Protocol):
    """Anything that can hand over feedback rows as a DataFrame (e.g. a database query)."""

    def read(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class PostgresFeedback:
    """Feedback rows from a SQL query against PostgreSQL (psycopg 3).

    The query must return the columns of contract 2 (alias them: ``decided_at AS ts``). A
    ``timestamptz`` column arrives with its offset and is converted to UTC; a plain ``timestamp``
    is taken as UTC and counted as naive.
    """

    dsn: str
    query: str
    params: Mapping[str, Any] | Sequence[Any] | None = None

    def read(self) -> pd.DataFrame:
        import psycopg

        try:
            with psycopg.connect(self.dsn) as conn, conn.cursor() as cursor:
                cursor.execute(self.query.encode("utf-8"), self.params)
                if cursor.description is None:
                    raise AnalysisInputError("the feedback query returned no result set")
                names = [column.name for column in cursor.description]
                rows = cursor.fetchall()
        except psycopg.Error as exc:
            raise AnalysisInputError(f"feedback query failed: {exc}") from exc
        frame: pd.DataFrame = pd.DataFrame.from_records(rows, columns=names)
        return frame


FeedbackInput = Union[str, "os.PathLike[str]", pd.DataFrame, FeedbackSource]


@dataclass
class Feedback:
    """Feedback events in contract-2 shape, plus counts of what had to be handled on the way."""

    frame: pd.DataFrame
    quality: dict[str, int]


def _read_feedback_file(path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    name = path.name.lower()
    stem = name[:-3] if name.endswith(".gz") else name
    if stem.endswith(".csv"):
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]), {}
    if stem.endswith((".jsonl", ".ndjson", ".json")):
        parsed = read_json_lines(path)
        return pd.DataFrame.from_records(parsed.records), {
            "feedback_malformed_lines": parsed.malformed_lines
        }
    if stem.endswith(".parquet"):
        return pd.read_parquet(path), {}
    raise AnalysisInputError(
        f"cannot tell the format of {str(path)!r}: use .csv, .jsonl, .ndjson, .json or .parquet"
    )


def load_feedback(source: FeedbackInput, *, columns: Mapping[str, str] | None = None) -> Feedback:
    """Read feedback from any supported source and normalise it (see :func:`normalize_feedback`).

    ``columns`` maps contract names to the source's own (``{"ts": "timestamp"}``) for feedback
    whose columns are named differently; an unknown target or an absent source column is refused.
    """
    quality: dict[str, int] = {}
    if isinstance(source, pd.DataFrame):
        raw = source
    elif isinstance(source, FeedbackSource):
        raw = source.read()
    else:
        paths = expand_paths(source)
        frames = []
        for path in paths:
            frame, counts = _read_feedback_file(path)
            frames.append(frame)
            for key, value in counts.items():
                quality[key] = quality.get(key, 0) + value
        raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if columns:
        raw = rename_columns(raw, columns, FEEDBACK_COLUMNS)
    frame, counts = normalize_feedback(raw)
    quality.update(counts)
    return Feedback(frame, quality)


def _all_text(values: pd.Series[Any]) -> bool:
    """Only strings and missing values: the case that needs no per-value Python work."""
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _as_text(values: pd.Series[Any]) -> pd.Series[Any]:
    """Ids as text (contract: compare ids as text); integral floats lose their ``.0``."""
    if _all_text(values):
        # A CSV read as text lands here: 300k rows in milliseconds instead of seconds.
        text = values.astype(object)
        kept: pd.Series[Any] = text.where(values.notna() & (text != ""), None)
        return kept
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if (whole == whole.round()).all():
            values = values.astype("Int64")

    def one(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = value if isinstance(value, str) else str(value)
        return text if text != "" else None

    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def _item_text(values: pd.Series[Any]) -> pd.Series[Any]:
    """Item ids as the log's canonical text (:func:`interleave_sdk.ids.id_text`), whatever the
    source typed them as: the same clicks join alike from CSV, JSON lines, Parquet, a DataFrame
    or PostgreSQL."""
    if _all_text(values):
        # Text (a CSV): only the values that spell a float need Python work.
        text = _as_text(values)
        spelled = text.str.contains(r"[.eE]", regex=True, na=False)
        if spelled.any():
            text = text.copy()
            text[spelled] = [id_text(v) for v in text[spelled]]
        return text
    if pd.api.types.is_integer_dtype(values.dtype) and isinstance(values.dtype, np.dtype):
        return values.astype(str).astype(object)
    return pd.Series([id_text(v) for v in values], index=values.index, dtype=object)


def _timestamps(values: pd.Series[Any]) -> tuple[pd.Series[Any], dict[str, int]]:
    """Parse to UTC; naive values are taken as UTC and counted, other offsets converted."""
    counts = {"naive_timestamps": 0, "offset_timestamps": 0, "bad_timestamps": 0}
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        if str(values.dtype.tz) not in ("UTC", "utc"):
            counts["offset_timestamps"] = int(values.notna().sum())
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        counts["naive_timestamps"] = int(values.notna().sum())
        parsed = values.dt.tz_localize("UTC")
    elif _all_text(values):
        stripped = values.astype(object).where(values.notna(), None).str.strip()
        suffix = stripped.str.extract(f"({_OFFSET.pattern})", flags=re.IGNORECASE, expand=False)
        present = stripped.notna()
        counts["naive_timestamps"] = int((present & suffix.isna()).sum())
        nonzero = suffix.str.lstrip("+-").str.strip("0:") != ""
        counts["offset_timestamps"] = int((suffix.notna() & (suffix.str.upper() != "Z") & nonzero).sum())
        parsed = pd.to_datetime(stripped, utc=True, format="ISO8601", errors="coerce")
        counts["bad_timestamps"] = int((parsed.isna() & present).sum())
    else:
        texts: list[str | None] = []
        for value in values:
            if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
                texts.append(None)
                continue
            if isinstance(value, pd.Timestamp) or hasattr(value, "tzinfo"):
                stamp = pd.Timestamp(value)
                if stamp.tzinfo is None:
                    counts["naive_timestamps"] += 1
                    stamp = stamp.tz_localize("UTC")
                elif stamp.utcoffset() != pd.Timedelta(0):
                    counts["offset_timestamps"] += 1
                texts.append(stamp.tz_convert("UTC").isoformat())
                continue
            text = str(value).strip()
            match = _OFFSET.search(text)
            if match is None:
                counts["naive_timestamps"] += 1
            elif match.group(0).upper() != "Z" and match.group(0).lstrip("+-").strip("0:") != "":
                counts["offset_timestamps"] += 1
            texts.append(text)
        parsed = pd.to_datetime(
            pd.Series(texts, index=values.index, dtype=object),
            utc=True,
            format="ISO8601",
            errors="coerce",
        )
        counts["bad_timestamps"] = int(parsed.isna().sum()) - sum(t is None for t in texts)
    return parsed.astype("datetime64[us, UTC]"), counts


def normalize_feedback(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Contract-2 columns with text ids and ``datetime64[us, UTC]`` times, plus repair counts.

    Rows are never dropped here: an event with no usable time or id reaches attribution, which
    counts it as invalid, so every input row is accounted for in one place.
    """
    missing = [column for column in _REQUIRED_FEEDBACK if column not in raw.columns]
    if missing:
        raise AnalysisInputError(
            f"feedback is missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(FEEDBACK_COLUMNS)} (ranking_id optional)"
        )
    frame = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    raw = raw.reset_index(drop=True)
    for column in ("user_id", "kind"):
        frame[column] = _as_text(raw[column])
    frame["item_id"] = _item_text(raw["item_id"])
    frame["ts"], counts = _timestamps(raw["ts"])
    if "ranking_id" in raw.columns:
        frame["ranking_id"] = _as_text(raw["ranking_id"])
    else:
        frame["ranking_id"] = pd.Series([None] * len(raw), dtype=object)
    counts["feedback_rows"] = len(frame)
    return frame[list(FEEDBACK_COLUMNS)], counts

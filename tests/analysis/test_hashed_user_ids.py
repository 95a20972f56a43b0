"""Logs written with hashed user ids still join raw-id feedback when the analysis has the salt."""

from __future__ import annotations

import pytest

from interleave_sdk.analysis import analyze
from interleave_sdk.analysis.testing import write_json_lines
from interleave_sdk.errors import AnalysisInputError
from interleave_sdk.observability.processors import hash_user_id

from .conftest import event, events, rec

SALT = "team-secret-salt-0123456789"
ITEMS = [("a", "A", 1, 2), ("b", "B", 2, 1)]


def _inputs(tmp_path):
    """Six rankings logged with hashed ids; clicks by raw id and without ranking ids."""
    log = write_json_lines(
        tmp_path / "log.jsonl",
        [rec(f"r{n}", hash_user_id(f"u{n}", SALT), n, ITEMS) for n in range(6)],
    )
    clicks = [event(f"u{n}", "a" if n < 4 else "b", n + 1) for n in range(6)]
    return log, events(*clicks)


def test_with_the_salt_feedback_joins_the_hashed_logs(tmp_path, engine):
    """Every click is attributed when the analysis hashes feedback ids with the same salt."""
    log, feedback = _inputs(tmp_path)
    result = analyze(log, feedback, n_boot=20, engine=engine, user_id_salt=SALT)
    assert (result.verdict.wins_a, result.verdict.wins_b) == (4, 2)
    assert result.parameters["user_ids_hashed"] is True
    assert SALT not in str(result.as_dict())


def test_without_the_salt_nothing_joins(tmp_path, engine):
    """The control: raw feedback ids match no hashed log line, so no impression gets a win."""
    log, feedback = _inputs(tmp_path)
    result = analyze(log, feedback, n_boot=20, engine=engine)
    assert result.verdict.wins_a + result.verdict.wins_b == 0


def test_a_short_salt_is_a_bad_argument(tmp_path):
    """A salt the logging processor would refuse is refused here too, as an input error."""
    log, feedback = _inputs(tmp_path)
    with pytest.raises(AnalysisInputError, match="user_id_salt"):
        analyze(log, feedback, user_id_salt="short")

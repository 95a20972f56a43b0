"""Attribution of feedback to impressions, and the bad input it must count instead of using."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from interleave_sdk.analysis.pipeline import attribute
from interleave_sdk.analysis.testing import write_json_lines

from .conftest import T0, event, events, rec

ITEMS = [("a", "A", 1, 2), ("b", "B", 2, 1)]
DAY = 24 * 3600


def statuses(result) -> list[str]:
    return list(result.events.sort_values(["ts", "item_id"])["status"])


def test_event_with_ranking_id_joins_that_ranking(run):
    """With a ranking id the event joins that impression, even when a later one showed the item."""
    log = [rec("r1", "u1", 0, ITEMS), rec("r2", "u1", 10, ITEMS)]
    result = run(log, events(event("u1", "a", 20, rid="r1")))
    assert result.matching == {"by_ranking_id": 1, "by_window": 0, "unmatched": 0}
    assert result.events.loc[0, "ranking_id"] == "r1"
    assert list(result.outcomes["outcome"]) == ["A", "tie"]


def test_event_without_id_joins_latest_exposure_in_window(run):
    """Without an id the latest earlier exposure of (user, item) wins."""
    log = [rec("r1", "u1", 0, ITEMS), rec("r2", "u1", 10, ITEMS), rec("r3", "u1", 30, ITEMS)]
    result = run(log, events(event("u1", "b", 20)))
    assert result.matching == {"by_ranking_id": 0, "by_window": 1, "unmatched": 0}
    assert result.events.loc[0, "ranking_id"] == "r2"
    assert result.events.loc[0, "team"] == "B"
    assert result.events.loc[0, "position"] == 2


def test_window_needs_the_same_user(run):
    """Another user's exposure of the same item never absorbs the event."""
    result = run([rec("r1", "u2", 0, ITEMS)], events(event("u1", "a", 5)))
    assert result.matching == {"by_ranking_id": 0, "by_window": 0, "unmatched": 1}
    assert statuses(result) == ["no_exposure_in_window"]


@pytest.mark.parametrize(
    ("offset", "matched"),
    [(0, True), (DAY, True), (DAY + 0.001, False), (-0.001, False)],
    ids=["same-instant", "window-edge", "just-outside", "just-before"],
)
def test_window_edges_are_inclusive(run, offset, matched):
    """The window is [exposure, exposure + 24 h], both ends included, to the millisecond."""
    result = run([rec("r1", "u1", 0, ITEMS)], events(event("u1", "a", offset)))
    assert result.matching["by_window"] == int(matched)
    assert result.matching["unmatched"] == int(not matched)


def test_window_hours_parameter_moves_the_edge(run):
    """A one-hour window rejects an event two hours later that 24 h would accept."""
    fb = events(event("u1", "a", 7200))
    assert run([rec("r1", "u1", 0, ITEMS)], fb, window_hours=1).matching["unmatched"] == 1
    assert run([rec("r1", "u1", 0, ITEMS)], fb, window_hours=3).matching["by_window"] == 1


def test_unknown_ranking_id_is_counted_not_guessed(run):
    """An id that no interleaved impression has is unmatched, with no fallback to the window."""
    result = run([rec("r1", "u1", 0, ITEMS)], events(event("u1", "a", 5, rid="nope-id")))
    assert result.matching["unmatched"] == 1
    assert result.data_quality["unknown_ranking_id"] == 1
    assert not result.outcomes["clicked"].any()


def test_non_interleaved_ranking_ids_are_unknown(run):
    """Feedback on a ranking served from one arm only is not interleaving evidence."""
    log = [rec("r1", "u1", 0, ITEMS), rec("r2", "u1", 1, ITEMS, served="A")]
    result = run(log, events(event("u1", "a", 5, rid="r2")))
    assert result.data_quality["not_interleaved"] == 1
    assert result.data_quality["unknown_ranking_id"] == 1
    assert list(result.outcomes["ranking_id"]) == ["r1"]


def test_item_not_in_the_named_ranking_is_counted(run):
    """An id match needs the item to be in that list."""
    result = run([rec("r1", "u1", 0, ITEMS)], events(event("u1", "zzz", 5, rid="r1")))
    assert result.data_quality["item_not_in_ranking"] == 1


def test_events_before_their_exposure_are_dropped_and_counted(run):
    """A click stamped before the list it names was served is dropped, not credited."""
    result = run([rec("r1", "u1", 100, ITEMS)], events(event("u1", "a", 99, rid="r1")))
    assert result.data_quality["before_exposure"] == 1
    assert result.matching["unmatched"] == 1
    assert not result.outcomes["clicked"].any()


def test_events_joined_by_id_after_the_window_are_dropped_and_counted(run):
    """The window bounds id-joined events too: a click a second past it earns no credit."""
    feedback = events(event("u1", "a", 3600, rid="r1"), event("u1", "b", 3601, rid="r1"))
    result = run([rec("r1", "u1", 0, ITEMS)], feedback, window_hours=1.0)
    assert result.data_quality["after_window"] == 1
    assert result.matching == {"by_ranking_id": 1, "by_window": 0, "unmatched": 1}
    assert list(result.outcomes["outcome"]) == [ITEMS[0][1]]


def test_duplicate_events_collapse_and_are_counted(run):
    """Three deliveries of one click are one event and two duplicates."""
    fb = events(*[event("u1", "b", 5, rid="r1")] * 3)
    result = run([rec("r1", "u1", 0, ITEMS)], fb, credit="team_draft")
    assert result.data_quality["duplicate_events"] == 2
    assert result.matching["by_ranking_id"] == 1
    assert result.outcomes.loc[0, "credit_b"] == 1.0


def test_other_kinds_are_ignored_and_counted(run):
    """Kinds that are neither positive nor negative do not count."""
    fb = events(event("u1", "a", 5, "view", "r1"), event("u1", "b", 6, "LIKE", "r1"))
    result = run([rec("r1", "u1", 0, ITEMS)], fb)
    assert result.data_quality["ignored_kind"] == 2
    assert not result.outcomes["clicked"].any()


def test_positive_and_negative_kinds_are_parameters(run):
    """A custom positive kind earns credit."""
    fb = events(event("u1", "a", 5, "watch", "r1"))
    result = run([rec("r1", "u1", 0, ITEMS)], fb, positive=("watch",), negative=())
    assert result.outcomes.loc[0, "outcome"] == "A"


def test_mixed_time_zones_are_normalised_to_utc(run):
    """Offsets are converted and naive times taken as UTC; both are counted."""
    fb = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1"],
            "item_id": ["a", "b", "a"],
            # 02:00:05+02:00 is 00:00:05Z (in window); naive 00:00:06 is UTC (in window);
            # 00:00:04-05:00 is 05:00:04Z, which is fine too.
            "ts": ["2026-11-23T02:00:05+02:00", "2026-11-23 00:00:06", "2026-11-23T00:00:04-05:00"],
            "kind": ["click", "click", "like"],
            "ranking_id": [None, None, None],
        }
    )
    result = run([rec("r1", "u1", 0, ITEMS)], fb, credit="team_draft")
    assert result.data_quality["offset_timestamps"] == 2
    assert result.data_quality["naive_timestamps"] == 1
    assert result.matching["by_window"] == 3
    times = sorted(result.events["ts"])
    assert times[0] == pd.Timestamp(T0) + pd.Timedelta(seconds=5)


def test_offset_that_lands_before_exposure_is_not_matched(run):
    """+02:00 read as UTC would fall in the window; converted it is two hours too early."""
    fb = events(
        {
            "user_id": "u1",
            "item_id": "a",
            "ts": "2026-11-23T01:00:00+02:00",
            "kind": "click",
            "ranking_id": None,
        }
    )
    result = run([rec("r1", "u1", 0, ITEMS)], fb)
    assert result.matching["unmatched"] == 1


def test_bad_timestamps_and_missing_items_are_invalid_events(run):
    """Unparseable times and missing item ids are counted, never attributed."""
    fb = events(
        {"user_id": "u1", "item_id": "a", "ts": "yesterday", "kind": "click", "ranking_id": "r1"},
        {
            "user_id": "u1",
            "item_id": None,
            "ts": T0.isoformat(),
            "kind": "click",
            "ranking_id": "r1",
        },
    )
    result = run([rec("r1", "u1", 0, ITEMS)], fb)
    assert result.data_quality["bad_timestamps"] == 1
    assert result.data_quality["invalid_events"] == 2
    assert sum(result.matching.values()) == 0


def test_integer_item_ids_compare_as_text(run):
    """Item 7 in the log and "7" in the feedback are the same item."""
    result = run(
        [rec("r1", "u1", 0, [(7, "B", 1, 1), (8, "A", 2, None)])],
        events(event("u1", "8", 5, rid="r1")),
    )
    assert result.outcomes.loc[0, "outcome"] == "A"


def test_malformed_and_invalid_log_lines_are_counted(tmp_path, engine):
    """Garbage lines, non-objects, broken records and duplicates are skipped and counted."""
    good = rec("r1", "u1", 0, ITEMS)
    write_json_lines(tmp_path / "a.jsonl", [good, good])
    bad_items = rec("r2", "u1", 1, [("a", "C", 1, 1)])
    no_ts = {**rec("r3", "u1", 2, ITEMS), "ts": "not a time"}
    offset_ts = {**rec("r4", "u1", 2, ITEMS), "ts": "2026-11-23T00:00:00+02:00"}
    other = {**rec("r5", "u1", 2, ITEMS), "event": "heartbeat"}
    write_json_lines(tmp_path / "b.jsonl", [bad_items, no_ts, offset_ts, other])
    with gzip.open(tmp_path / "c.jsonl.gz", "wb") as handle:
        handle.write(b'not json\n[1, 2]\n\n   \n{"truncated": \n')
    result, _ = attribute(str(tmp_path / "*.jsonl*"), events(), engine=engine)
    q = result.data_quality
    assert (q["exposure_lines"], q["blank_lines"], q["malformed_lines"]) == (9, 2, 3)
    assert (q["duplicate_rankings"], q["invalid_items"], q["invalid_rankings"]) == (1, 1, 2)
    assert q["other_events"] == 1
    assert list(result.outcomes["ranking_id"]) == ["r1"]


def test_empty_objects_are_not_interleaved_and_garbage_is_malformed(tmp_path, engine):
    """An object with none of the read fields is a record; bad bytes and scalars are malformed."""
    path = write_json_lines(tmp_path / "log.jsonl", [rec("r1", "u1", 0, ITEMS)])
    with path.open("ab") as handle:
        handle.write(b'{}\n{"other": 1}\n"text"\nnull\n{"user_id": "\xff"}\n \t\r\n')
        handle.write(b"{truncated")  # an unterminated last line is still a line
    result, _ = attribute(path, events(), engine=engine)
    q = result.data_quality
    assert (q["exposure_lines"], q["blank_lines"], q["malformed_lines"]) == (7, 1, 4)
    assert q["not_interleaved"] == 2
    assert list(result.outcomes["ranking_id"]) == ["r1"]


def test_clicks_by_position_counts_each_clicked_item_once(run):
    """Clicks per (position, team): repeats and likes of one shown item count once, nopes never."""
    log = [rec("r1", "u1", 0, ITEMS), rec("r2", "u2", 0, ITEMS)]
    feedback = events(
        event("u1", "a", 5, rid="r1"),
        event("u1", "a", 5, rid="r1"),  # an exact duplicate delivery
        event("u1", "a", 6, kind="like", rid="r1"),
        event("u1", "b", 7, kind="nope", rid="r1"),
        event("u2", "a", 5),
        event("u2", "b", 6),
        event("u3", "a", 5),  # never shown to u3
    )
    clicks = run(log, feedback).clicks_by_position
    assert clicks.to_dict("records") == [
        {"position": 1, "source_ranker": "A", "clicks": 2},
        {"position": 2, "source_ranker": "B", "clicks": 1},
    ]


def test_clicks_by_position_is_empty_without_matched_clicks(run):
    """No positive matched feedback gives an empty table with the three columns."""
    clicks = run([rec("r1", "u1", 0, ITEMS)], events(event("u9", "a", 5))).clicks_by_position
    assert list(clicks.columns) == ["position", "source_ranker", "clicks"]
    assert len(clicks) == 0

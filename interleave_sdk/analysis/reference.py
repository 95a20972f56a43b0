"""The pure-pandas reference for attribution and credit: the SQL files, step by step, in pandas.

It exists so tests can prove the SQL path right on fixtures (same numbers, row for row), and it
runs as ``engine="pandas"`` where DuckDB is unavailable. Each function mirrors one ``.sql`` file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisInputError
from . import rank_credit, versions
from .credit import CreditRule
from .filters import ALL_EXPOSURES, ExposureFilter
from .outcomes import (
    MATCHED,
    OUTCOME_COLUMNS,
    RANKING_STATUS_KEYS,
    Attribution,
    count_event_quality,
    count_matching,
    finish_clicks,
    finish_events,
    finish_outcomes,
)
from .sources import PathSpec, read_json_lines

_TS_SHAPE = re.compile(r"^.{4}-.{2}-.{2}T.*Z$", re.DOTALL)
_K_SHAPE = re.compile(r"[0-9]{1,9}")


def _text(value: Any) -> str | None:
    """A JSON scalar read into a text column, as DuckDB's ``from_json`` does for VARCHAR."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _k(value: Any) -> int | None:
    """rankings.sql's ``k``: the text of a JSON scalar, read only when it is 1-9 plain digits."""
    text = _text(value)
    return int(text) if text is not None and _K_SHAPE.fullmatch(text) else None


def _timestamp(value: Any) -> pd.Timestamp | None:
    if not isinstance(value, str) or not _TS_SHAPE.match(value):
        return None
    stamp = pd.to_datetime(value.replace("T", " ").replace("Z", ""), errors="coerce")
    if pd.isna(stamp) or stamp.tzinfo is not None:
        return None
    parsed: pd.Timestamp = pd.Timestamp(stamp)
    return parsed


def _ranks(value: Any) -> dict[str, int | None] | None:
    """An item's ranks as the readers type them: a map of arm name -> rank (None if not an int)."""
    if not isinstance(value, dict):
        return None
    return {str(arm): _int(rank) for arm, rank in value.items()}


def _items(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    items = []
    for item in value:
        item = item if isinstance(item, dict) else {}
        items.append(
            {
                "item_id": _text(item.get("item_id")),
                "position": _int(item.get("position")),
                "team": _text(item.get("source_ranker")),
                "ranks": _ranks(item.get("ranks")),
            }
        )
    return items


def ranking_log(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Raw JSON objects as the ``{ranking_log}`` relation (typed as the DuckDB reader types it)."""
    frame: pd.DataFrame = pd.DataFrame(
        {
            "event": [_text(r.get("event")) for r in records],
            "ranking_id": [_text(r.get("ranking_id")) for r in records],
            "experiment": [_text(r.get("experiment")) for r in records],
            "user_id": [_text(r.get("user_id")) for r in records],
            "ts": [r.get("ts") for r in records],
            "served": [_text(r.get("served")) for r in records],
            "schema_version": [_text(r.get("schema_version")) for r in records],
            "items": [_items(r.get("items")) for r in records],
            "method": [_text(r.get("method")) for r in records],
            "k": [_k(r.get("k")) for r in records],
            "contest_depth": [_k(r.get("contest_depth")) for r in records],
        },
        dtype=object,
    )
    return frame


def rankings(log: pd.DataFrame) -> pd.DataFrame:
    """rankings.sql: a status per record (unknown_schema, ok, other_event, not_interleaved,
    invalid, duplicate)."""
    columns = ["ranking_id", "user_id", "items", "method", "k", "contest_depth", "schema_version"]
    out: pd.DataFrame = log[columns].copy()
    out["ts"] = [_timestamp(v) for v in log["ts"]]
    status = []
    for version, event, served, ranking_id, ts, items in zip(
        log["schema_version"],
        log["event"],
        log["served"],
        log["ranking_id"],
        out["ts"],
        log["items"],
        strict=True,
    ):
        if not versions.is_known(version):
            status.append(versions.UNKNOWN_SCHEMA)
        elif event is not None and event != "ranking":
            status.append("other_event")
        elif served != "interleaved":
            status.append("not_interleaved")
        elif not ranking_id or pd.isna(ts) or not items:
            status.append("invalid")
        else:
            status.append("ok")
    out["status"] = status
    ok = out[out["status"] == "ok"]
    size = ok["items"].map(len)
    order = ok.assign(size=size).sort_values(["ts", "size"], kind="stable")
    duplicate = order.index[order.duplicated("ranking_id", keep="first")]
    out.loc[duplicate, "status"] = "duplicate"
    return out


def _arms(items: list[dict[str, Any]]) -> tuple[str, ...] | None:
    """exposure_items.sql's rule: the first item's rank keys, sorted, shared by every item, at
    least two, each item drafted by one of them, with an id, at its position; else None."""
    first = items[0]["ranks"]
    arms = tuple(sorted(first)) if first is not None else ()
    valid = len(arms) >= 2 and all(
        item["item_id"] is not None
        and item["position"] == idx
        and item["team"] in arms
        and item["ranks"] is not None
        and tuple(sorted(item["ranks"])) == arms
        for idx, item in enumerate(items, start=1)
    )
    return arms if valid else None


def exposure_items(ranked: pd.DataFrame) -> pd.DataFrame:
    """exposure_items.sql: one row per shown item of the valid rankings, whole rankings only."""
    rows: list[dict[str, Any]] = []
    columns = ["ranking_id", "user_id", "ts", "items", "method", "k", "contest_depth"]
    for ranking_id, user_id, ts, items, method, k, contest in ranked.loc[
        ranked["status"] == "ok", columns
    ].itertuples(index=False):
        arms = _arms(items)
        if arms is not None:
            head = {"ranking_id": ranking_id, "user_id": user_id, "ts": ts}
            tail = {"arms": arms, "method": method, "k": k, "contest_depth": contest}
            rows.extend({**head, **item, **tail} for item in items)
    columns = ["ranking_id", "user_id", "ts", "item_id", "position", "team", "ranks", "arms"]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=[*columns, "method", "k", "contest_depth"])
    # Log times are UTC by contract; the SQL side keeps them as naive UTC timestamps.
    frame["ts"] = pd.to_datetime(frame["ts"]).dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return frame


def impressions(items: pd.DataFrame) -> pd.DataFrame:
    """impressions.sql: arms, first team, slots and common-prefix length per impression."""
    shared = pd.Series(
        [
            all(rank == position for rank in ranks.values())
            for ranks, position in zip(items["ranks"], items["position"], strict=True)
        ],
        index=items.index,
        dtype=bool,
    )
    first_split = items["position"].where(~shared)
    work = items.assign(first_split=first_split)
    grouped = work.groupby("ranking_id", sort=False)
    out = grouped.agg(
        user_id=("user_id", "first"),
        ts=("ts", "max"),
        arms=("arms", "first"),
        slots=("position", "size"),
        first_split=("first_split", "min"),
        method=("method", "max"),
        k=("k", "max"),
    ).reset_index()
    first = items.loc[items["position"] == 1].set_index("ranking_id")["team"]
    out["first_team"] = out["ranking_id"].map(first)
    out["prefix_len"] = (out["first_split"] - 1).fillna(out["slots"]).astype("int64")
    out["k"] = pd.to_numeric(out["k"]).fillna(out["slots"]).astype("int64")
    logged = items.groupby("ranking_id", sort=False)["contest_depth"].max()
    derived = {rid: _derived_contest(group) for rid, group in grouped}
    out["contest_depth"] = [
        int(logged[rid]) if pd.notna(logged[rid]) else derived[rid] for rid in out["ranking_id"]
    ]
    result: pd.DataFrame = out.drop(columns="first_split")
    return result


def _derived_contest(items: pd.DataFrame) -> int:
    """impressions.sql's contest for a line that did not log one: with n arms, a Team Draft pick
    by a team that already had more than (position - 1) / n picks shows another had run out; the
    contest is then the complete rounds (n times the fewest picks of any arm), else the whole list."""
    ordered = items.sort_values("position")
    teams = ordered["team"].tolist()
    if items["method"].max() != "team_draft_v1":
        return len(teams)
    arms = list(ordered["arms"].iloc[0])
    picks = dict.fromkeys(arms, 0)
    short = False
    for position, team in enumerate(teams, start=1):
        short = short or len(arms) * picks[team] > position - 1
        picks[team] += 1
    return len(arms) * min(picks.values()) if short else len(teams)


def attribution(
    feedback: pd.DataFrame,
    items: pd.DataFrame,
    imps: pd.DataFrame,
    kinds: Mapping[str, int],
    window_seconds: int,
) -> pd.DataFrame:
    """attribution.sql: a status (and, when matched, a ranking) per distinct feedback event."""
    keys = ["user_id", "item_id", "ts", "kind", "ranking_id"]
    events = feedback.groupby(keys, dropna=False, sort=False).size().rename("copies").reset_index()
    events = events.rename(columns={"ranking_id": "event_ranking_id"})
    events["polarity"] = events["kind"].map(lambda k: kinds.get(k) if k is not None else None)
    events["status"] = None
    events["ranking_id"] = None
    usable = events["polarity"].notna() & events["item_id"].notna() & events["ts"].notna()
    events.loc[events["polarity"].isna(), "status"] = "ignored_kind"
    events.loc[events["polarity"].notna() & ~usable, "status"] = "invalid_event"

    # By ranking id: that impression only, within the window after it.
    known = set(imps["ranking_id"])
    exposed = items[["ranking_id", "item_id", "ts"]].itertuples(index=False)
    shown = {(rid, item): ts for rid, item, ts in exposed}
    by_id = usable & events["event_ranking_id"].notna()
    for idx in events.index[by_id]:
        rid, item, ts = events.loc[idx, ["event_ranking_id", "item_id", "ts"]]
        if rid not in known:
            events.at[idx, "status"] = "unknown_ranking_id"
        elif (rid, item) not in shown:
            events.at[idx, "status"] = "item_not_in_ranking"
        elif ts < shown[(rid, item)]:
            events.at[idx, "status"] = "before_exposure"
        elif ts > shown[(rid, item)] + pd.Timedelta(seconds=window_seconds):
            events.at[idx, "status"] = "after_window"
        else:
            events.at[idx, "status"], events.at[idx, "ranking_id"] = "ranking_id", rid

    # By window: the latest exposure of (user, item) at most window_seconds before the event.
    by_window = usable & events["event_ranking_id"].isna()
    events.loc[by_window, "status"] = "no_exposure_in_window"
    pending = events.loc[by_window & events["user_id"].notna(), ["user_id", "item_id", "ts"]]
    pairs = pending.reset_index().merge(
        items[["user_id", "item_id", "ts", "ranking_id"]].dropna(subset=["user_id"]),
        on=["user_id", "item_id"],
        suffixes=("", "_x"),
    )
    window = pd.Timedelta(seconds=window_seconds)
    pairs = pairs[(pairs["ts_x"] <= pairs["ts"]) & (pairs["ts_x"] >= pairs["ts"] - window)]
    latest = pairs.sort_values(["ts_x", "ranking_id"], ascending=False, kind="stable")
    latest = latest.drop_duplicates("index", keep="first").set_index("index")["ranking_id"]
    events.loc[latest.index, "status"] = "window"
    events.loc[latest.index, "ranking_id"] = latest
    return _with_item_facts(events, items)


def _with_item_facts(events: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    facts = items[["ranking_id", "item_id", "position", "team"]]
    merged = events.merge(facts, on=["ranking_id", "item_id"], how="left", validate="many_to_one")
    return finish_events(merged)


def _rank(ranks: dict[str, int | None], arm: str) -> float:
    rank = ranks.get(arm)
    return np.nan if rank is None else float(rank)


def credit(
    imps: pd.DataFrame,
    items: pd.DataFrame,
    events: pd.DataFrame,
    rule: CreditRule,
    negative_counts: bool,
) -> pd.DataFrame:
    """credit.sql: credit per impression and pair of its arms under ``rule`` (contract 3)."""
    matched = events[events["status"].isin(MATCHED)]
    counted = matched[(matched["polarity"] > 0) | negative_counts]
    counted = counted[["ranking_id", "item_id", "polarity"]].drop_duplicates()
    scored = counted.merge(
        items.drop(columns=["method", "k", "arms", "contest_depth"]), on=["ranking_id", "item_id"]
    )
    scored = scored.merge(
        imps[["ranking_id", "prefix_len", "contest_depth", "method", "k", "arms"]], on="ranking_id"
    )
    scored["eligible"] = rule.eligible(scored).fillna(False).astype(bool)
    # Every arm of the clicked item's impression: the drafting arm earns under the rule; on a
    # two-arm list credited by rank, each arm its side of the rank difference (0 past the contest).
    per_arm = scored.explode("arms").rename(columns={"arms": "arm"}).reset_index(drop=True)
    arms_of = dict(zip(imps["ranking_id"], imps["arms"], strict=True))
    two = np.array([len(arms_of[r]) == 2 for r in per_arm["ranking_id"]], dtype=bool)
    other = [
        next((a for a in arms_of[r] if a != arm), arm)
        for r, arm in zip(per_arm["ranking_id"], per_arm["arm"], strict=True)
    ]
    by_rank = rank_credit.delta(
        np.where(two, per_arm["method"].to_numpy(dtype=object), None),
        np.array([_rank(r, a) for r, a in zip(per_arm["ranks"], per_arm["arm"], strict=True)]),
        np.array([_rank(r, a) for r, a in zip(per_arm["ranks"], other, strict=True)]),
        per_arm["k"].to_numpy(dtype=np.float64),
        position=per_arm["position"].to_numpy(dtype=np.float64),
        contest=per_arm["contest_depth"].to_numpy(dtype=np.float64),
    )
    polarity = per_arm["polarity"].astype("float64").to_numpy()
    earns = (per_arm["team"] == per_arm["arm"]).to_numpy(dtype=bool) & per_arm["eligible"].to_numpy(
        dtype=bool
    )
    points = np.where(~np.isnan(by_rank), np.maximum(by_rank, 0.0), np.where(earns, 1.0, 0.0))
    per_arm["credit"] = polarity * points
    totals = per_arm.groupby(["ranking_id", "arm"])["credit"].sum()
    tol = rank_credit.TIE_TOLERANCE
    rows: list[dict[str, Any]] = []
    for rid, user, ts, arms, first_team, slots, prefix in zip(
        imps["ranking_id"], imps["user_id"], imps["ts"], imps["arms"], imps["first_team"],
        imps["slots"].astype("int64"), imps["prefix_len"].astype("int64"), strict=True,
    ):
        for arm_a, arm_b in itertools.combinations(arms, 2):
            a = float(totals.get((rid, arm_a), 0.0))
            b = float(totals.get((rid, arm_b), 0.0))
            rows.append(
                {
                    "ranking_id": rid,
                    "user_id": user,
                    "ts": ts,
                    "arm_a": arm_a,
                    "arm_b": arm_b,
                    "credit_a": a,
                    "credit_b": b,
                    "outcome": "A" if a > b + tol else "B" if a + tol < b else "tie",
                    "clicked": (rid, arm_a) in totals.index,
                    "first_team": {arm_a: "A", arm_b: "B"}.get(first_team, "other"),
                    "slots": int(slots),
                    "contested_slots": int(slots) - int(prefix),
                }
            )
    return finish_outcomes(pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS)))


def clicks_by_position(events: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """clicks_by_position.sql: positive events per (position, team), each (impression, item) once."""
    matched = events[events["status"].isin(MATCHED) & (events["polarity"] > 0)]
    clicked = matched[["ranking_id", "item_id"]].drop_duplicates()
    shown = clicked.merge(items[["ranking_id", "item_id", "position", "team"]])
    counts = shown.groupby(["position", "team"]).size().rename("clicks").reset_index()
    return finish_clicks(counts.rename(columns={"team": "source_ranker"}))


def run(
    exposures: PathSpec | None,
    feedback: pd.DataFrame,
    *,
    rule: CreditRule,
    kinds: Mapping[str, int],
    negative_counts: bool,
    window_seconds: int,
    filters: ExposureFilter = ALL_EXPOSURES,
) -> Attribution:
    """The whole reference pipeline on exposure files and normalised feedback."""
    if exposures is None:
        raise AnalysisInputError("the pandas engine reads log files: give the exposures")
    lines = read_json_lines(exposures)
    log = ranking_log(lines.records)
    if filters.active:
        # rankings.sql's {keep}: applied to the parsed records, before deduplication.
        stamps = pd.Series([_timestamp(v) for v in log["ts"]], index=log.index, dtype=object)
        log = log[filters.keep_mask(log, stamps, window_seconds)].reset_index(drop=True)
    ranked = rankings(log)
    items = exposure_items(ranked)
    imps = impressions(items)
    events = attribution(feedback, items, imps, kinds, window_seconds)
    # Only the impressions in [since, until) are credited; attribution saw the wider range.
    credited_imps = imps[filters.credited_mask(imps["ts"])]
    credited_items = items[filters.credited_mask(items["ts"])]
    outcomes = credit(credited_imps, items, events, rule, negative_counts)
    status = ranked["status"].value_counts()
    quality = {
        "exposure_lines": lines.lines,
        "malformed_lines": lines.malformed_lines,
        "blank_lines": lines.blank_lines,
        **{key: int(status.get(name, 0)) for name, key in RANKING_STATUS_KEYS.items()},
        "invalid_items": int((status.get("ok", 0)) - len(imps)),
        **count_event_quality(events),
    }
    clicks = clicks_by_position(events, credited_items)
    by_version = ranked.groupby(["status", "schema_version"], dropna=False).size().reset_index()
    tallied = versions.tally(
        (str(s), None if pd.isna(v) else str(v), int(n))
        for s, v, n in by_version.itertuples(index=False)
    )
    return Attribution(outcomes, events, count_matching(events), quality, clicks, tallied)

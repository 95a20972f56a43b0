"""Multileaving analysis: three or more arms in one list, compared pair by pair.

Team Draft multileaving (Schuth et al., CIKM 2014) lets every arm draft into one list, so one
impression compares every pair of arms at once. Per impression each arm earns the credit of the
clicked items it drafted (under the chosen credit rule; "competitive" ignores the top prefix all
arms ranked identically). Per unit of analysis (users by default, as in the two-arm verdict) a pair
(i, j) is a win for i when i's summed credit over the unit's clicked impressions that showed both
arms exceeds j's. Each pair gets an exact sign test, the family of pairs a Holm correction, and the
best arm is the one that beats every other arm significantly after the correction.

Statistics are computed here, once: the report only renders a :class:`Preference`, and the
simulator feeds simulated credits to :func:`preference_from_credits` instead of re-implementing
them. Log lines with N arms are parsed here, in Python (the SQL readers type ranks for arms A and
B only), after the two-arm pipeline set them aside; their feedback is attributed by the chosen
engine's attribution step (``attribution.sql`` on DuckDB, or the pandas reference).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import OutcomesError
from . import rank_credit, reference
from .credit import CreditRule
from .filters import ALL_EXPOSURES, ExposureFilter
from .outcomes import MATCHED, finish_events
from .sources import PathSpec, read_json_lines
from .stats import UNITS, Verdict, sign_test

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

#: Summed credits closer than this are a tie.
_ATOL = 1e-9


@dataclass(frozen=True)
class PairResult:
    """Row arm against column arm: units won, lost and tied, and the sign test's p-values."""

    wins: int
    losses: int
    ties: int
    p_value: float
    p_holm: float

    def as_dict(self) -> dict[str, int | float]:
        return {
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "p_value": self.p_value,
            "p_holm": self.p_holm,
        }

    def flipped(self) -> PairResult:
        return PairResult(self.losses, self.wins, self.ties, self.p_value, self.p_holm)


@dataclass(frozen=True)
class Preference:
    """The preference matrix of N arms; ``matrix[i][j]`` is arm i against arm j (i != j)."""

    arms: tuple[str, ...]
    matrix: Mapping[str, Mapping[str, PairResult]]
    best_arm: str | None
    unit: str
    alpha: float
    impressions: int  # clicked impressions that compared at least one pair

    def as_dict(self) -> dict[str, Any]:
        """``preference_matrix`` (row -> column -> counts and p-values) and ``best_arm``."""
        return {
            "preference_matrix": {
                row: {col: pair.as_dict() for col, pair in cols.items()}
                for row, cols in self.matrix.items()
            },
            "best_arm": self.best_arm,
        }

    def ranking(self) -> list[str]:
        """Arms ordered by how many others they beat (more wins than losses), then by net wins."""

        def key(arm: str) -> tuple[int, int]:
            pairs = self.matrix[arm].values()
            beaten = sum(1 for p in pairs if p.wins > p.losses)
            return (-beaten, -sum(p.wins - p.losses for p in pairs))

        return sorted(self.arms, key=key)


def holm(p_values: npt.ArrayLike) -> Floats:
    """Holm's step-down adjusted p-values along the last axis (one family per row), in place order.

    Sorted ascending, the i-th smallest (0-based) is multiplied by ``m - i``, capped at 1, and
    made monotone by a running maximum, so rejecting where ``p_holm < alpha`` controls the
    family-wise error rate at ``alpha`` without assuming independence between pairs. Rows are
    handled at once so the simulator's power curves use this very function.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    running = np.maximum.accumulate(np.minimum(1.0, ranked * (m - np.arange(m))), axis=-1)
    out = np.empty_like(running)
    np.put_along_axis(out, order, running, axis=-1)
    return out


def preference_from_credits(
    arms: Sequence[str],
    credits: npt.ArrayLike,
    clicked: npt.ArrayLike,
    cluster: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    unit: str = "user",
) -> Preference:
    """The preference matrix from per-impression credits: the one statistics path.

    ``credits`` is ``(impressions, arms)``, NaN where the impression did not show that arm;
    ``clicked`` flags impressions with counted feedback; ``cluster`` numbers the unit of each
    impression (users, or ``arange`` for impressions).
    """
    if unit not in UNITS:
        raise OutcomesError(f"unknown unit {unit!r}; valid units: {', '.join(UNITS)}")
    if not 0.0 < alpha < 1.0:
        raise OutcomesError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    names = tuple(arms)
    c = np.asarray(credits, dtype=np.float64).reshape(-1, len(names))
    hit = np.asarray(clicked, dtype=bool)
    units = np.asarray(cluster, dtype=np.int64)
    n_units = int(units.max()) + 1 if units.size else 0
    counts: dict[tuple[int, int], tuple[int, int, int]] = {}
    compared = np.zeros(len(c), dtype=bool)
    for i, j in itertools.combinations(range(len(names)), 2):
        both = hit & ~np.isnan(c[:, i]) & ~np.isnan(c[:, j])
        compared |= both
        diff = np.bincount(units[both], weights=c[both, i] - c[both, j], minlength=n_units)
        seen = np.bincount(units[both], minlength=n_units) > 0
        d = diff[seen]
        wins, losses = int((d > _ATOL).sum()), int((d < -_ATOL).sum())
        counts[(i, j)] = (wins, losses, int(d.size) - wins - losses)
    pairs = list(counts)
    p_values = [sign_test(counts[p][0], counts[p][1]) for p in pairs]
    adjusted = holm(p_values).tolist() if p_values else []
    matrix: dict[str, dict[str, PairResult]] = {name: {} for name in names}
    for (i, j), p, q in zip(pairs, p_values, adjusted, strict=True):
        wins, losses, ties = counts[(i, j)]
        result = PairResult(wins, losses, ties, p, q)
        matrix[names[i]][names[j]] = result
        matrix[names[j]][names[i]] = result.flipped()
    best = [
        arm
        for arm in names
        if len(names) > 1
        and all(r.wins > r.losses and r.p_holm < alpha for r in matrix[arm].values())
    ]
    ordered = {row: {col: matrix[row][col] for col in names if col != row} for row in names}
    return Preference(names, ordered, best[0] if best else None, unit, alpha, int(compared.sum()))


def from_verdict(verdict: Verdict) -> Preference:
    """The two-arm matrix of a verdict: one pair, so Holm leaves its p-value unchanged."""
    pair = PairResult(verdict.wins_a, verdict.wins_b, verdict.ties, verdict.p_value, verdict.p_value)
    best = verdict.winner if verdict.winner in ("A", "B") else None
    return Preference(
        ("A", "B"),
        {"A": {"B": pair}, "B": {"A": pair.flipped()}},
        best,
        verdict.unit,
        verdict.alpha,
        verdict.impressions,
    )


# --------------------------------------------------------------------------------------------
# From log lines and feedback to per-impression arm credits


@dataclass
class ArmCredits:
    """One row per interleaved impression of the log, one credit column per arm (NaN: not shown)."""

    arms: tuple[str, ...]
    impressions: pd.DataFrame  # ranking_id, user_id, ts, clicked, two_arm (fits the A/B pipeline)
    credits: Floats  # (impressions, arms)
    events: pd.DataFrame


def _arm_items(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """Shown items of the valid interleaved lines, whatever their arms, and each line's arms.

    A line's arms are the keys of its items' ``ranks``; an item must name one of them as its team,
    carry an id and sit at its position, or the whole line is left out (as in exposure_items.sql).
    """
    ranked = reference.rankings(reference.ranking_log(records))
    rows: list[dict[str, Any]] = []
    arms_of: dict[str, tuple[str, ...]] = {}
    for idx in ranked.index[ranked["status"] == "ok"]:
        raw = records[idx].get("items")
        if not isinstance(raw, list):
            continue
        items = [i if isinstance(i, dict) else {} for i in raw]
        arms: dict[str, None] = {}
        for item in items:
            listed = item.get("ranks")
            if isinstance(listed, dict):
                arms.update(dict.fromkeys(str(a) for a in listed))
        entries: list[tuple[str, int, str, dict[str, int | None]]] = []
        for position, item in enumerate(items, start=1):
            team = reference._text(item.get("source_ranker"))
            item_id = reference._text(item.get("item_id"))
            found = item.get("ranks")
            ranks: dict[str, Any] = found if isinstance(found, dict) else {}
            at = reference._int(item.get("position"))
            if item_id is None or team is None or at != position or team not in arms:
                entries = []
                break
            entries.append((item_id, position, team, {a: reference._int(ranks.get(a)) for a in arms}))
        if not entries:
            continue
        rid = str(ranked.at[idx, "ranking_id"])
        arms_of[rid] = tuple(arms)
        logged_k: Any = ranked.at[idx, "k"]
        contest: Any = ranked.at[idx, "contest_depth"]
        head = {
            "ranking_id": rid,
            "user_id": ranked.at[idx, "user_id"],
            "ts": ranked.at[idx, "ts"],
            "method": ranked.at[idx, "method"],
            "k": len(entries) if pd.isna(logged_k) else int(logged_k),
            # lines written before the contest was logged: the whole list
            "contest_depth": len(entries) if pd.isna(contest) else int(contest),
        }
        rows.extend(
            {**head, "item_id": i, "position": p, "team": t, "ranks": r} for i, p, t, r in entries
        )
    columns = ["ranking_id", "user_id", "ts", "method", "k", "contest_depth"]
    columns += ["item_id", "position", "team", "ranks"]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
    frame["ts"] = pd.to_datetime(frame["ts"]).dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return frame, arms_of


def _common_prefix(items: pd.DataFrame) -> dict[str, int]:
    """Per impression: the top positions every arm ranked at that very position."""
    prefix: dict[str, int] = {}
    for rid, group in items.groupby("ranking_id", sort=False):
        n = 0
        for position, ranks in zip(group["position"], group["ranks"], strict=True):
            if not all(r == position for r in ranks.values()):
                break
            n += 1
        prefix[str(rid)] = n
    return prefix


def arm_credits(
    exposures: PathSpec,
    feedback: pd.DataFrame,
    *,
    rule: CreditRule,
    kinds: Mapping[str, int],
    negative_counts: bool,
    window_seconds: int,
    engine: str = "pandas",
    filters: ExposureFilter = ALL_EXPOSURES,
) -> ArmCredits:
    """Attribute feedback to the log's interleaved lines and credit every arm of each impression.

    ``engine`` runs the attribution step: ``attribution.sql`` on DuckDB, or the pandas reference.
    ``filters`` selects lines and credited impressions as the two-arm engines do.
    """
    records = read_json_lines(exposures).records
    if filters.active:
        log = reference.ranking_log(records)
        stamps = pd.Series([reference._timestamp(v) for v in log["ts"]], index=log.index, dtype=object)
        keep = filters.keep_mask(log, stamps, window_seconds).to_numpy(dtype=bool)
        records = [r for r, kept in zip(records, keep, strict=True) if kept]
    items, arms_of = _arm_items(records)
    imps = items.groupby("ranking_id", sort=False).agg(user_id=("user_id", "first"), ts=("ts", "max"))
    imps = imps.reset_index()
    if engine == "duckdb":
        events = _duckdb_attribution(feedback, items, imps, kinds, window_seconds)
    else:
        events = reference.attribution(feedback, items, imps, kinds, window_seconds)
    matched = events[events["status"].isin(MATCHED)]
    counted = matched[(matched["polarity"] > 0) | negative_counts]
    counted = counted[["ranking_id", "item_id", "polarity"]].drop_duplicates()
    prefix = _common_prefix(items)
    scored = counted.merge(
        items[["ranking_id", "item_id", "position", "team", "method", "k", "contest_depth", "ranks"]]
    )
    scored["prefix_len"] = scored["ranking_id"].map(prefix).astype("int64")
    eligible = rule.eligible(scored).to_numpy(dtype=bool)
    polarity = scored["polarity"].to_numpy(dtype=np.float64)
    scored["points"] = np.where(eligible, polarity, 0.0)
    # Two-arm optimized lines: credit by rank difference, first listed arm in A's role.
    first = [arms_of[str(rid)][0] for rid in scored["ranking_id"]]
    second = [arms_of[str(rid)][-1] for rid in scored["ranking_id"]]
    by_rank = rank_credit.delta(
        scored["method"].to_numpy(dtype=object),
        np.array([_nan(r.get(a)) for r, a in zip(scored["ranks"], first, strict=True)]),
        np.array([_nan(r.get(b)) for r, b in zip(scored["ranks"], second, strict=True)]),
        scored["k"].to_numpy(dtype=np.float64),
        position=scored["position"].to_numpy(dtype=np.float64),
        contest=scored["contest_depth"].to_numpy(dtype=np.float64),
    )
    pairs = np.array([len(arms_of[str(r)]) == 2 for r in scored["ranking_id"]], dtype=bool)
    ranked = ~np.isnan(by_rank) & pairs
    rank_rows = pd.DataFrame(
        {
            "ranking_id": np.concatenate([scored["ranking_id"][ranked]] * 2),
            "team": np.concatenate([np.array(first)[ranked], np.array(second)[ranked]]),
            "points": np.concatenate(
                [
                    polarity[ranked] * np.maximum(by_rank[ranked], 0.0),
                    polarity[ranked] * np.maximum(-by_rank[ranked], 0.0),
                ]
            ),
        }
    )
    drafted = scored.loc[~ranked, ["ranking_id", "team", "points"]]
    totals = pd.concat([drafted, rank_rows]).groupby(["ranking_id", "team"])["points"].sum()

    arms = tuple(sorted({a for names in arms_of.values() for a in names}))
    column = {arm: n for n, arm in enumerate(arms)}
    credits = np.full((len(imps), len(arms)), np.nan)
    row_of = {rid: n for n, rid in enumerate(imps["ranking_id"])}
    for n, rid in enumerate(imps["ranking_id"]):
        credits[n, [column[a] for a in arms_of[rid]]] = 0.0
    for (rid, team), points in totals.items():
        credits[row_of[str(rid)], column[str(team)]] = float(points)
    imps["clicked"] = imps["ranking_id"].isin(set(counted["ranking_id"]))
    imps["two_arm"] = [set(arms_of[rid]) <= {"A", "B"} for rid in imps["ranking_id"]]
    imps["arms"] = [len(arms_of[rid]) for rid in imps["ranking_id"]]
    # Only the impressions in [since, until) are credited; attribution saw the wider range.
    shown = filters.credited_mask(imps["ts"]).to_numpy(dtype=bool)
    return ArmCredits(arms, imps[shown].reset_index(drop=True), credits[shown], events)


def _duckdb_attribution(
    feedback: pd.DataFrame,
    items: pd.DataFrame,
    imps: pd.DataFrame,
    kinds: Mapping[str, int],
    window_seconds: int,
) -> pd.DataFrame:
    """``attribution.sql`` on DuckDB over the N-arm items, as the two-arm engine runs it."""
    from . import sql
    from .engine import import_duckdb, kinds_relation

    duckdb = import_duckdb()

    def naive(frame: pd.DataFrame) -> pd.DataFrame:
        out: pd.DataFrame = frame.copy()
        out["ts"] = out["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
        return out

    con = duckdb.connect()
    try:
        shown = items[["ranking_id", "user_id", "ts", "item_id", "position", "team"]]
        con.register("items_frame", naive(shown))
        con.register("imps_frame", imps[["ranking_id"]])
        con.register("feedback_frame", naive(feedback))
        con.execute(
            "CREATE TABLE feedback AS SELECT CAST(user_id AS VARCHAR) AS user_id,"
            " CAST(item_id AS VARCHAR) AS item_id, CAST(ts AS TIMESTAMP) AS ts,"
            " CAST(kind AS VARCHAR) AS kind, CAST(ranking_id AS VARCHAR) AS ranking_id"
            " FROM feedback_frame"
        )
        con.execute(
            "CREATE TABLE exposure_items AS SELECT CAST(ranking_id AS VARCHAR) AS ranking_id,"
            " CAST(user_id AS VARCHAR) AS user_id, CAST(ts AS TIMESTAMP) AS ts,"
            " CAST(item_id AS VARCHAR) AS item_id, CAST(position AS INTEGER) AS position,"
            " CAST(team AS VARCHAR) AS team FROM items_frame"
        )
        con.execute(
            "CREATE TABLE impressions AS SELECT CAST(ranking_id AS VARCHAR) AS ranking_id"
            " FROM imps_frame"
        )
        attributed = sql.render(
            "attribution",
            feedback="feedback",
            exposure_items="exposure_items",
            impressions="impressions",
            kinds=kinds_relation(kinds),
            window_seconds=int(window_seconds),
        )
        events = con.execute(
            f"WITH attributed AS ({attributed}) SELECT a.*, x.position, x.team FROM attributed AS a"
            " LEFT JOIN exposure_items AS x ON x.ranking_id = a.ranking_id AND x.item_id = a.item_id"
        ).df()
    finally:
        con.close()
    finished: pd.DataFrame = finish_events(events)
    return finished


def _nan(rank: int | None) -> float:
    return np.nan if rank is None else float(rank)


def clusters(impressions: pd.DataFrame, unit: str) -> Ints:
    """The unit of each impression as dense codes; a null user is a unit of its own."""
    if unit == "impression":
        return np.arange(len(impressions), dtype=np.int64)
    codes, uniques = pd.factorize(impressions["user_id"], use_na_sentinel=True)
    codes = codes.astype(np.int64)
    nulls = codes < 0
    codes[nulls] = len(uniques) + np.arange(int(nulls.sum()), dtype=np.int64)
    return codes


def preference(credited: ArmCredits, *, unit: str = "user", alpha: float = 0.05) -> Preference:
    """The preference matrix of credited impressions."""
    return preference_from_credits(
        credited.arms,
        credited.credits,
        credited.impressions["clicked"].to_numpy(dtype=bool),
        clusters(credited.impressions, unit),
        alpha=alpha,
        unit=unit,
    )


# --------------------------------------------------------------------------------------------
# Rendering (the report calls these; nothing is computed here)


def _cell(pair: PairResult) -> str:
    return f"{pair.wins}/{pair.losses}/{pair.ties} (p_holm {pair.p_holm:.3g})"


def matrix_rows(pref: Preference) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the matrix: cell (i, j) reads 'wins/losses/ties (p_holm)' of i over j."""
    header = ["arm", *pref.arms]
    rows = [
        [row, *("—" if col == row else _cell(pref.matrix[row][col]) for col in pref.arms)]
        for row in pref.arms
    ]
    return header, rows


def best_arm_text(pref: Preference) -> str:
    if pref.best_arm is None:
        return f"no arm beats every other significantly (Holm-corrected, α = {pref.alpha:g})"
    return f"{pref.best_arm} beats every other arm (Holm-corrected sign tests, α = {pref.alpha:g})"


def format_matrix(pref: Preference) -> str:
    """The matrix as aligned plain text, for the CLI."""
    header, rows = matrix_rows(pref)
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = [f"Preference matrix (unit: {pref.unit}; wins/losses/ties of row over column)"]
    for r in [header, *rows]:
        lines.append(("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip())
    lines.append(f"  best arm: {best_arm_text(pref)}")
    return "\n".join(lines)


def matrix_markdown(pref: Preference) -> list[str]:
    """The matrix as a Markdown section, for the report."""
    header, rows = matrix_rows(pref)
    lines = [
        "## Preference matrix",
        "",
        f"Cell (row, column): {pref.unit}s preferring the row arm / the column arm / neither, "
        "and the Holm-corrected sign-test p-value of the pair.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", f"Best arm: {best_arm_text(pref)}.", ""]
    return lines

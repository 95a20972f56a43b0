"""What interleaving itself does to engagement: interleaved users against the measurement holdout.

Holdout users (``"served": "holdout"``) were sampled like interleaved ones and then served the
baseline alone, so comparing positive feedback per impression between the two groups measures the
cost (or gain) of showing a mixed list. Users are the clusters: one user's impressions are not
independent, so the interval comes from the per-user sums (a cluster-robust delta method on the
log of the ratio of the two rates), not from impression counts.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import orjson
import pandas as pd

from .filters import ExposureFilter
from .sources import PathSpec, expand_paths

_MARK = b'"served":"holdout"'
GROUPS = ("interleaved", "holdout")


@dataclass(frozen=True)
class HoldoutEffect:
    """Relative change of positive feedback per impression, interleaved vs holdout users.

    ``effect`` = rate(interleaved) / rate(holdout) - 1 (``-0.1``: interleaving lowered engagement
    by 10 %), with its ``1 - alpha`` interval; ``None`` when a group has fewer than two users or
    the holdout has no positive feedback. ``unmatched_feedback``: positive events without a ranking
    id of either group (they cannot be counted for either side and are reported, not guessed).
    """

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    users_interleaved: int
    users_holdout: int
    impressions_interleaved: int
    impressions_holdout: int
    positive_interleaved: int
    positive_holdout: int
    unmatched_feedback: int
    alpha: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sentence(self) -> str:
        """The report's line: "interleaving itself changed engagement by x % [ci]"."""
        if self.effect is None or self.ci_low is None or self.ci_high is None:
            return (
                "interleaving itself: not measurable yet "
                f"({self.users_interleaved:,} interleaved and {self.users_holdout:,} holdout users)"
            )
        level = f"{1 - self.alpha:.0%}"
        return (
            f"interleaving itself changed engagement by {self.effect:+.1%} "
            f"[{level} CI {self.ci_low:+.1%}, {self.ci_high:+.1%}] "
            f"({self.users_interleaved:,} interleaved vs {self.users_holdout:,} holdout users)"
        )


def has_holdout(exposures: PathSpec) -> bool:
    """Whether any log file holds a holdout line (a byte search: logs without one cost no parse)."""
    return any(_MARK in _read(path) for path in expand_paths(exposures))


def read_impressions(exposures: PathSpec, filters: ExposureFilter | None = None) -> pd.DataFrame:
    """``ranking_id``, ``user_id``, ``group`` and ``item_ids`` of every interleaved or holdout line."""
    rows: list[tuple[str, str, str, tuple[str, ...], object]] = []
    experiment = filters.experiment if filters is not None else None
    for path in expand_paths(exposures):
        for line in _read(path).splitlines():
            if b'"served"' not in line:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # malformed lines are counted by the main pass
            if not isinstance(record, dict) or record.get("served") not in GROUPS:
                continue
            if experiment is not None and record.get("experiment") != experiment:
                continue
            user, ranking = record.get("user_id"), record.get("ranking_id")
            if not isinstance(user, str) or not isinstance(ranking, str):
                continue  # anonymous requests cannot be clustered by user
            items = tuple(str(i.get("item_id")) for i in record.get("items") or [] if isinstance(i, dict))
            rows.append((ranking, user, record["served"], items, record.get("ts")))
    frame = pd.DataFrame(rows, columns=["ranking_id", "user_id", "group", "item_ids", "ts"])
    if filters is not None and (filters.since is not None or filters.until is not None):
        ts = pd.to_datetime(frame["ts"], utc=True, errors="coerce")
        keep = ts.notna()
        if filters.since is not None:
            keep &= ts >= pd.Timestamp(filters.since)
        if filters.until is not None:
            keep &= ts < pd.Timestamp(filters.until)
        frame = frame[keep]
    kept: pd.DataFrame = frame.drop(columns="ts").reset_index(drop=True)
    return kept


def holdout_effect(
    impressions: pd.DataFrame,
    feedback: pd.DataFrame,
    *,
    positive: Sequence[str] = ("click", "like"),
    alpha: float = 0.05,
) -> HoldoutEffect:
    """The holdout section from impressions (:func:`read_impressions`) and normalised feedback.

    A positive event counts for the impression whose ``ranking_id`` it carries when its item was
    in that impression's list; each distinct (ranking, item, kind, ts) event counts once.
    """
    served = {
        (ranking, item)
        for ranking, items in zip(impressions["ranking_id"], impressions["item_ids"], strict=True)
        for item in items
    }
    kinds = set(positive)
    events = feedback[feedback["kind"].isin(kinds)].drop_duplicates(["ranking_id", "item_id", "kind", "ts"])
    hit = [
        (ranking, item) in served
        for ranking, item in zip(events["ranking_id"], events["item_id"], strict=True)
    ]
    counted = events[hit]
    per_ranking = counted.groupby("ranking_id").size()
    clicks = impressions["ranking_id"].map(per_ranking).fillna(0).astype(int)
    table = impressions.assign(clicks=clicks.to_numpy())
    per_user = table.groupby(["group", "user_id"]).agg(n=("ranking_id", "size"), c=("clicks", "sum"))
    return _effect(per_user, unmatched=len(events) - len(counted), alpha=alpha)


def _effect(per_user: pd.DataFrame, *, unmatched: int, alpha: float) -> HoldoutEffect:
    present = set(per_user.index.get_level_values(0))
    groups = {g: per_user.xs(g) if g in present else per_user.iloc[:0] for g in GROUPS}
    counts = {g: (len(f), int(f["n"].sum()), int(f["c"].sum())) for g, f in groups.items()}
    effect = low = high = None
    if all(users >= 2 and positives > 0 for users, _, positives in counts.values()):
        log_ratio, variance = 0.0, 0.0
        for sign, group in ((1, "interleaved"), (-1, "holdout")):
            rate, var = _rate(groups[group]["n"], groups[group]["c"])
            log_ratio += sign * math.log(rate)
            variance += var / rate**2
        z = NormalDist().inv_cdf(1 - alpha / 2)
        half = z * math.sqrt(variance)
        effect = math.exp(log_ratio) - 1
        low, high = math.exp(log_ratio - half) - 1, math.exp(log_ratio + half) - 1
    (ui, ni, ci), (uh, nh, ch) = counts["interleaved"], counts["holdout"]
    return HoldoutEffect(effect, low, high, ui, uh, ni, nh, ci, ch, unmatched, alpha)


def _rate(n: pd.Series[Any], c: pd.Series[Any]) -> tuple[float, float]:
    """The ratio estimator sum(c) / sum(n) and its user-clustered variance (delta method)."""
    total = float(n.sum())
    rate = float(c.sum()) / total
    users = len(n)
    residual = c.astype(float) - rate * n.astype(float)
    variance = float((residual**2).sum()) / total**2 * users / (users - 1)
    return rate, variance


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def holdout_section(
    exposures: PathSpec | None,
    feedback: pd.DataFrame,
    *,
    positive: Iterable[str],
    alpha: float,
    filters: ExposureFilter | None = None,
) -> HoldoutEffect | None:
    """The section for :func:`~interleave_sdk.analysis.analyze`: None when the logs hold no holdout."""
    if exposures is None or not has_holdout(exposures):
        return None
    impressions = read_impressions(exposures, filters)
    return holdout_effect(impressions, feedback, positive=tuple(positive), alpha=alpha)

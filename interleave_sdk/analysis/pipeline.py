"""``analyze()``: logs and feedback in, a verdict out — the front door for scripts and notebooks.

It loads the inputs, runs attribution and credit on the chosen engine, and hands the outcomes to
the statistics module. The engines themselves load on first use (DuckDB is an optional extra).
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from ..errors import AnalysisInputError
from . import health, log_facts
from .athena import FeedbackInPlace
from .credit import CreditRule, get_credit_rule
from .filters import ExposureFilter
from .health import Check
from .holdout import HoldoutEffect, holdout_section
from .outcomes import CLICK_COLUMNS, EVENT_COLUMNS, Attribution
from .preference import PairAnalysis, Preference, analyse_pairs, headline
from .sequential import SequentialVerdict
from .sources import FeedbackInput, PathSpec, expand_paths, load_feedback
from .stats import Verdict, click_share_by_position

ENGINES: tuple[str, ...] = ("duckdb", "pandas")


class AttributionEngine(Protocol):
    """An engine object (e.g. :class:`~interleave_sdk.analysis.athena.AthenaEngine`): the step
    files run somewhere, the same outcomes come back."""

    name: str

    def run(
        self,
        exposures: PathSpec | None,
        feedback: pd.DataFrame | FeedbackInPlace,
        *,
        rule: CreditRule,
        kinds: Mapping[str, int],
        negative_counts: bool,
        window_seconds: int,
        filters: ExposureFilter,
    ) -> Attribution: ...
UNITS: tuple[str, ...] = ("user", "impression")


@dataclass
class AnalysisResult:
    """Every number about the experiment: the verdicts, the series and shares the report draws.

    ``arms`` are the arms compared (sorted names; two or more). ``pairs`` holds each pair's
    two-arm statistics (``preference.PairAnalysis``) and ``preference`` the matrix of them with
    ``best_arm``. ``verdict`` (fixed horizon: read once, at the planned size), ``sequential``
    (anytime-valid: read at any time) and ``series`` (both as impressions accumulate) are the
    headline: with two arms their one pair; with more, the two leading arms, with ``winner`` and
    the sequential decision naming the N-arm answer (``best_arm``), never another arm.
    ``click_shares``: where positive feedback landed, per position and team. ``experiment``: the
    log's experiment field. The report only renders these.
    """

    verdict: Verdict
    outcomes: pd.DataFrame
    matching: dict[str, int]
    data_quality: dict[str, int]
    events: pd.DataFrame = field(repr=False)
    clicks_by_position: pd.DataFrame = field(repr=False)
    sequential: SequentialVerdict
    series: pd.DataFrame = field(repr=False)
    click_shares: pd.DataFrame = field(repr=False)
    preference: Preference
    pairs: dict[tuple[str, str], PairAnalysis] = field(repr=False)
    experiment: str | None = None
    arms: tuple[str, ...] = ("A", "B")
    time_span: tuple[pd.Timestamp, pd.Timestamp] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Interleaved against measurement-holdout users (``holdout.py``); None without holdout lines.
    holdout: HoldoutEffect | None = None
    #: Interleaving records by log schema version, read and refused (``versions.tally``).
    schema_versions: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Whether the data deserve the verdict's confidence (``health.evaluate``); shown first.
    health: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready. Always: ``arms``, ``winner``, ``best_arm``, the preference matrix, every
        pair's verdict (``pairs``), the sequential verdict, counts and parameters. With two arms
        the verdict's keys sit at the top level too (the one pair); with more, only ``winner``,
        ``unit`` and ``alpha`` do, since a two-arm statistic there would describe one pair only."""
        if len(self.arms) == 2:
            top: dict[str, Any] = self.verdict.as_dict()
        else:
            top = {
                "winner": self.verdict.winner,
                "unit": self.verdict.unit,
                "alpha": self.verdict.alpha,
            }
        return {
            "health": [check.as_dict() for check in self.health],
            "arms": list(self.arms),
            **top,
            **self.preference.as_dict(),
            "sequential_best_arm": self.preference.sequential_best_arm,
            "pairs": [pair.as_dict() for pair in self.pairs.values()],
            "sequential": self.sequential.as_dict(),
            "schema_versions": {key: dict(value) for key, value in self.schema_versions.items()},
            "matching": dict(self.matching),
            "data_quality": dict(self.data_quality),
            "parameters": dict(self.parameters),
            "holdout": None if self.holdout is None else self.holdout.as_dict(),
        }


_EXPERIMENT = re.compile(rb'"experiment"\s*:\s*"((?:[^"\\]|\\.)*)"')


def experiment_name(exposures: PathSpec | None) -> str | None:
    """The experiment name(s) the ranking log records, joined by ", "; None when it has none.

    A byte scan for the ``experiment`` field rather than a JSON parse: the report only needs the
    names, and a regular expression reads a large log several times faster. ``None`` (logs that
    live in a table, not in files) names nothing.
    """
    if exposures is None:
        return None
    names: dict[str, None] = {}
    for path in expand_paths(exposures):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for line in handle:
                found = _EXPERIMENT.search(line)
                if found:
                    names.setdefault(found.group(1).decode("utf-8", "replace"))
    return ", ".join(sorted(names)) or None


def polarity_map(positive: Sequence[str], negative: Sequence[str]) -> dict[str, int]:
    """kind -> +1 / -1; a kind on both sides is ambiguous and refused."""
    positive, negative = tuple(positive), tuple(negative)
    if not positive:
        raise AnalysisInputError("at least one positive feedback kind is needed")
    both = sorted(set(positive) & set(negative))
    if both:
        raise AnalysisInputError(f"kinds both positive and negative: {', '.join(both)}")
    return {**dict.fromkeys(positive, 1), **dict.fromkeys(negative, -1)}


def window_seconds(window_hours: float) -> int:
    """The attribution window in whole seconds (the SQL files take an integer literal)."""
    if not math.isfinite(window_hours) or window_hours < 0:
        raise AnalysisInputError(f"window_hours must be a finite number >= 0, got {window_hours}")
    return round(window_hours * 3600)


def engine_name(engine: str | AttributionEngine) -> str:
    return engine if isinstance(engine, str) else engine.name


def attribute(
    exposures: PathSpec | None,
    feedback: FeedbackInput | FeedbackInPlace,
    *,
    credit: str = "competitive",
    positive: Sequence[str] = ("click", "like"),
    negative: Sequence[str] = ("nope",),
    negative_counts: bool = False,
    window_hours: float = 24.0,
    engine: str | AttributionEngine = "duckdb",
    experiment: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    columns: Mapping[str, str] | None = None,
    user_id_salt: str | bytes | None = None,
) -> tuple[Attribution, dict[str, int]]:
    """Attribution and credit only: (``Attribution``, feedback repair counts); no statistics.

    ``engine`` is a name (``duckdb``, ``pandas``) or an engine object such as
    ``AthenaEngine(...)``, whose exposures are its table (pass ``exposures=None``).
    ``experiment``, ``since`` (inclusive) and ``until`` (exclusive) select exposures by the log's
    experiment field and exposure time (UTC); see :class:`~.filters.ExposureFilter`.

    ``user_id_salt``: the salt the logs' user ids were hashed with (the ``hash_user_ids``
    processor); feedback ids are hashed the same way before the join.
    """
    result, quality, _ = _attribute(
        exposures,
        feedback,
        credit=credit,
        positive=positive,
        negative=negative,
        negative_counts=negative_counts,
        window_hours=window_hours,
        engine=engine,
        experiment=experiment,
        since=since,
        until=until,
        columns=columns,
        user_id_salt=user_id_salt,
    )
    return result, quality


def _attribute(
    exposures: PathSpec | None,
    feedback: FeedbackInput | FeedbackInPlace,
    *,
    credit: str,
    positive: Sequence[str],
    negative: Sequence[str],
    negative_counts: bool,
    window_hours: float,
    engine: str | AttributionEngine,
    experiment: str | None,
    since: datetime | str | None,
    until: datetime | str | None,
    columns: Mapping[str, str] | None,
    user_id_salt: str | bytes | None,
) -> tuple[Attribution, dict[str, int], pd.DataFrame | None]:
    """``attribute`` itself: the chosen engine's one pass over the logs, for any number of arms;
    also the feedback as read here (None for feedback read in place), for the holdout section."""
    rule = get_credit_rule(credit)
    key = _salt_key(user_id_salt)
    kinds = polarity_map(positive, negative)
    seconds = window_seconds(window_hours)
    filters = ExposureFilter.build(experiment, since, until)
    runner: Callable[..., Attribution]
    if not isinstance(engine, str):
        runner = engine.run
    elif engine == "athena":
        raise AnalysisInputError(
            "engine 'athena' needs its settings: pass engine=AthenaEngine(database=..., "
            "table=..., output=...) from interleave_sdk.analysis.athena"
        )
    elif engine not in ENGINES:
        raise AnalysisInputError(
            f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}, or an AthenaEngine"
        )
    elif engine == "duckdb":
        from .engine import DuckDBEngine

        runner = DuckDBEngine().run
    else:
        from .reference import run as runner
    if isinstance(feedback, FeedbackInPlace):
        # Read where it lies by the engine: nothing to load, map or hash in this process.
        if isinstance(engine, str):
            raise AnalysisInputError("feedback in place is read by an AthenaEngine: pass one as engine")
        if columns or key is not None:
            raise AnalysisInputError(
                "columns= and user_id_salt= apply to feedback read here; for feedback in place, "
                "name the columns and hash the ids in a view the table= argument names"
            )
        feedback_input: pd.DataFrame | FeedbackInPlace = feedback
        feedback_quality: dict[str, int] = {}
    else:
        loaded = load_feedback(feedback, columns=columns)
        feedback_input = loaded.frame if key is None else hashed_user_ids(loaded.frame, key)
        feedback_quality = loaded.quality
    result = runner(
        exposures,
        feedback_input,
        rule=rule,
        kinds=kinds,
        negative_counts=negative_counts,
        window_seconds=seconds,
        filters=filters,
    )
    multileaved = result.outcomes.groupby("ranking_id").size() if "arm_a" in result.outcomes else None
    if multileaved is not None and bool((multileaved > 1).any()):
        result.data_quality["multileaved_rankings"] = int((multileaved > 1).sum())
    return result, feedback_quality, None if isinstance(feedback_input, FeedbackInPlace) else feedback_input


def analyze(
    exposures: PathSpec | None,
    feedback: FeedbackInput | FeedbackInPlace,
    *,
    unit: str = "user",
    credit: str = "competitive",
    positive: Sequence[str] = ("click", "like"),
    negative: Sequence[str] = ("nope",),
    negative_counts: bool = False,
    window_hours: float = 24.0,
    engine: str | AttributionEngine = "duckdb",
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    series_points: int = 50,
    progress: Callable[[str], None] | None = None,
    experiment: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    columns: Mapping[str, str] | None = None,
    user_id_salt: str | bytes | None = None,
    as_of: datetime | str | None = None,
) -> AnalysisResult:
    """From ranking logs and feedback to a verdict on which arm users prefer.

    ``exposures``: a path, glob or list of JSON-lines files (plain or ``.gz``). ``feedback``: a
    CSV / JSON-lines / Parquet path, a DataFrame, or a source such as
    :class:`~interleave_sdk.analysis.sources.PostgresFeedback`. ``progress``, if given, is
    called with the name of each stage as it finishes (the CLI drives its progress bar with it).
    ``alpha`` is the level of both verdicts (fixed-horizon and sequential); ``series_points`` how
    many growing prefixes of the impressions the over-time series evaluates (0: none).
    ``experiment``, ``since``, ``until``, ``columns`` and engine objects: see :func:`attribute`.
    ``user_id_salt``: set it when the logs were written with the ``hash_user_ids(salt)``
    processor, so feedback (raw ids) is hashed with the same key and still joins.
    ``as_of``: when this look is taken (UTC); the sequential test scores only impressions whose
    attribution window had closed by then (default: the latest feedback time read). A job that
    knows its clock passes it; a finished experiment whose feedback is all in may pass any time
    after its last window.
    """
    report = progress or (lambda stage: None)
    look = None if as_of is None else parse_moment(as_of)
    if unit not in UNITS:
        raise AnalysisInputError(f"unknown unit {unit!r}; valid units: {', '.join(UNITS)}")
    if not (isinstance(alpha, float | int) and 0.0 < alpha < 1.0):
        raise AnalysisInputError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    if isinstance(series_points, bool) or not isinstance(series_points, int) or series_points < 0:
        raise AnalysisInputError(f"series_points must be an integer >= 0, got {series_points!r}")
    attributed, feedback_quality, feedback_frame = _attribute(
        exposures,
        feedback,
        credit=credit,
        positive=positive,
        negative=negative,
        negative_counts=negative_counts,
        window_hours=window_hours,
        engine=engine,
        experiment=experiment,
        since=since,
        until=until,
        columns=columns,
        user_id_salt=user_id_salt,
    )
    report("attribution")
    result = summarize(
        attributed.outcomes,
        unit=unit,
        n_boot=n_boot,
        seed=seed,
        alpha=alpha,
        series_points=series_points,
        clicks_by_position=attributed.clicks_by_position,
        matching=attributed.matching,
        data_quality={**attributed.data_quality, **feedback_quality},
        events=attributed.events,
        experiment=experiment if experiment is not None else experiment_name(exposures),
        closed_by=windows_closed_by(attributed.events, window_hours, look),
    )
    result.schema_versions = attributed.schema_versions
    filters = ExposureFilter.build(experiment, since, until)
    facts = None if exposures is None else log_facts.scan(exposures, filters)
    result.health = health.evaluate(
        result.verdict, result.events, result.data_quality, result.schema_versions, facts
    )
    if feedback_frame is not None:
        result.holdout = holdout_section(
            exposures, feedback_frame, positive=positive, alpha=alpha, filters=filters
        )
    report("statistics")
    result.parameters.update(
        {
            "unit": unit,
            "credit": credit,
            "positive": list(positive),
            "negative": list(negative),
            "negative_counts": negative_counts,
            "window_hours": window_hours,
            "engine": engine_name(engine),
            **filters.describe(),
            "columns": dict(columns) if columns else None,
            "n_boot": n_boot,
            "seed": seed,
            "alpha": alpha,
            "series_points": series_points,
            "user_ids_hashed": user_id_salt is not None,
            "as_of": None if look is None else look.isoformat(),
        }
    )
    return result


def summarize(
    outcomes: pd.DataFrame,
    *,
    unit: str = "user",
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    series_points: int = 50,
    clicks_by_position: pd.DataFrame | None = None,
    matching: dict[str, int] | None = None,
    data_quality: dict[str, int] | None = None,
    events: pd.DataFrame | None = None,
    experiment: str | None = None,
    closed_by: pd.Timestamp | None = None,
) -> AnalysisResult:
    """Every statistic of an outcomes table (contract 3: a row per impression and pair of arms)
    into an :class:`AnalysisResult`.

    What :func:`analyze` does after attribution; also the way to a report from outcomes computed
    elsewhere. Counts and tables not given are empty. ``closed_by``: the sequential test scores
    only impressions shown at or before it (see ``stats.compute_sequential``; None: all).
    """
    clicks = clicks_by_position if clicks_by_position is not None else _empty(CLICK_COLUMNS)
    pairs, preference = analyse_pairs(
        outcomes,
        unit=unit,
        n_boot=n_boot,
        seed=seed,
        alpha=alpha,
        series_points=series_points,
        closed_by=closed_by,
    )
    head = headline(pairs, preference)
    return AnalysisResult(
        verdict=head.verdict,
        outcomes=outcomes,
        matching=dict(matching or {}),
        data_quality=dict(data_quality or {}),
        events=events if events is not None else _empty(EVENT_COLUMNS),
        clicks_by_position=clicks,
        sequential=head.sequential,
        series=head.series,
        click_shares=click_share_by_position(clicks),
        preference=preference,
        pairs=pairs,
        experiment=experiment,
        arms=preference.arms,
        time_span=time_span(outcomes),
    )


def parse_moment(moment: datetime | str) -> pd.Timestamp:
    """``as_of`` as a UTC timestamp (text as ``--since`` takes it; naive times are UTC)."""
    from .filters import parse_time

    parsed = parse_time(moment, option="as_of") if isinstance(moment, str) else moment
    stamp = pd.Timestamp(parsed)
    utc: pd.Timestamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return utc


def windows_closed_by(
    events: pd.DataFrame, window_hours: float, as_of: pd.Timestamp | None = None
) -> pd.Timestamp | None:
    """Impressions shown at or before this time have a closed attribution window: ``as_of``
    (else the latest feedback time the analysis read), less the window. None without either.

    The feedback's own clock, not the machine's, so a re-run on the same files gives the same
    verdict; it assumes feedback is stored roughly in time order (an event stamped long before
    the latest one but delivered later could still change an impression already scored).
    """
    latest = as_of
    if latest is None:
        stamps = pd.to_datetime(events["ts"], utc=True).dropna() if len(events) else None
        if stamps is None or stamps.empty:
            return None
        latest = pd.Timestamp(stamps.max())
    closed: pd.Timestamp = latest - pd.Timedelta(hours=window_hours)
    return closed


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    frame: pd.DataFrame = pd.DataFrame({name: pd.Series([], dtype=object) for name in columns})
    return frame


def time_span(outcomes: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last interleaved impression (UTC), or None without timestamps."""
    if len(outcomes) == 0 or "ts" not in outcomes.columns:
        return None
    ts = pd.to_datetime(outcomes["ts"], utc=True).dropna()
    if ts.empty:
        return None
    return ts.min(), ts.max()


def _salt_key(salt: object) -> bytes | None:
    if salt is None:
        return None
    from ..observability.processors import check_salt

    try:
        return check_salt(salt)
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(f"user_id_salt: {exc}") from exc


def hashed_user_ids(feedback: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Feedback with each user id replaced by its keyed hash, as the logging processor wrote it."""
    from ..observability.processors import hash_user_id

    users = feedback["user_id"].map(lambda user: hash_user_id(user, key) if isinstance(user, str) else user)
    hashed: pd.DataFrame = feedback.assign(user_id=users)
    return hashed

"""``analyze()``: logs and feedback in, a verdict out — the front door for scripts and notebooks.

It loads the inputs, runs attribution and credit on the chosen engine, and hands the outcomes to
the statistics module. The engines themselves load on first use (DuckDB is an optional extra).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import AnalysisInputError
from . import multileave
from .credit import get_credit_rule
from .multileave import Preference
from .outcomes import Attribution
from .sources import FeedbackInput, PathSpec, load_feedback
from .stats import Verdict, compute_verdict

ENGINES: tuple[str, ...] = ("duckdb", "pandas")
UNITS: tuple[str, ...] = ("user", "impression")


@dataclass
class AnalysisResult:
    """The verdict, the per-impression outcomes behind it, and the counts that qualify it.

    ``clicks_by_position`` (position, source_ranker, clicks) says where positive feedback landed;
    the report draws its click-share plot from it.
    """

    verdict: Verdict
    outcomes: pd.DataFrame
    matching: dict[str, int]
    data_quality: dict[str, int]
    events: pd.DataFrame = field(repr=False)
    clicks_by_position: pd.DataFrame = field(repr=False)
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Every pair of arms; two arms give the verdict's one pair (see ``multileave``).
    preference: Preference | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the verdict's keys at the top level, the preference matrix and best arm,
        plus counts and parameters."""
        preference = self.preference or multileave.from_verdict(self.verdict)
        return {
            **self.verdict.as_dict(),
            **preference.as_dict(),
            "matching": dict(self.matching),
            "data_quality": dict(self.data_quality),
            "parameters": dict(self.parameters),
        }


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


def attribute(
    exposures: PathSpec,
    feedback: FeedbackInput,
    *,
    credit: str = "competitive",
    positive: Sequence[str] = ("click", "like"),
    negative: Sequence[str] = ("nope",),
    negative_counts: bool = False,
    window_hours: float = 24.0,
    engine: str = "duckdb",
) -> tuple[Attribution, dict[str, int]]:
    """Attribution and credit only: (``Attribution``, feedback repair counts); no statistics."""
    result, quality, _ = _attribute(
        exposures,
        feedback,
        credit=credit,
        positive=positive,
        negative=negative,
        negative_counts=negative_counts,
        window_hours=window_hours,
        engine=engine,
    )
    return result, quality


def _attribute(
    exposures: PathSpec,
    feedback: FeedbackInput,
    *,
    credit: str,
    positive: Sequence[str],
    negative: Sequence[str],
    negative_counts: bool,
    window_hours: float,
    engine: str,
) -> tuple[Attribution, dict[str, int], multileave.ArmCredits | None]:
    """``attribute``, plus every arm's credit when the log multileaves.

    The two-arm engines set aside lines whose items name arms other than A and B (counted as
    invalid items); only when there are such lines does the multileaving pass read the log again,
    and its matrix then covers every arm (three or more, or two named otherwise).
    """
    rule = get_credit_rule(credit)
    kinds = polarity_map(positive, negative)
    seconds = window_seconds(window_hours)
    if engine not in ENGINES:
        raise AnalysisInputError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
    loaded = load_feedback(feedback)
    runner: Callable[..., Attribution]
    if engine == "duckdb":
        from .engine import DuckDBEngine

        runner = DuckDBEngine().run
    else:
        from .reference import run as runner
    result = runner(
        exposures,
        loaded.frame,
        rule=rule,
        kinds=kinds,
        negative_counts=negative_counts,
        window_seconds=seconds,
    )
    credited = None
    if result.data_quality.get("invalid_items", 0) > 0:
        credited = multileave.arm_credits(
            exposures,
            loaded.frame,
            rule=rule,
            kinds=kinds,
            negative_counts=negative_counts,
            window_seconds=seconds,
            engine=engine,
        )
        imps = credited.impressions
        if imps["two_arm"].all():  # nothing beyond A and B: the rejected lines were broken
            credited = None
        else:
            # Lines the two-arm engine rejected only for naming other arms are not broken.
            result.data_quality["invalid_items"] -= int((~imps["two_arm"]).sum())
            result.data_quality["multileaved_rankings"] = int((imps["arms"] > 2).sum())
    return result, loaded.quality, credited


def analyze(
    exposures: PathSpec,
    feedback: FeedbackInput,
    *,
    unit: str = "user",
    credit: str = "competitive",
    positive: Sequence[str] = ("click", "like"),
    negative: Sequence[str] = ("nope",),
    negative_counts: bool = False,
    window_hours: float = 24.0,
    engine: str = "duckdb",
    n_boot: int = 1000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """From ranking logs and feedback to a verdict on which arm users prefer.

    ``exposures``: a path, glob or list of JSON-lines files (plain or ``.gz``). ``feedback``: a
    CSV / JSON-lines / Parquet path, a DataFrame, or a source such as
    :class:`~interleave_sdk.analysis.sources.PostgresFeedback`. ``progress``, if given, is
    called with the name of each stage as it finishes (the CLI drives its progress bar with it).
    """
    report = progress or (lambda stage: None)
    if unit not in UNITS:
        raise AnalysisInputError(f"unknown unit {unit!r}; valid units: {', '.join(UNITS)}")
    attributed, feedback_quality, credited = _attribute(
        exposures,
        feedback,
        credit=credit,
        positive=positive,
        negative=negative,
        negative_counts=negative_counts,
        window_hours=window_hours,
        engine=engine,
    )
    report("attribution")
    verdict = compute_verdict(attributed.outcomes, unit=unit, n_boot=n_boot, seed=seed)
    if credited is None:
        preference = multileave.from_verdict(verdict)
    else:
        preference = multileave.preference(credited, unit=unit, alpha=verdict.alpha)
    report("statistics")
    return AnalysisResult(
        verdict=verdict,
        outcomes=attributed.outcomes,
        matching=attributed.matching,
        data_quality={**attributed.data_quality, **feedback_quality},
        events=attributed.events,
        clicks_by_position=attributed.clicks_by_position,
        parameters={
            "unit": unit,
            "credit": credit,
            "positive": list(positive),
            "negative": list(negative),
            "negative_counts": negative_counts,
            "window_hours": window_hours,
            "engine": engine,
            "n_boot": n_boot,
            "seed": seed,
        },
        preference=preference,
    )

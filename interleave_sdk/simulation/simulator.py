"""Drive simulated traffic through a real decorated handler, write logs and feedback, analyse them.

Interleaving run: every request goes through the host's ``@interleaved`` handler (static config,
mode INTERLEAVE); the SDK's own sink writes the ranking log lines to disk; a click model judges the
served list and its clicks are written as feedback events; ``interleave_sdk.analysis.analyze`` then
reads the files like production logs and gives both verdicts (fixed-horizon and sequential), and
``write_report`` renders that result. A/B run: the same users and sessions, each request sent at
random to a handler configured for mode A or B; its tests (Welch's t-test at the planned size, and
the same normal-mixture sequential boundary as the analysis's confidence sequence) live in
``significance`` and ``monitoring``, because the analysis package judges interleaving, not A/B splits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson
import pandas as pd

from ..analysis.credit import available_credit_rules
from ..analysis.pipeline import AnalysisResult, analyze
from ..analysis.report import write_report
from ..config.providers import ConfigProvider, StaticConfig
from ..context import last_ranking_id
from ..observability.sinks import JsonLineSink
from .click_models import ClickModel, get_click_model
from .monitoring import monitor_ab
from .outcomes import Impressions, common_prefix, tally
from .significance import welch_p

Handler = Callable[[str, Mapping[str, object]], pd.DataFrame]

#: Simulated wall-clock start; requests are spaced by ``REQUEST_GAP`` and clicks follow them.
EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)
REQUEST_GAP = timedelta(seconds=6)
SIM_TIMEOUT_MS = 30_000.0
#: Per-impression A/B metrics: reciprocal rank of the first click, clicks per impression.
AB_METRICS: tuple[str, ...] = ("rr", "clicks")


class Scenario(Protocol):
    """A host system under test: its users, its decorated handler and its users' hidden grades."""

    def user_ids(self) -> Sequence[str]: ...

    def handler(self, *, config: ConfigProvider, experiment: str, **options: Any) -> Handler: ...

    def grades(self, user_id: str, item_ids: Sequence[str]) -> list[int]: ...

    def ranked_ids(self, arm: str, user_id: str, context: Mapping[str, object]) -> list[str]: ...

    def true_quality(self, n_requests: int = ...) -> dict[str, float]:
        """Each arm's true quality on the hidden grades: the order a test should find."""
        ...


class SimulatedClock:
    """Wall clock set by the simulator (reproducible log stamps); real monotonic latencies."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self.current = start

    def monotonic(self) -> float:
        return time.perf_counter()

    def now(self) -> datetime:
        return self.current


class SeededIds:
    """Ranking ids from a seeded generator, so two runs with one seed write identical logs."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def __call__(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"


@dataclass(frozen=True)
class SimulationSettings:
    """What to simulate. ``requests`` is per run (interleaving and A/B each get that many).

    ``credit``, ``unit``, ``n_boot`` and ``alpha`` go to the analysis unchanged (``alpha`` also
    to the A/B tests); ``points`` is how many looks at the growing traffic the analysis's series
    and the A/B sequential test evaluate (the sequential decisions are read at those looks).
    ``ab_metric`` is the A/B test's preplanned primary metric: ``rr`` (reciprocal rank of the
    first click) or ``clicks`` (clicks per impression).
    """

    requests: int = 2000
    click_model: str = "navigational"
    seed: int = 0
    experiment: str = "sim"
    method: str = "team_draft_v1"
    seed_strategy: str = "request"
    credit: str = "competitive"
    unit: str = "user"
    n_boot: int = 1000
    points: int = 50
    ab: bool = True
    alpha: float = 0.05
    ab_metric: str = "rr"

    def __post_init__(self) -> None:
        if self.ab_metric not in AB_METRICS:
            raise ValueError(
                f"unknown ab_metric {self.ab_metric!r}; valid metrics: {', '.join(AB_METRICS)}"
            )
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {self.alpha!r}")


@dataclass(frozen=True)
class Request:
    user_id: str
    session: int


@dataclass
class InterleavingRun:
    """Files written and what the simulator itself saw of each interleaved impression."""

    exposures: Path
    feedback: Path
    impressions: Impressions  # teams and common prefix of each interleaved impression
    clicks: np.ndarray[Any, np.dtype[np.bool_]]  # (n, k) click flags, aligned with ``impressions``
    fallbacks: list[str]  # fallback_reason of each request that was not interleaved

    def tallies(self) -> dict[str, dict[str, int]]:
        """Impression wins and ties under every credit rule, by the fast path's vectorised code."""
        keys = ("wins_a", "wins_b", "ties")
        return {
            credit: dict(zip(keys, tally(self.impressions.codes(self.clicks, credit)), strict=True))
            for credit in available_credit_rules()
        }


@dataclass
class ABRun:
    """The A/B counterpart: per-impression clicks and reciprocal rank of the first click."""

    exposures: Path
    feedback: Path
    arms: list[str]
    clicks: list[int]
    rr: list[float]


@dataclass
class SimulationResult:
    """The analysis of the files, the A/B counterpart, and where each sequential test decided."""

    settings: SimulationSettings
    verdict: dict[str, Any]  # ``analyze(...).verdict.as_dict()`` on the interleaving files
    interleaving: dict[str, Any]
    ab: dict[str, Any] | None
    files: dict[str, str]
    seconds: float
    analysis: AnalysisResult

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the analysis frames."""
        return {
            "settings": asdict(self.settings),
            "verdict": self.verdict,
            "interleaving": self.interleaving,
            "ab": self.ab,
            "files": self.files,
            "seconds": self.seconds,
        }

    def story(self) -> str:
        """The one sentence the demo prints: where each sequential test could validly stop.

        Both are read at the same looks and are valid however many looks there are; a test that
        did not decide says so, and each decision names its arm so a wrong one is visible.
        """
        alpha = f"{self.settings.alpha:g}"
        il = self.interleaving
        left = (
            f"the interleaving sequential test decided {il['decision']} "
            f"after {il['decided_at']:,} impressions"
            if il["decided_at"] is not None
            else f"the interleaving sequential test had not decided at α = {alpha} "
            f"after {il['impressions']:,} impressions"
        )
        if self.ab is None:
            return left
        ab = self.ab
        right = (
            f"the A/B sequential test on {ab['metric']} decided {ab['decision']} "
            f"after {ab['decided_at']:,}"
            if ab["decided_at"] is not None
            else f"the A/B sequential test on {ab['metric']} had not decided "
            f"after {ab['impressions']:,}"
        )
        return f"{left}; {right}"


def traffic(users: Sequence[str], n: int, seed: int) -> list[Request]:
    """``n`` requests from users drawn uniformly at random, each with its own session number."""
    rng = np.random.default_rng([seed, 1])
    who = rng.integers(len(users), size=n)
    sessions = rng.integers(2**31, size=n)
    return [Request(users[u], int(s)) for u, s in zip(who, sessions, strict=True)]


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class FeedbackWriter:
    """Feedback events (user_id, item_id, ts, kind, ranking_id) as JSON lines or CSV."""

    COLUMNS = ("user_id", "item_id", "ts", "kind", "ranking_id")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, str]] = []

    def clicks(
        self,
        user: str,
        ranking_id: str,
        items: Sequence[str],
        flags: Sequence[bool],
        served_at: datetime,
    ) -> None:
        for position, (item, clicked) in enumerate(zip(items, flags, strict=True), start=1):
            if clicked:
                at = served_at + timedelta(seconds=2 + 2 * position)  # read top-down
                self.rows.append(
                    {
                        "user_id": user,
                        "item_id": item,
                        "ts": iso(at),
                        "kind": "click",
                        "ranking_id": ranking_id,
                    }
                )

    def close(self) -> None:
        if self.path.suffix == ".csv":
            pd.DataFrame(self.rows, columns=list(self.COLUMNS)).to_csv(self.path, index=False)
            return
        with self.path.open("wb") as out:
            for row in self.rows:
                out.write(orjson.dumps(row) + b"\n")


def _click_rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def run_interleaving(
    scenario: Scenario,
    requests: Sequence[Request],
    settings: SimulationSettings,
    out_dir: Path,
    model: ClickModel,
) -> InterleavingRun:
    """Serve ``requests`` through the decorated handler in INTERLEAVE mode and simulate clicks."""
    exposures = out_dir / "exposures.jsonl"
    feedback = FeedbackWriter(out_dir / "feedback.jsonl")
    clock = SimulatedClock()
    # A generous deadline: a loaded test machine must not turn latency into fallbacks here.
    config = StaticConfig(
        mode="INTERLEAVE",
        sampling_rate=1.0,
        interleave_method=settings.method,
        seed_strategy=settings.seed_strategy,
        timeout_ms=SIM_TIMEOUT_MS,
    )
    records: list[dict[str, Any]] = []
    rng = _click_rng(settings.seed, 2)
    teams: list[list[int]] = []
    clicks: list[list[bool]] = []
    prefix: list[int] = []
    fallbacks: list[str] = []
    with exposures.open("w", encoding="utf-8") as log:
        file_sink = JsonLineSink(log)

        def sink(record: dict[str, Any]) -> None:
            file_sink(record)
            records.append(record)

        handler = scenario.handler(
            config=config,
            experiment=settings.experiment,
            sink=sink,
            clock=clock,
            id_factory=SeededIds(settings.seed),
        )
        for i, req in enumerate(requests):
            clock.current = EPOCH + i * REQUEST_GAP
            frame = handler(req.user_id, {"session": req.session})
            record = records[-1]
            items = [str(x) for x in frame["item_id"]]
            flags = model.clicks(scenario.grades(req.user_id, items), rng)
            feedback.clicks(req.user_id, str(last_ranking_id()), items, flags, clock.current)
            if record["served"] != "interleaved":  # a fail-open fallback: no comparison
                fallbacks.append(str(record["fallback_reason"]))
                continue
            teams.append([1 if entry["source_ranker"] == "A" else -1 for entry in record["items"]])
            clicks.append(flags)
            arms = record["arms"]
            prefix.append(min(common_prefix(arms["A"]["top"], arms["B"]["top"]), len(items)))
    feedback.close()
    return InterleavingRun(
        exposures=exposures,
        feedback=feedback.path,
        impressions=Impressions(_pad(teams), np.asarray(prefix, dtype=np.int64)),
        clicks=_pad(clicks).astype(bool),
        fallbacks=fallbacks,
    )


def _pad(rows: Sequence[Sequence[Any]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Rows of unequal length as one zero-padded matrix (a short list has fewer positions)."""
    width = max((len(r) for r in rows), default=0)
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = np.asarray(row, dtype=np.int64)
    return out


def run_ab(
    scenario: Scenario,
    requests: Sequence[Request],
    settings: SimulationSettings,
    out_dir: Path,
    model: ClickModel,
) -> ABRun:
    """The same requests, each served by arm A or B at random (seeded), through the handler."""
    exposures = out_dir / "ab_exposures.jsonl"
    feedback = FeedbackWriter(out_dir / "ab_feedback.jsonl")
    clock = SimulatedClock()
    assign = np.random.default_rng([settings.seed, 3]).integers(2, size=len(requests))
    rng = _click_rng(settings.seed, 4)
    arms: list[str] = []
    clicks: list[int] = []
    rr: list[float] = []
    with exposures.open("w", encoding="utf-8") as log:
        sink = JsonLineSink(log)
        ids = SeededIds(settings.seed + 1)
        handlers = {
            arm: scenario.handler(
                config=StaticConfig(mode=arm, timeout_ms=SIM_TIMEOUT_MS),
                experiment=settings.experiment,
                sink=sink,
                clock=clock,
                id_factory=ids,
            )
            for arm in ("A", "B")
        }
        for i, (req, which) in enumerate(zip(requests, assign, strict=True)):
            arm = "AB"[int(which)]
            clock.current = EPOCH + i * REQUEST_GAP
            frame = handlers[arm](req.user_id, {"session": req.session})
            items = [str(x) for x in frame["item_id"]]
            flags = model.clicks(scenario.grades(req.user_id, items), rng)
            feedback.clicks(req.user_id, str(last_ranking_id()), items, flags, clock.current)
            arms.append(arm)
            clicks.append(sum(flags))
            first = next((p for p, f in enumerate(flags, start=1) if f), None)
            rr.append(0.0 if first is None else 1.0 / first)
    feedback.close()
    return ABRun(exposures, feedback.path, arms, clicks, rr)


def summarise_interleaving(
    run: InterleavingRun, analysis: AnalysisResult, settings: SimulationSettings
) -> dict[str, Any]:
    """Both verdicts of the analysis, and the first look at which the sequential one decided.

    The looks are the analysis's own series (``settings.points`` growing prefixes of the traffic),
    so they are the points the report plots.
    """
    series = analysis.series
    sizes = series["impressions_total"].to_numpy(dtype=np.int64)
    decisions = series["decision"].astype(str).to_numpy()
    decided = np.flatnonzero(decisions != "continue")
    return {
        "impressions": len(analysis.outcomes),
        "fallbacks": len(run.fallbacks),
        "clicks": int(run.clicks.sum()),
        "winner": analysis.verdict.winner,
        "p_value": analysis.verdict.p_value,
        "sequential": analysis.sequential.as_dict(),
        "decision": str(decisions[decided[0]]) if decided.size else "continue",
        "decided_at": int(sizes[decided[0]]) if decided.size else None,
        "curve": {
            "impressions": sizes.tolist(),
            "p_value": series["p_value"].to_numpy(dtype=np.float64).tolist(),
            "sequential_p": series["sequential_p"].to_numpy(dtype=np.float64).tolist(),
        },
        "simulated": run.tallies(),
    }


def summarise_ab(
    run: ABRun, sizes: Sequence[int], alpha: float, metric: str = "rr"
) -> dict[str, Any]:
    """Welch's t-test per metric at the full size, and the sequential test on ``metric`` at ``sizes``.

    ``metric`` is planned before the run (never "whichever looks best afterwards"): its
    sequential decision at the looks ``sizes`` is the A/B side of the story. A higher metric is
    the better arm, for both metrics.
    """
    is_b = np.asarray(run.arms) == "B"
    out: dict[str, Any] = {
        "impressions": len(run.arms),
        "n_a": int((~is_b).sum()),
        "n_b": int(is_b.sum()),
        "metric": metric,
    }
    grid = np.unique(np.append(np.asarray(sizes, dtype=np.int64), len(run.arms)))
    grid = grid[(grid >= 1) & (grid <= len(run.arms))]
    values = {"clicks": run.clicks, "rr": run.rr}
    for name, column in values.items():
        x = np.asarray(column, dtype=np.float64)
        p = _cumulative_welch(x, is_b, grid[-1:])
        mean_a, mean_b = float(x[~is_b].mean()), float(x[is_b].mean())
        out[name] = {
            "mean_a": mean_a,
            "mean_b": mean_b,
            "p_value": float(p[-1]),
            "winner": _winner(int(mean_a > mean_b), int(mean_b > mean_a), float(p[-1]), alpha),
        }
    watched = monitor_ab(
        is_b[None, :], np.asarray(values[metric], dtype=np.float64)[None, :], grid, alpha=alpha
    )
    code = int(watched.first_decision()[0])
    stop = float(watched.stopped_at()[0])
    out["decision"] = {1: "A", -1: "B", 0: "continue"}[code]
    out["decided_at"] = None if np.isnan(stop) else int(stop)
    out["winner"] = out[metric]["winner"]
    out["p_value"] = out[metric]["p_value"]
    return out


def _cumulative_welch(
    x: np.ndarray[Any, Any], is_b: np.ndarray[Any, Any], sizes: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    stats = []
    for arm in (~is_b, is_b):
        n = np.cumsum(arm)[sizes - 1]
        s = np.cumsum(np.where(arm, x, 0.0))[sizes - 1]
        ss = np.cumsum(np.where(arm, x * x, 0.0))[sizes - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, s / np.maximum(n, 1), 0.0)
            var = np.where(n > 1, (ss - n * mean**2) / np.maximum(n - 1, 1), 0.0)
        stats.append((mean, np.maximum(var, 0.0), n))
    (ma, va, na), (mb, vb, nb) = stats
    return welch_p(ma, va, na, mb, vb, nb)


def _winner(a: int, b: int, p: float, alpha: float) -> str:
    if p >= alpha or a == b:
        return "none"
    return "A" if a > b else "B"


def simulate(
    scenario: Scenario, settings: SimulationSettings, out_dir: Path, *, report_dir: Path | None = None
) -> SimulationResult:
    """Interleaving (and A/B unless disabled) on the same traffic; the analysis reads the files.

    With ``report_dir`` the analysis's Markdown report and plots are written there too.
    """
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    model = get_click_model(settings.click_model)
    requests = traffic(scenario.user_ids(), settings.requests, settings.seed)
    il = run_interleaving(scenario, requests, settings, out_dir, model)
    files = {"exposures": str(il.exposures), "feedback": str(il.feedback)}
    analysis = analyze(
        il.exposures,
        il.feedback,
        unit=settings.unit,
        credit=settings.credit,
        n_boot=settings.n_boot,
        seed=settings.seed,
        alpha=settings.alpha,
        series_points=settings.points,
        # Every click is written as its impression is served: the run's feedback is complete.
        as_of=EPOCH + len(requests) * REQUEST_GAP + timedelta(hours=24),
    )
    il_summary = summarise_interleaving(il, analysis, settings)
    ab_summary = None
    if settings.ab:
        ab = run_ab(scenario, requests, settings, out_dir, model)
        files.update(ab_exposures=str(ab.exposures), ab_feedback=str(ab.feedback))
        ab_summary = summarise_ab(
            ab, il_summary["curve"]["impressions"], settings.alpha, settings.ab_metric
        )
    if report_dir is not None:
        files["report"] = str(write_report(analysis, report_dir))
    return SimulationResult(
        settings=settings,
        verdict=analysis.verdict.as_dict(),
        interleaving=il_summary,
        ab=ab_summary,
        files=files,
        seconds=time.perf_counter() - started,
        analysis=analysis,
    )

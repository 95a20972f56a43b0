"""Drive simulated traffic through a real decorated handler, write logs and feedback, compare.

Interleaving run: every request goes through the host's ``@interleaved`` handler (static config,
mode INTERLEAVE); the SDK's own sink writes the ranking log lines to disk; a click model judges the
served list and its clicks are written as feedback events. A/B run: the same users and sessions,
each request sent at random to a handler configured for mode A or B. The analysis package then
reads the files like it would read production logs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson
import pandas as pd

from ..config.providers import ConfigProvider, StaticConfig
from ..observability.sinks import JsonLineSink
from .click_models import ClickModel, get_click_model
from .outcomes import neutral_positions, outcome_codes, tally
from .significance import settled_at, sign_test_p, welch_p

Handler = Callable[[str, Mapping[str, object]], pd.DataFrame]

#: Simulated wall-clock start; requests are spaced by ``REQUEST_GAP`` and clicks follow them.
EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)
REQUEST_GAP = timedelta(seconds=6)
SIM_TIMEOUT_MS = 30_000.0


class Scenario(Protocol):
    """A host system under test: its users, its decorated handler and its users' hidden grades."""

    def user_ids(self) -> Sequence[str]: ...

    def handler(self, *, config: ConfigProvider, experiment: str, **options: Any) -> Handler: ...

    def grades(self, user_id: str, item_ids: Sequence[str]) -> list[int]: ...

    def ranked_ids(self, arm: str, user_id: str, context: Mapping[str, object]) -> list[str]: ...


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
    """What to simulate. ``requests`` is per run (interleaving and A/B each get that many)."""

    requests: int = 2000
    click_model: str = "navigational"
    seed: int = 0
    experiment: str = "sim"
    method: str = "team_draft_v1"
    seed_strategy: str = "request"
    credit: str = "competitive"
    unit: str = "user"
    checkpoint: int = 50
    ab: bool = True
    alpha: float = 0.05


@dataclass(frozen=True)
class Request:
    user_id: str
    session: int


@dataclass
class InterleavingRun:
    """Files written and what the simulator itself saw, for the sequential curve and checks."""

    exposures: Path
    feedback: Path
    impressions: int
    clicks: int
    codes: dict[str, list[int]]  # credit rule -> outcome per impression (+1 A, -1 B, 0 tie)
    fallbacks: list[str]  # fallback_reason of each request that was not interleaved


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
    settings: SimulationSettings
    interleaving: dict[str, Any]
    ab: dict[str, Any] | None
    verdict: dict[str, Any] | None
    analysis_error: str | None
    files: dict[str, str]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["settings"] = asdict(self.settings)
        return out

    def story(self) -> str:
        """The one sentence the demo prints."""
        x = self.interleaving.get("settled_at")
        y = self.ab.get("settled_at") if self.ab else None
        left = (
            f"the interleaving test reached p < {self.settings.alpha:g} after {x} impressions"
            if x is not None
            else f"the interleaving test did not reach p < {self.settings.alpha:g} "
            f"within {self.interleaving['impressions']} impressions"
        )
        if self.ab is None:
            return left
        right = (
            f"the A/B test on comparable traffic needed {y}"
            if y is not None
            else f"the A/B test on comparable traffic had not after {self.ab['impressions']}"
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
        teams: list[list[int]] = []
        clicks: list[list[bool]] = []
        neutral: dict[str, list[list[bool]]] = {"competitive": [], "team_draft": []}
        fallbacks: list[str] = []
        for i, req in enumerate(requests):
            clock.current = EPOCH + i * REQUEST_GAP
            frame = handler(req.user_id, {"session": req.session})
            record = records[-1]
            items = [str(x) for x in frame["item_id"]]
            flags = model.clicks(scenario.grades(req.user_id, items), rng)
            feedback.clicks(req.user_id, str(frame.attrs["ranking_id"]), items, flags, clock.current)
            if record["served"] != "interleaved":  # a fail-open fallback: no comparison
                fallbacks.append(str(record["fallback_reason"]))
                continue
            sources = [entry["source_ranker"] for entry in record["items"]]
            teams.append([1 if s == "A" else -1 for s in sources])
            clicks.append(flags)
            arms = record["arms"]
            for credit, rows in neutral.items():
                rows.append(neutral_positions(items, arms["A"]["top"], arms["B"]["top"], credit))
    feedback.close()
    codes = {
        credit: outcome_codes(_pad(teams), _pad(clicks), _pad(rows)).tolist()
        for credit, rows in neutral.items()
    }
    return InterleavingRun(
        exposures=exposures,
        feedback=feedback.path,
        impressions=len(teams),
        clicks=int(sum(sum(c) for c in clicks)),
        codes=codes,
        fallbacks=fallbacks,
    )


def _pad(rows: Sequence[Sequence[Any]]) -> np.ndarray[Any, Any]:
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
            feedback.clicks(req.user_id, str(frame.attrs["ranking_id"]), items, flags, clock.current)
            arms.append(arm)
            clicks.append(sum(flags))
            first = next((p for p, f in enumerate(flags, start=1) if f), None)
            rr.append(0.0 if first is None else 1.0 / first)
    feedback.close()
    return ABRun(exposures, feedback.path, arms, clicks, rr)


def checkpoints(n: int, step: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    sizes = np.arange(step, n + 1, step, dtype=np.int64)
    return sizes if sizes.size and sizes[-1] == n else np.append(sizes, n)


def summarise_interleaving(run: InterleavingRun, credit: str, step: int, alpha: float) -> dict[str, Any]:
    """Impression-level sign test, overall and at every ``step`` impressions."""
    codes = np.asarray(run.codes[credit])
    sizes = checkpoints(len(codes), step)
    wins_a = np.cumsum(codes > 0)[sizes - 1]
    wins_b = np.cumsum(codes < 0)[sizes - 1]
    p = sign_test_p(wins_a, wins_b)
    a, b, ties = tally(codes)
    return {
        "credit": credit,
        "unit": "impression",
        "impressions": run.impressions,
        "fallbacks": len(run.fallbacks),
        "clicks": run.clicks,
        "wins_a": a,
        "wins_b": b,
        "ties": ties,
        "winner": _winner(a, b, float(p[-1]), alpha),
        "p_value": float(p[-1]),
        "settled_at": settled_at(p, sizes, alpha),
        "curve": {"impressions": sizes.tolist(), "p_value": p.tolist()},
        "by_credit": {
            c: dict(zip(("wins_a", "wins_b", "ties"), tally(v), strict=True)) for c, v in run.codes.items()
        },
    }


def summarise_ab(run: ABRun, step: int, alpha: float) -> dict[str, Any]:
    """Welch t-tests on clicks per impression and on reciprocal rank, overall and cumulatively."""
    is_b = np.asarray(run.arms) == "B"
    out: dict[str, Any] = {
        "impressions": len(run.arms),
        "n_a": int((~is_b).sum()),
        "n_b": int(is_b.sum()),
    }
    sizes = checkpoints(len(run.arms), step)
    for metric, values in (("clicks", run.clicks), ("rr", run.rr)):
        x = np.asarray(values, dtype=np.float64)
        p = _cumulative_welch(x, is_b, sizes)
        mean_a, mean_b = float(x[~is_b].mean()), float(x[is_b].mean())
        out[metric] = {
            "mean_a": mean_a,
            "mean_b": mean_b,
            "p_value": float(p[-1]),
            "winner": _winner(int(mean_a > mean_b), int(mean_b > mean_a), float(p[-1]), alpha),
            "settled_at": settled_at(p, sizes, alpha),
            "curve": {"impressions": sizes.tolist(), "p_value": p.tolist()},
        }
    # The headline A/B metric is whichever settles first: A/B gets its best case in the story.
    settled = {m: out[m]["settled_at"] for m in ("clicks", "rr") if out[m]["settled_at"]}
    best = min(settled, key=lambda m: settled[m]) if settled else "rr"
    out["metric"] = best
    out["winner"] = out[best]["winner"]
    out["p_value"] = out[best]["p_value"]
    out["settled_at"] = out[best]["settled_at"]
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


def analyse(exposures: Path, feedback: Path, unit: str, credit: str) -> Any:
    """The analysis package's verdict on the files, exactly as a user would run it."""
    from ..analysis import analyze  # late: heavy optional stack

    return analyze(exposures=exposures, feedback=feedback, unit=unit, credit=credit)


def simulate(
    scenario: Scenario, settings: SimulationSettings, out_dir: Path, *, analysis: bool = True
) -> SimulationResult:
    """Run interleaving (and A/B unless disabled) on the same traffic, then analyse the logs."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    model = get_click_model(settings.click_model)
    requests = traffic(scenario.user_ids(), settings.requests, settings.seed)
    il = run_interleaving(scenario, requests, settings, out_dir, model)
    files = {"exposures": str(il.exposures), "feedback": str(il.feedback)}
    il_summary = summarise_interleaving(il, settings.credit, settings.checkpoint, settings.alpha)
    ab_summary = None
    if settings.ab:
        ab = run_ab(scenario, requests, settings, out_dir, model)
        files.update(ab_exposures=str(ab.exposures), ab_feedback=str(ab.feedback))
        ab_summary = summarise_ab(ab, settings.checkpoint, settings.alpha)
    verdict: dict[str, Any] | None = None
    error: str | None = None
    if analysis:
        try:
            result = analyse(il.exposures, il.feedback, settings.unit, settings.credit)
            verdict = result.verdict.as_dict()
        except ImportError as exc:
            error = f"analysis package not available: {exc}"
    return SimulationResult(
        settings, il_summary, ab_summary, verdict, error, files, time.perf_counter() - started
    )

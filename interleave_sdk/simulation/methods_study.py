"""Team Draft, Optimized and multileaving compared on the same simulated worlds.

For one world of the sample recommender with several model versions of known quality, every
method serves lists drawn by the real ``interleave`` API from the same ranked requests, and the
click models judge them. Per-impression credits come from the analysis's own definitions (credit
rules, ``rank_credit``) and the statistics from the analysis's functions (``preference``'s
preference matrix and Holm correction, the sign test pinned to ``analysis.stats``), so the study
measures the methods, not a second implementation. Run it with
``python -m interleave_sdk.simulation.methods_study --out DIR``; docs/multileaving.md holds the table.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..analysis import rank_credit
from ..analysis.credit import get_credit_rule
from ..analysis.preference import Preference, holm, preference_from_credits
from ..analysis.testing import arms_record
from ..interleaving.api import Method, available_methods, interleave
from ..interleaving.optimized import OptimizedInterleaver, warm_up
from .click_models import ClickModel, get_click_model
from .power import interleaving_power, needed, size_grid
from .significance import sign_test_p
from .simulator import traffic
from .study_files import write_study
from .video_recsys import VideoWorld, build_world
from .video_recsys.rankers import RankerSpec

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

#: Model versions of the study: name -> quality (share of the true taste the ranker sees).
VERSIONS: dict[str, float] = {"q40": 0.40, "q50": 0.50, "q60": 0.60, "q70": 0.70, "q80": 0.80}
MODELS = ("navigational", "informational", "position_based")
AGREEMENT_AT = 1000
ALPHA = 0.05


def add_versions(world: VideoWorld, versions: Mapping[str, float]) -> None:
    """Register the study's versions in ``world``, each with mistakes of its own."""
    for n, (name, quality) in enumerate(versions.items()):
        world.specs[name] = RankerSpec(name, quality, mistakes=100 + n)


@dataclass(frozen=True)
class ArmPool:
    """Ranked requests: every version's top-k list and the user's grades of their union."""

    versions: tuple[str, ...]
    users: tuple[str, ...]
    lists: tuple[dict[str, tuple[str, ...]], ...]  # per request: version -> ids
    grades: tuple[dict[str, int], ...]

    def __len__(self) -> int:
        return len(self.users)


def build_arm_pool(world: VideoWorld, versions: Sequence[str], n: int, seed: int) -> ArmPool:
    """Rank ``n`` seeded requests with every version (the expensive step, done once)."""
    requests = traffic(world.users.user_ids, n, seed)
    lists: list[dict[str, tuple[str, ...]]] = []
    grades: list[dict[str, int]] = []
    for req in requests:
        context = {"session": req.session}
        ranked = {v: tuple(world.ranker(v).ranked_ids(req.user_id, context)) for v in versions}
        union = list(dict.fromkeys(i for ids in ranked.values() for i in ids))
        grades.append(dict(zip(union, world.grades(req.user_id, union), strict=True)))
        lists.append(ranked)
    return ArmPool(tuple(versions), tuple(r.user_id for r in requests), tuple(lists), tuple(grades))


@dataclass(frozen=True)
class Draws:
    """Simulated impressions of one method over some versions (the arms, in this order)."""

    arms: tuple[str, ...]
    users: npt.NDArray[np.object_]  # user id of each impression
    items: npt.NDArray[np.object_]  # (n, k): item ids, None past the list's end
    teams: Ints  # (n, k): arm index of each slot, -1 past the list's end
    grades: Ints  # (n, k)
    ranks: Floats  # (n, k, arms): 1-based rank of the slot's item in each arm, NaN if absent
    prefix: Ints  # (n,): top positions every arm ranked identically
    methods: npt.NDArray[np.object_]  # (n,): the method that produced each list
    k: int
    contest: Ints  # (n,): leading slots drafted while every arm had items
    _eligible: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False)

    @cached_property
    def user_codes(self) -> Ints:
        """Dense user numbers (the clusters of the user unit)."""
        _, codes = np.unique(self.users.astype(str), return_inverse=True)
        return codes.astype(np.int64)

    def eligible(self, credit: str) -> npt.NDArray[np.bool_]:
        """``(n, k)`` slots whose clicks the analysis's credit rule ``credit`` counts."""
        if credit not in self._eligible:
            n, k = self.teams.shape
            slots = pd.DataFrame(
                {
                    "position": np.tile(np.arange(1, k + 1, dtype=np.int64), n),
                    "prefix_len": np.repeat(self.prefix, k),
                    "contest_depth": np.repeat(self.contest, k),
                }
            )
            mask = get_credit_rule(credit).eligible(slots).to_numpy(dtype=bool).reshape(n, k)
            self._eligible[credit] = mask & (self.teams >= 0)
        return self._eligible[credit]

    def credits(self, clicks: npt.NDArray[np.bool_], credit: str, rows: Ints | None = None) -> Floats:
        """``(n, arms)`` credit of impressions ``rows`` (all by default) given their clicks: by
        rank difference for methods that define one (optimized lists, two arms), else the drafted
        clicks the rule counts."""
        rows = np.arange(len(self.teams)) if rows is None else rows
        teams = self.teams[rows]
        out = np.zeros((len(rows), len(self.arms)))
        counted = clicks & self.eligible(credit)[rows]
        for a in range(len(self.arms)):
            out[:, a] = (counted & (teams == a)).sum(axis=1)
        methods = self.methods[rows]
        by_rank = np.flatnonzero(np.isin(methods, list(rank_credit.RANK_CREDITS)))
        if by_rank.size:
            n, k = len(by_rank), self.k
            ranks = self.ranks[rows[by_rank]]
            delta = rank_credit.delta(
                np.repeat(methods[by_rank], k),
                ranks[:, :, 0].ravel(),
                ranks[:, :, 1].ravel(),
                np.full(n * k, float(k)),
                position=np.tile(np.arange(1, k + 1, dtype=np.float64), n),
                contest=np.repeat(self.contest[rows[by_rank]], k),
            ).reshape(n, k)
            hit = clicks[by_rank] & (teams[by_rank] >= 0)
            out[by_rank, 0] = np.where(hit, np.maximum(delta, 0.0), 0.0).sum(axis=1)
            out[by_rank, 1] = np.where(hit, np.maximum(-delta, 0.0), 0.0).sum(axis=1)
        return out


def draw(
    pool: ArmPool,
    arms: Sequence[str],
    n: int,
    seed: int,
    method: str,
    merge: Method | None = None,
) -> Draws:
    """``n`` impressions: a pool entry at random, a fresh list drawn by the real ``interleave``.

    ``merge`` replaces the registered method (e.g. an optimized interleaver with a time budget
    that a loaded test machine cannot exhaust, so that no list falls back).
    """
    rng = np.random.default_rng([seed, 21])
    slates = rng.integers(len(pool), size=n)
    seeds = rng.integers(2**53, size=n)
    k = max(len(ids) for ids in pool.lists[0].values())
    teams = np.full((n, k), -1, dtype=np.int64)
    grades = np.zeros((n, k), dtype=np.int64)
    ranks = np.full((n, k, len(arms)), np.nan)
    prefix = np.zeros(n, dtype=np.int64)
    contest = np.zeros(n, dtype=np.int64)
    methods = np.empty(n, dtype=object)
    items = np.full((n, k), None, dtype=object)
    index = {arm: a for a, arm in enumerate(arms)}
    for row, (s, draw_seed) in enumerate(zip(slates.tolist(), seeds.tolist(), strict=True)):
        lists = {arm: pool.lists[s][arm] for arm in arms}
        if merge is None:
            merged = interleave(method, lists, k, random.Random(draw_seed))
        else:
            merged = merge(lists, k, random.Random(draw_seed))
        width = len(merged.items)
        items[row, :width] = [str(i) for i in merged.items]
        teams[row, :width] = [index[t] for t in merged.teams]
        grades[row, :width] = [pool.grades[s][str(i)] for i in merged.items]
        for a, arm in enumerate(arms):
            at = {item: r for r, item in enumerate(lists[arm], start=1)}
            ranks[row, :width, a] = [at.get(str(i), np.nan) for i in merged.items]
        prefix[row] = next(
            (p for p in range(width) if not (ranks[row, p, :] == p + 1).all()), width
        )
        methods[row] = merged.method
        contest[row] = merged.contest
    users = np.array([pool.users[s] for s in slates.tolist()], dtype=object)
    return Draws(tuple(arms), users, items, teams, grades, ranks, prefix, methods, k, contest)


# --------------------------------------------------------------------------------------------
# Experiments


def pair_codes(credits: Floats, i: int, j: int) -> npt.NDArray[np.int8]:
    """Per impression: +1 when arm i earned more credit than arm j, -1 when less, 0 on a tie."""
    diff = credits[:, i] - credits[:, j]
    codes: npt.NDArray[np.int8] = np.where(diff > 1e-9, 1, np.where(diff < -1e-9, -1, 0)).astype(
        np.int8
    )
    return codes


@dataclass(frozen=True)
class Experiment:
    """One simulated experiment: its impressions, their clicks and the analysis's matrix."""

    draws: Draws  # the impressions shown, in order
    clicks: npt.NDArray[np.bool_]
    preference: Preference


def experiment(
    draws: Draws,
    model: ClickModel,
    rng: np.random.Generator,
    *,
    size: int,
    credit: str = "team_draft",
    unit: str = "user",
    alpha: float = ALPHA,
    relabel: bool = False,
) -> Experiment:
    """One experiment of ``size`` impressions resampled from ``draws`` with fresh clicks.

    Resampling reuses the pool's interleavings, so their chance imbalances repeat across
    experiments. ``relabel`` (valid only when every arm serves the same list, as in an A/A/A)
    draws each impression's team labels afresh by a random permutation of the arms, which is then
    an exact fresh draw of the randomisation.
    """
    rows = rng.integers(len(draws.teams), size=size)
    clicks = model.click_matrix(draws.grades[rows], rng) & (draws.teams[rows] >= 0)
    if relabel:
        shown = _subset(draws, rows)
        shown._eligible[credit] = draws.eligible(credit)[rows]
        order = rng.permuted(np.tile(np.arange(len(draws.arms)), (size, 1)), axis=1)
        teams = np.where(shown.teams >= 0, np.take_along_axis(order, np.maximum(shown.teams, 0), 1), -1)
        shown.teams[:] = teams
        credits = shown.credits(clicks, credit)
    else:
        credits = draws.credits(clicks, credit, rows)
    if unit == "user":
        cluster = draws.user_codes[rows]
    else:
        cluster = np.arange(size)
    pref = preference_from_credits(
        draws.arms, credits, clicks.any(axis=1), cluster, alpha=alpha, unit=unit
    )
    return Experiment(_subset(draws, rows), clicks, pref)


def as_logs(run: Experiment, start: datetime) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The experiment as the SDK would have logged it: ranking lines and click events."""
    records = []
    feedback = []
    d = run.draws
    for row in range(len(d.teams)):
        ts = start + timedelta(seconds=3 * row)
        width = int((d.teams[row] >= 0).sum())
        entries = [
            (
                d.items[row, p],
                d.arms[d.teams[row, p]],
                {arm: _rank(d.ranks[row, p, a]) for a, arm in enumerate(d.arms)},
            )
            for p in range(width)
        ]
        rid = f"e{row:07d}"
        records.append(
            arms_record(rid, str(d.users[row]), ts, entries, method=str(d.methods[row]), k=d.k)
        )
        for p in np.flatnonzero(run.clicks[row]).tolist():
            feedback.append(
                {
                    "user_id": str(d.users[row]),
                    "item_id": d.items[row, p],
                    "ts": (ts + timedelta(seconds=1 + p)).isoformat(),
                    "kind": "click",
                    "ranking_id": rid,
                }
            )
    columns = ["user_id", "item_id", "ts", "kind", "ranking_id"]
    return records, pd.DataFrame(feedback, columns=columns)


def _rank(value: float) -> int | None:
    return None if np.isnan(value) else int(value)


def _subset(draws: Draws, rows: Ints) -> Draws:
    return Draws(
        draws.arms,
        draws.users[rows],
        draws.items[rows],
        draws.teams[rows],
        draws.grades[rows],
        draws.ranks[rows],
        draws.prefix[rows],
        draws.methods[rows],
        draws.k,
        draws.contest[rows],
    )


def rejection_rates(
    draws: Draws,
    model: ClickModel,
    *,
    experiments: int,
    size: int,
    seed: int,
    credit: str = "team_draft",
    unit: str = "user",
    alpha: float = ALPHA,
    relabel: bool = False,
) -> dict[tuple[str, str], float]:
    """Per pair: share of experiments whose uncorrected sign test has p < ``alpha``."""
    rng = np.random.default_rng([seed, 31])
    draws.eligible(credit)  # filled once, before the loop
    hits: dict[tuple[str, str], int] = dict.fromkeys(itertools.combinations(draws.arms, 2), 0)
    for _ in range(experiments):
        run = experiment(
            draws, model, rng, size=size, credit=credit, unit=unit, alpha=alpha, relabel=relabel
        )
        pref = run.preference
        for a, b in hits:
            hits[(a, b)] += pref.matrix[a][b].p_value < alpha
    return {pair: count / experiments for pair, count in hits.items()}


def family_power(
    codes: Sequence[npt.NDArray[np.int8]],
    better: Sequence[int],
    sizes: Sequence[int] | Ints,
    rng: np.random.Generator,
    *,
    repeats: int,
    split: bool,
    alpha: float = ALPHA,
) -> Floats:
    """P(every pair significant after Holm, in its true direction) against total impressions.

    ``codes[p]`` holds pair p's per-impression outcomes. ``split=False``: one multileaved
    experiment, every impression judges every pair (the pairs' codes come from the same
    impressions, so their correlation is kept by resampling whole impressions). ``split=True``:
    each pair runs its own experiment on an equal share of the impressions.
    """
    m = len(codes)
    out = []
    if not split:
        joint = np.stack(codes, axis=1)
        profiles, counts = np.unique(joint, axis=0, return_counts=True)
        freq = counts / counts.sum()
    for n in sizes:
        if split:
            wins = np.zeros((repeats, m))
            losses = np.zeros((repeats, m))
            for p, c in enumerate(codes):
                probs = [(c > 0).mean(), (c < 0).mean(), (c == 0).mean()]
                drawn = rng.multinomial(max(int(n) // m, 1), probs, size=repeats)
                wins[:, p], losses[:, p] = drawn[:, 0], drawn[:, 1]
        else:
            drawn = rng.multinomial(int(n), freq, size=repeats)
            wins = (drawn @ (profiles > 0)).astype(np.float64)
            losses = (drawn @ (profiles < 0)).astype(np.float64)
        p_holm = holm(sign_test_p(wins, losses))
        right = np.sign(wins - losses) == np.asarray(better)
        out.append(float(((p_holm < alpha) & right).all(axis=1).mean()))
    return np.array(out)


# --------------------------------------------------------------------------------------------
# The study


@dataclass(frozen=True)
class StudySettings:
    pool: int = 1500
    draws: int = 20_000
    repeats: int = 500
    aa_experiments: int = 300
    aa_size: int = 1000
    #: Time budget of optimized_v1's LP in ms; None serves the registered method as configured.
    optimized_budget_ms: float | None = None
    seed: int = 0
    world_seed: int = 7


def _merge(method: str, settings: StudySettings) -> Method | None:
    """The optimized interleaver with the study's budget, or None for the registered method."""
    if method != "optimized_v1" or settings.optimized_budget_ms is None:
        return None
    return OptimizedInterleaver("optimized_v1", "linear", time_budget_ms=settings.optimized_budget_ms)


def _two_arm_methods() -> list[str]:
    return [m for m in ("team_draft_v1", "optimized_v1") if m in available_methods()]


def study(
    settings: StudySettings,
    models: Sequence[str] = MODELS,
    log: Callable[[str], None] = print,
    world: VideoWorld | None = None,
) -> dict[str, Any]:
    """Every table of docs/multileaving.md, as JSON-ready rows."""
    started = time.perf_counter()
    warm_up()  # SciPy loaded up front: no list falls back for "solver_loading"
    world = world or build_world(settings.world_seed)
    add_versions(world, VERSIONS)
    versions = tuple(VERSIONS)
    pool = build_arm_pool(world, versions, settings.pool, settings.seed)
    quality = {v: world.ndcg(v, 500) for v in versions}
    log(f"pool ready at {time.perf_counter() - started:.0f}s")
    sizes = size_grid(20, 200_000, 31)
    rng = np.random.default_rng([settings.seed, 41])
    pairs_rows: list[dict[str, Any]] = []
    family_rows: list[dict[str, Any]] = []
    trio = ("q50", "q60", "q70")
    pair_draws: dict[tuple[str, str, str], Draws] = {}
    for a, b in itertools.combinations(versions, 2):
        # Optimized only where the study compares methods pair by pair (each pair solves its LPs).
        for method in _two_arm_methods() if {a, b} <= set(trio) else ["team_draft_v1"]:
            merge = _merge(method, settings)
            pair_draws[(a, b, method)] = draw(
                pool, (a, b), settings.draws, settings.seed, method, merge
            )
    multi = {
        n: draw(pool, versions[:n] if n != 3 else trio, settings.draws, settings.seed, "team_draft_v1")
        for n in (3, 4, 5)
    }
    log(f"draws ready at {time.perf_counter() - started:.0f}s")
    for model_name in models:
        model = get_click_model(model_name)
        for a, b in itertools.combinations(trio, 2):
            better = 1 if quality[a] > quality[b] else -1
            row: dict[str, Any] = {"pair": f"{a} vs {b}", "click_model": model_name}
            sources = {m: (pair_draws[(a, b, m)], 0, 1) for m in _two_arm_methods()}
            sources["multileave_3"] = (multi[3], trio.index(a), trio.index(b))
            for name, (d, i, j) in sources.items():
                clicks = model.click_matrix(d.grades, rng) & (d.teams >= 0)
                codes = pair_codes(d.credits(clicks, "team_draft"), i, j)
                curve = interleaving_power(codes, sizes, better, rng, settings.repeats)
                at = interleaving_power(codes, [AGREEMENT_AT], better, rng, settings.repeats)
                row[f"{name}_n80"] = needed(sizes, curve["power"])
                row[f"{name}_agree"] = float(at["agreement"][0])
                if name == "optimized_v1":
                    row["optimized_fallback"] = float((d.methods != "optimized_v1").mean())
            pairs_rows.append(row)
        for n_arms in (3, 4, 5):
            d = multi[n_arms]
            clicks = model.click_matrix(d.grades, rng) & (d.teams >= 0)
            credits = d.credits(clicks, "team_draft")
            index = list(itertools.combinations(range(n_arms), 2))
            directions = [1 if quality[d.arms[i]] > quality[d.arms[j]] else -1 for i, j in index]
            joint = [pair_codes(credits, i, j) for i, j in index]
            separate = []
            for i, j in index:
                pd_ = pair_draws[(d.arms[i], d.arms[j], "team_draft_v1")]
                c2 = model.click_matrix(pd_.grades, rng) & (pd_.teams >= 0)
                separate.append(pair_codes(pd_.credits(c2, "team_draft"), 0, 1))
            ml = family_power(joint, directions, sizes, rng, repeats=settings.repeats, split=False)
            sp = family_power(separate, directions, sizes, rng, repeats=settings.repeats, split=True)
            family_rows.append(
                {
                    "arms": ", ".join(d.arms),
                    "pairs": len(index),
                    "click_model": model_name,
                    "multileave_n80": needed(sizes, ml),
                    "separate_n80": needed(sizes, sp),
                }
            )
        log(f"{model_name} done at {time.perf_counter() - started:.0f}s")
    aa = a_a(world, settings)
    return {
        "settings": settings.__dict__,
        "quality": quality,
        "pairs": pairs_rows,
        "families": family_rows,
        "aa": aa,
        "seconds": time.perf_counter() - started,
    }


def a_a(world: VideoWorld, settings: StudySettings) -> list[dict[str, Any]]:
    """A/A false positives: one version in every arm (navigational clicks), and two or three
    different versions judged by relevance-blind clicks (``random``), an exact null for all."""
    rows = []
    add_versions(world, VERSIONS)
    same = build_arm_pool(world, ("q60",), settings.pool, settings.seed)
    same = ArmPool(
        ("x", "y", "z"),
        same.users,
        tuple({"x": ls["q60"], "y": ls["q60"], "z": ls["q60"]} for ls in same.lists),
        same.grades,
    )
    mixed = build_arm_pool(world, ("q50", "q60", "q70"), settings.pool, settings.seed)
    for label, pool, arms3, model_name in (
        ("same version", same, ("x", "y", "z"), "navigational"),
        ("different versions", mixed, ("q50", "q60", "q70"), "random"),
    ):
        model = get_click_model(model_name)
        row: dict[str, Any] = {"arms": label, "click_model": model_name, "size": settings.aa_size}
        for method in _two_arm_methods():
            d = draw(pool, arms3[:2], settings.draws // 4, settings.seed, method, _merge(method, settings))
            rates = rejection_rates(
                d, model, experiments=settings.aa_experiments, size=settings.aa_size, seed=1
            )
            row[method] = float(np.mean(list(rates.values())))
        d3 = draw(pool, arms3, settings.draws // 4, settings.seed, "team_draft_v1")
        rates = rejection_rates(
            d3, model, experiments=settings.aa_experiments, size=settings.aa_size, seed=2
        )
        row["multileave_3"] = float(np.mean(list(rates.values())))
        rows.append(row)
    return rows


def _n(value: int | None) -> str:
    return "> 200,000" if value is None else f"{value:,}"


def markdown(result: dict[str, Any]) -> str:
    """The study's tables in Markdown."""
    methods = [m for m in ("team_draft_v1", "optimized_v1") if any(f"{m}_n80" in r for r in result["pairs"])]
    q = result["quality"]
    lines = ["True quality (nDCG@10 on hidden grades): " + ", ".join(f"{v} {x:.3f}" for v, x in q.items())]
    lines.append("")
    head = ["pair", "click model", *[f"{m} n80" for m in methods], "multileave (3 arms) n80"]
    head += [f"agree@1k {m}" for m in methods] + ["agree@1k multileave"]
    if "optimized_v1" in methods:
        head.append("optimized fallbacks")
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result["pairs"]:
        cells = [r["pair"], r["click_model"]]
        cells += [_n(r[f"{m}_n80"]) for m in methods] + [_n(r["multileave_3_n80"])]
        cells += [f"{r[f'{m}_agree']:.0%}" for m in methods] + [f"{r['multileave_3_agree']:.0%}"]
        if "optimized_v1" in methods:
            cells.append(f"{r['optimized_fallback']:.1%}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| arms | pairs | click model | multileaved n80 (all pairs) | pairs run separately n80 (total) |",
        "|---|---|---|---|---|",
    ]
    for r in result["families"]:
        lines.append(
            f"| {r['arms']} | {r['pairs']} | {r['click_model']} | {_n(r['multileave_n80'])} "
            f"| {_n(r['separate_n80'])} |"
        )
    aa_methods = [m for m in ("team_draft_v1", "optimized_v1") if m in result["aa"][0]]
    lines += [
        "",
        "| A/A arms | click model | impressions | " + " | ".join(aa_methods) + " | multileave (3 arms) |",
        "|---|---|---|" + "---|" * (len(aa_methods) + 1),
    ]
    for r in result["aa"]:
        cells = [r["arms"], r["click_model"], f"{r['size']:,}"]
        cells += [f"{r[m]:.1%}" for m in aa_methods] + [f"{r['multileave_3']:.1%}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-results/methods"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world-seed", type=int, default=7)
    parser.add_argument("--pool", type=int, default=StudySettings.pool)
    parser.add_argument("--draws", type=int, default=StudySettings.draws)
    parser.add_argument("--repeats", type=int, default=StudySettings.repeats)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--optimized-budget-ms",
        type=float,
        default=None,
        help="optimized_v1's LP time budget (default: the registered method's own)",
    )
    args = parser.parse_args(argv)
    settings = StudySettings(
        pool=args.pool,
        draws=args.draws,
        repeats=args.repeats,
        seed=args.seed,
        world_seed=args.world_seed,
        optimized_budget_ms=args.optimized_budget_ms,
    )
    result = study(settings, models=[m.strip() for m in args.models.split(",")])
    write_study(args.out, "multileaving", markdown(result), result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

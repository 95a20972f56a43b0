"""Measurement: the sequential test's A/A false-decision rate when feedback arrives late.

Run from the repository root: ``python -m benchmarks.late_feedback`` (about a minute per delay
on one core; ``--experiments`` to change the count). Each A/A experiment serves ``IMPRESSIONS``
Team Draft lists over ``DAYS`` days to ``USERS`` returning users; a user clicks with probability
``CLICK_P`` and the click lands on either arm's item with probability ½ (sometimes one of each: a
tie). Each click reaches the analysis after an exponential delay (mean 0, 4 or 12 h); one that
arrives more than the 24 h attribution window after its impression is not attributed, as
attribution.sql does. At each of ``LOOKS`` evenly spaced looks the outcomes are what had arrived,
credited as competitive credit credits a contested item (to the arm that drafted it), and the
real ``compute_sequential`` is read two ways: every impression shown so far (the old rule), and
only impressions whose window has closed by the latest feedback (``analyze``'s rule). A false
decision is any look deciding A or B; a withdrawn decision, a look that decided followed by one
that does not name the same arm. Intervals are Clopper-Pearson 95 %.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import pandas as pd
from scipy.stats import beta

from interleave_sdk.analysis.stats import compute_sequential

IMPRESSIONS, USERS, DAYS, LOOKS = 2000, 200, 10.0, 20
CLICK_P, BOTH_P, WINDOW_H = 0.3, 0.1, 24.0
T0 = pd.Timestamp("2026-11-23", tz="UTC")


def experiment(seed: int, delay_hours: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Impressions, and per click (impression row, +1 A / -1 B, arrival in hours)."""
    rng = random.Random(seed)
    hours = np.sort(np.array([rng.uniform(0, DAYS * 24) for _ in range(IMPRESSIONS)]))
    users = [f"u{rng.randrange(USERS)}" for _ in range(IMPRESSIONS)]
    first = ["A" if rng.random() < 0.5 else "B" for _ in range(IMPRESSIONS)]
    rows, sides, arrive = [], [], []
    for row in range(IMPRESSIONS):
        if rng.random() >= CLICK_P:
            continue
        clicked = [1, -1] if rng.random() < BOTH_P else [rng.choice((1, -1))]
        for side in clicked:
            delay = rng.expovariate(1.0 / delay_hours) if delay_hours > 0 else 0.0
            if delay <= WINDOW_H:  # later: after_window, never attributed
                rows.append(row)
                sides.append(side)
                arrive.append(hours[row] + delay)
    frame = pd.DataFrame(
        {
            "ranking_id": [f"r{n}" for n in range(IMPRESSIONS)],
            "user_id": users,
            "ts": T0 + pd.to_timedelta(hours, unit="h"),
            "first_team": first,
            "slots": 10,
            "contested_slots": 10,
        }
    )
    return frame, np.array([rows, sides], dtype=np.int64), np.array(arrive)


def outcomes_at(frame: pd.DataFrame, clicks: np.ndarray, arrive: np.ndarray, look: float) -> pd.DataFrame:
    """The outcomes table as the analysis would compute it from the clicks arrived by ``look``."""
    seen = arrive <= look
    rows, sides = clicks[0][seen], clicks[1][seen]
    credit_a = np.bincount(rows[sides > 0], minlength=len(frame)).astype(float)
    credit_b = np.bincount(rows[sides < 0], minlength=len(frame)).astype(float)
    out = frame.copy()
    out["credit_a"], out["credit_b"] = credit_a, credit_b
    out["clicked"] = (credit_a + credit_b) > 0
    out["outcome"] = np.where(credit_a > credit_b, "A", np.where(credit_b > credit_a, "B", "tie"))
    shown = (out["ts"] <= T0 + pd.Timedelta(hours=look)).to_numpy()
    return out[shown]


def run(experiments: int, delay_hours: float) -> dict[str, dict[str, int]]:
    """Counts of experiments with a false decision / a withdrawn one, per rule."""
    looks = np.linspace((DAYS * 24) / LOOKS, DAYS * 24 + WINDOW_H + 3 * max(delay_hours, 1), LOOKS)
    tally = {rule: {"decided": 0, "withdrawn": 0} for rule in ("all_shown", "windows_closed")}
    for seed in range(experiments):
        frame, clicks, arrive = experiment(seed, delay_hours)
        history: dict[str, list[str]] = {rule: [] for rule in tally}
        for look in looks:
            table = outcomes_at(frame, clicks, arrive, float(look))
            arrived = arrive[arrive <= look]
            latest = T0 + pd.Timedelta(hours=float(arrived.max())) if arrived.size else None
            closed = None if latest is None else latest - pd.Timedelta(hours=WINDOW_H)
            history["all_shown"].append(compute_sequential(table).decision)
            if closed is None:
                history["windows_closed"].append("continue")
            else:
                history["windows_closed"].append(compute_sequential(table, closed_by=closed).decision)
        for rule, decisions in history.items():
            decided = [d for d in decisions if d != "continue"]
            if decided:
                tally[rule]["decided"] += 1
                first = decisions.index(decided[0])
                if any(d != decided[0] for d in decisions[first:]):
                    tally[rule]["withdrawn"] += 1
    return tally


def interval(k: int, n: int) -> tuple[float, float]:
    low = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--delays", default="0,4,12", help="mean feedback delays in hours")
    args = parser.parse_args()
    print("| mean delay | rule | false decisions at any of 20 looks | withdrawn later |")
    print("|---|---|---|---|")
    for delay in [float(d) for d in args.delays.split(",")]:
        started = time.process_time()
        tally = run(args.experiments, delay)
        for rule, counts in tally.items():
            k, n = counts["decided"], args.experiments
            low, high = interval(k, n)
            print(
                f"| {delay:g} h | {rule} | {k}/{n} = {100 * k / n:.1f} % "
                f"[{100 * low:.1f}, {100 * high:.1f}] | {counts['withdrawn']} of {k} |",
                flush=True,
            )
        print(f"<!-- {delay:g} h: {time.process_time() - started:.0f} CPU s -->", flush=True)


if __name__ == "__main__":
    main()

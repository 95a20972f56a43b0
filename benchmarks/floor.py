"""Case 6: the SDK against the floor, a hand-written version of the same steps with no safety.

The floor is what a careful engineer would write inline for one experiment: a cached config dict,
a sha256 bucket, the other arm on a ``ThreadPoolExecutor``, id lists, a plain Team Draft, the
merged frame by ``pd.concat`` of the arms, ``take`` of the picked rows and a source column,
``uuid4`` and one orjson line written to a ``StringIO``. No validation, no fail-open, no deadline
bookkeeping. The SDK runs the same arms (100 rows, 6 columns) decorated with
``StaticConfig(mode="INTERLEAVE")`` and a sink writing to a ``StringIO``; both are timed side by
side in one run, alternating call by call.

The baseline path compares overheads over the undecorated call: the SDK in mode A against the
floor's mode-A work (config lookup, hash, uuid, one orjson line of the served ids).

Run in this process and again in a child process where ``pyarrow`` cannot be imported (a Lambda
image may have either; pandas picks its string storage by it), reported separately.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pandas as pd

from .frames_fixture import arm_pair
from .timing import summary

ROWS = 100
EXPERIMENT = "bench"


class RollingStringIO(io.StringIO):
    """A StringIO that starts over every megabyte, so a long run does not grow memory."""

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.tell() > 1 << 20:
            self.seek(0)
            self.truncate()
        return written


# -- the floor ----------------------------------------------------------------------------------

#: The "cached config": read once, kept in a dict.
CONFIG: dict[str, Any] = {"mode": "INTERLEAVE", "sampling_rate": 1.0}


def bucket(experiment: str, user: str) -> float:
    digest = hashlib.sha256(f"{experiment}:{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def team_draft(
    a: Sequence[Hashable], b: Sequence[Hashable], k: int, rng: random.Random
) -> tuple[list[Hashable], list[str]]:
    """The textbook loop: fewer picks drafts next, a coin breaks ties, skip what is placed."""
    placed: set[Hashable] = set()
    items: list[Hashable] = []
    teams: list[str] = []
    ia = ib = na = nb = 0
    while len(items) < k:
        while ia < len(a) and a[ia] in placed:
            ia += 1
        while ib < len(b) and b[ib] in placed:
            ib += 1
        if ia >= len(a) and ib >= len(b):
            break
        if ib >= len(b) or (ia < len(a) and (na < nb or (na == nb and rng.random() < 0.5))):
            item, team, ia, na = a[ia], "A", ia + 1, na + 1
        else:
            item, team, ib, nb = b[ib], "B", ib + 1, nb + 1
        placed.add(item)
        items.append(item)
        teams.append(team)
    return items, teams


def floor_interleaved(
    rank_a: Callable[[str], pd.DataFrame],
    rank_b: Callable[[str], pd.DataFrame],
    pool: ThreadPoolExecutor,
    stream: io.StringIO,
    k: int,
) -> Callable[[str], pd.DataFrame]:
    def recommend(user_id: str) -> pd.DataFrame:
        config = CONFIG
        in_sample = bucket(EXPERIMENT, user_id) < config["sampling_rate"]
        assert config["mode"] == "INTERLEAVE"
        assert in_sample
        ranking_id = uuid.uuid4().hex
        future = pool.submit(rank_b, user_id)
        a = rank_a(user_id)
        b = future.result(timeout=1.0)
        ids_a, ids_b = a["item_id"].tolist(), b["item_id"].tolist()
        seed = int(ranking_id[:16], 16)
        items, teams = team_draft(ids_a, ids_b, k, random.Random(seed))
        # Picked rows: both arms end to end, B's rows offset by len(A), taken in drafted order.
        row = {item: i for i, item in enumerate(ids_a)}
        row_b = {item: len(ids_a) + i for i, item in enumerate(ids_b)}
        where = [row[item] if team == "A" else row_b[item] for item, team in zip(items, teams, strict=True)]
        merged: pd.DataFrame = pd.concat([a, b], ignore_index=True).take(where)
        merged = merged.reset_index(drop=True)
        merged["source_ranker"] = teams
        record = {
            "ranking_id": ranking_id,
            "experiment": EXPERIMENT,
            "user_id": user_id,
            "seed": seed,
            "arms": {"A": {"top": ids_a[:k]}, "B": {"top": ids_b[:k]}},
            "items": [
                {"item_id": item, "position": p, "source_ranker": team}
                for p, (item, team) in enumerate(zip(items, teams, strict=True), start=1)
            ],
        }
        stream.write(orjson.dumps(record).decode() + "\n")
        return merged

    return recommend


def floor_baseline(
    rank_a: Callable[[str], pd.DataFrame], stream: io.StringIO
) -> Callable[[str], pd.DataFrame]:
    def recommend(user_id: str) -> pd.DataFrame:
        config = {"mode": "A", "sampling_rate": 1.0}
        bucket(EXPERIMENT, user_id)
        ranking_id = uuid.uuid4().hex
        a = rank_a(user_id)
        assert config["mode"] == "A"
        record = {"ranking_id": ranking_id, "user_id": user_id, "items": a["item_id"].tolist()}
        stream.write(orjson.dumps(record).decode() + "\n")
        return a

    return recommend


# -- the SDK, same arms -------------------------------------------------------------------------


def sdk(
    rank_a: Callable[[str], pd.DataFrame],
    rank_b: Callable[[str], pd.DataFrame],
    stream: io.StringIO,
    mode: str,
) -> tuple[Callable[[str], pd.DataFrame], Any]:
    from interleave_sdk import ArmExecutor, JsonLineSink, StaticConfig, interleaved

    executor = ArmExecutor()
    decorated = interleaved(
        rankers={"B": rank_b},
        config=StaticConfig(mode=mode, sampling_rate=1.0, timeout_ms=1000),
        sink=JsonLineSink(stream),
        executor=executor,
        experiment=EXPERIMENT,
        metrics=False,
    )(rank_a)
    return decorated, executor


def measure(quick: bool) -> dict[str, Any]:
    """Both paths, SDK and floor side by side, in this process."""
    a, b = arm_pair(ROWS, seed=ROWS)

    def rank_a(user_id: str) -> pd.DataFrame:
        return a

    def rank_b(user_id: str) -> pd.DataFrame:
        return b

    stream = RollingStringIO()
    pool = ThreadPoolExecutor(4)
    sdk_interleaved, executor_i = sdk(rank_a, rank_b, stream, "INTERLEAVE")
    sdk_mode_a, executor_a = sdk(rank_a, rank_b, stream, "A")
    floor_i = floor_interleaved(rank_a, rank_b, pool, stream, ROWS)
    floor_a = floor_baseline(rank_a, stream)
    users = [f"user-{i}" for i in range(1000)]
    counter = iter(range(10**9))

    def user() -> str:
        return users[next(counter) % 1000]

    try:
        interleaved_s = _timed_side_by_side(
            {"sdk": lambda: sdk_interleaved(user()), "floor": lambda: floor_i(user())},
            300 if quick else 3000,
            warmup=50,
        )
        baseline_s = _timed_side_by_side(
            {
                "undecorated": lambda: rank_a(user()),
                "sdk": lambda: sdk_mode_a(user()),
                "floor": lambda: floor_a(user()),
            },
            3000 if quick else 30000,
            warmup=500,
        )
    finally:
        pool.shutdown()
        executor_i.shutdown()
        executor_a.shutdown()
    figures: dict[str, Any] = {"pyarrow": _pyarrow_version()}
    for clock in ("wall", "cpu"):
        inter = {name: summary(values[clock]) for name, values in interleaved_s.items()}
        base = {name: summary(values[clock], scale=1e6) for name, values in baseline_s.items()}
        plain = base["undecorated"]
        overhead = {
            name: {q: base[name][q] - plain[q] for q in ("p50", "p99")} for name in ("sdk", "floor")
        }
        figures[clock] = {
            "interleaved_ms": inter,
            "interleaved_ratio": {q: inter["sdk"][q] / inter["floor"][q] for q in ("p50", "p99")},
            "baseline_us": base,
            "baseline_overhead_us": overhead,
            "baseline_ratio": {
                q: overhead["sdk"][q] / overhead["floor"][q] for q in ("p50", "p99")
            },
        }
    return figures


def _timed_side_by_side(
    variants: dict[str, Callable[[], Any]], iterations: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    """Like ``timing.side_by_side``, keeping two clocks per call: wall time and process CPU time.

    On a machine shared with other work, wall time includes waiting for a core; the process's
    CPU time (all its threads) does not, so it compares the work done even under load.
    """
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in variants}
    wall, cpu = time.perf_counter_ns, time.process_time_ns
    for _ in range(iterations):
        for name, fn in variants.items():
            w0, c0 = wall(), cpu()
            fn()
            c1, w1 = cpu(), wall()
            samples[name]["wall"].append((w1 - w0) / 1e9)
            samples[name]["cpu"].append((c1 - c0) / 1e9)
    return samples


def _pyarrow_version() -> str | None:
    module = sys.modules.get("pyarrow")
    return getattr(module, "__version__", None) if module is not None else None


def run(quick: bool) -> dict[str, Any]:
    """Case 6: this process (pyarrow importable if installed), then a child without pyarrow."""
    results = {"with_pyarrow_if_installed": measure(quick)}
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"  # import pyarrow now raises ImportError
        "import json; from benchmarks.floor import measure\n"
        f"print(json.dumps(measure({quick!r})))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=900
    )
    if child.returncode == 0:
        results["without_pyarrow"] = json.loads(child.stdout.strip().splitlines()[-1])
    else:
        results["without_pyarrow"] = {"error": child.stderr.strip()[-2000:]}
    return results


def render(figures: dict[str, Any]) -> list[str]:
    """Lines for the report: per variant, p50/p99 of each side and the SDK/floor ratios."""
    lines = ["", "6. SDK vs the floor (hand-written, no safety); ratio = SDK / floor"]
    targets = "targets: interleaved p50 <= 1.2x, p99 <= 1.5x; baseline overhead <= 1.3x"
    lines.append("   " + targets)
    for variant, fig in figures.items():
        if variant.startswith("_"):
            continue
        if "error" in fig:
            lines.append(f"  {variant}: failed: {fig['error'][-300:]}")
            continue
        lines.append(f"  {variant} (pyarrow {fig['pyarrow'] or 'not importable'})")
        for clock, title in (("wall", "wall time"), ("cpu", "process CPU time")):
            c = fig[clock]
            i, r = c["interleaved_ms"], c["interleaved_ratio"]
            o, br = c["baseline_overhead_us"], c["baseline_ratio"]
            lines.append(
                f"    {title}: interleaved (ms) SDK p50 {i['sdk']['p50']:.3f} "
                f"p99 {i['sdk']['p99']:.3f}, floor p50 {i['floor']['p50']:.3f} "
                f"p99 {i['floor']['p99']:.3f}; ratio p50 {r['p50']:.2f}x p99 {r['p99']:.2f}x"
            )
            lines.append(
                f"    {title}: baseline overhead (µs) SDK p50 {o['sdk']['p50']:.1f} "
                f"p99 {o['sdk']['p99']:.1f}, floor p50 {o['floor']['p50']:.1f} "
                f"p99 {o['floor']['p99']:.1f}; ratio p50 {br['p50']:.2f}x p99 {br['p99']:.2f}x"
            )
    return lines


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print("\n".join(render(run(quick))))

"""How many impressions multileaving saves against pair tests, with an interval, per click model.

The methods study (``methods_study``) reads one saving per click model off a 31-point grid, from
one set of requests and clicks. Here the same comparison is repeated on independent replicates
(fresh requests, fresh lists, fresh clicks; the world stays seed 7) on a finer grid: three
versions multileaved, every impression judging the three pairs, against the three pairs run as
separate Team Draft experiments on equal shares of the impressions; each needs P(every pair
significant after Holm, in its true direction) >= 80 %. The saving is separate / multileaved
impressions; its interval is a t-interval on the log ratio across replicates (the geometric mean
saving, 95 %). Each pair's own n80 (Team Draft alone, and read off the multileaved lists) is kept
too, since they show when the saving holds. Run it with
``python -m interleave_sdk.simulation.saving_study --out DIR``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .click_models import get_click_model
from .methods_study import VERSIONS, add_versions, build_arm_pool, draw, family_power, pair_codes
from .power import interleaving_power, needed, size_grid
from .study_files import write_study
from .video_recsys import build_world

TRIO = ("q50", "q60", "q70")
MODELS = ("navigational", "informational")


def replicate(
    world: Any, r: int, models: Sequence[str], *, pool: int, draws: int, repeats: int
) -> list[dict[str, Any]]:
    """One replicate: fresh requests (seed ``r``), lists and clicks; a row per click model."""
    arms = build_arm_pool(world, TRIO, pool, seed=1000 + r)
    quality = {v: world.ndcg(v, 500) for v in TRIO}
    multi = draw(arms, TRIO, draws, 1000 + r, "team_draft_v1")
    index = list(itertools.combinations(range(3), 2))
    pairs = {(i, j): draw(arms, (TRIO[i], TRIO[j]), draws, 1000 + r, "team_draft_v1") for i, j in index}
    directions = [1 if quality[TRIO[i]] > quality[TRIO[j]] else -1 for i, j in index]
    sizes = size_grid(20, 200_000, 121)
    rng = np.random.default_rng([r, 97])
    rows = []
    for name in models:
        model = get_click_model(name)
        clicks = model.click_matrix(multi.grades, rng) & (multi.teams >= 0)
        joint = [pair_codes(multi.credits(clicks, "team_draft"), i, j) for i, j in index]
        separate = []
        for i, j in index:
            d = pairs[(i, j)]
            c2 = model.click_matrix(d.grades, rng) & (d.teams >= 0)
            separate.append(pair_codes(d.credits(c2, "team_draft"), 0, 1))
        ml = needed(sizes, family_power(joint, directions, sizes, rng, repeats=repeats, split=False))
        sp = needed(sizes, family_power(separate, directions, sizes, rng, repeats=repeats, split=True))
        row: dict[str, Any] = {"model": name, "replicate": r, "multileaved": ml, "separate": sp}
        for (i, j), codes_ml, codes_td, better in zip(index, joint, separate, directions, strict=True):
            label = f"{TRIO[i]}-{TRIO[j]}"
            for kind, codes in (("ml", codes_ml), ("td", codes_td)):
                curve = interleaving_power(codes, sizes, better, rng, repeats)
                row[f"{label}_{kind}"] = needed(sizes, curve["power"])
        rows.append(row)
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per click model: geometric mean saving with its 95 % t-interval, and per-pair medians."""
    from scipy.stats import t as student

    out = []
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name and r["multileaved"] and r["separate"]]
        logs = np.log([r["separate"] / r["multileaved"] for r in mine])
        n = len(logs)
        mean = float(logs.mean()) if n else math.nan
        half = float(student.ppf(0.975, n - 1) * logs.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        entry: dict[str, Any] = {
            "model": name,
            "replicates": n,
            "saving": math.exp(mean),
            "low": math.exp(mean - half),
            "high": math.exp(mean + half),
            "multileaved_median": float(np.median([r["multileaved"] for r in mine])) if n else None,
            "separate_median": float(np.median([r["separate"] for r in mine])) if n else None,
        }
        for key in (k for k in mine[0] if k.endswith(("_ml", "_td"))) if mine else ():
            values = [r[key] for r in mine if r[key] is not None]
            entry[key] = float(np.median(values)) if values else None
        out.append(entry)
    return out


def markdown(result: dict[str, Any]) -> str:
    pairs = [f"{a}-{b}" for a, b in itertools.combinations(TRIO, 2)]
    head = ["click model", "replicates", "multileaved n80", "separate n80", "saving [95 % CI]"]
    head += [f"{p} TD / ML n80" for p in pairs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in result["summary"]:
        cells = [
            s["model"],
            str(s["replicates"]),
            f"{s['multileaved_median']:,.0f}",
            f"{s['separate_median']:,.0f}",
            f"{s['saving']:.2f}× [{s['low']:.2f}, {s['high']:.2f}]",
        ]
        cells += [f"{s.get(p + '_td') or 0:,.0f} / {s.get(p + '_ml') or 0:,.0f}" for p in pairs]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-results/saving"))
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--pool", type=int, default=600)
    parser.add_argument("--draws", type=int, default=12_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    world = build_world(7)
    add_versions(world, VERSIONS)
    models = [m.strip() for m in args.models.split(",")]
    rows: list[dict[str, Any]] = []
    for r in range(args.replicates):
        rows += replicate(world, r, models, pool=args.pool, draws=args.draws, repeats=args.repeats)
        print(f"replicate {r + 1}/{args.replicates} at {time.perf_counter() - started:.0f}s", flush=True)
    result = {
        "settings": vars(args) | {"out": str(args.out)},
        "rows": rows,
        "summary": summary(rows),
        "seconds": time.perf_counter() - started,
    }
    write_study(args.out, "saving", markdown(result), result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""``python -m benchmarks``: run the cases, print a table, write the figures as JSON.

Case 6 puts the SDK side by side with the floor, a hand-written version of the same steps with no
safety (``benchmarks/floor.py``), with and without pyarrow importable; case 7 is the two-tower host
on PostgreSQL + pgvector; case 8 ``analyze()`` on DuckDB against a one-statement DuckDB floor
(``benchmarks/analysis_floor.py``), both on the same 1M-ranking files.

Options: ``--quick`` (fewer iterations, for a smoke run), ``--cases 1,3`` (a subset), ``--out``
(default ``bench-results/bench.json``), ``--install-mpkato`` (case 4: try installing the
mpkato/interleaving package from GitHub into a temporary directory). A colleague's
``benchmarks.analysis_bench`` module, when present, is run too and its figures included.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import arms, floor, optimized_bench, overhead, team_draft_bench
from .timing import machine

TARGETS = {
    "overhead_p50_ms": 0.3,
    "overhead_p99_ms": 1.0,
    "baseline_overhead_us": 50.0,
    "io_ratio": "p50 <= 1.05 x max(t_A, t_B) + 1 ms",
    "floor_ratio": "interleaved p50 <= 1.2x, p99 <= 1.5x the floor; baseline overhead <= 1.3x",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--cases", default="1,2,3,4,5,6,7,8", help="comma-separated case numbers")
    parser.add_argument("--out", default="bench-results/bench.json", type=Path)
    parser.add_argument("--install-mpkato", action="store_true")
    args = parser.parse_args(argv)
    cases = {int(c) for c in args.cases.split(",") if c.strip()}

    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "targets": TARGETS}
    started = time.time()
    chosen = [number for number in CASES if number in cases]
    for count, number in enumerate(chosen, 1):
        key, title, run = CASES[number]
        label = f"case {number} ({count}/{len(chosen)}): {title}"
        report[key] = _announced(label, lambda run=run: _stamped(lambda q: run(q, args), args.quick))
    if importlib.util.find_spec("benchmarks.analysis_bench") is not None:
        analysis = importlib.import_module("benchmarks.analysis_bench")
        report["analysis"] = _announced("analysis benchmarks", analysis.run)
    report["machine"]["loadavg_end"] = list(os.getloadavg())
    report["seconds"] = round(time.time() - started, 1)

    print(render(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


def _two_tower(quick: bool) -> dict[str, Any]:
    from . import two_tower_bench  # PostgreSQL + pgvector: imported only when the case runs

    return two_tower_bench.run(quick)  # type: ignore[no-any-return]


def _analysis_floor(quick: bool) -> dict[str, Any]:
    from . import analysis_floor  # writes 1.3 GB of logs: imported only when the case runs

    rankings = 100_000 if quick else analysis_floor.N_RANKINGS
    return analysis_floor.run(rankings, int(0.3 * rankings))


#: Case number -> (report key, what it measures, runner taking (quick, args)).
CASES: dict[int, tuple[str, str, Any]] = {
    1: ("1_interleaved_overhead", "SDK overhead, interleaved path",
        lambda q, a: overhead.interleaved_overhead(q)),
    2: ("2_baseline_overhead", "baseline path vs undecorated", lambda q, a: overhead.baseline_overhead(q)),
    3: ("3_parallel_arms", "interleaved latency vs the slower arm", lambda q, a: arms.run(q)),
    4: ("4_team_draft", "Team Draft vs other implementations",
        lambda q, a: team_draft_bench.run(q, a.install_mpkato)),
    5: ("5_optimized", "optimized interleaving", lambda q, a: optimized_bench.run(q)),
    6: ("6_floor", "the SDK vs the hand-written floor", lambda q, a: floor.run(q)),
    7: ("7_two_tower", "the two-tower host on PostgreSQL + pgvector", lambda q, a: _two_tower(q)),
    8: ("8_analysis_floor", "analyze() on DuckDB vs a one-statement floor",
        lambda q, a: _analysis_floor(q)),
}  # fmt: skip


def _announced(label: str, run: Callable[[], Any]) -> Any:
    """``run()``, saying on stderr when it starts and how long it took: a whole run takes minutes,
    and the table is printed only at the end."""
    print(f"bench: {label}...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    result = run()
    print(f"bench: {label}: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return result


def _stamped(case: Any, quick: bool) -> dict[str, Any]:
    """Run one case and note the load average before and after (figures are noisy when high)."""
    before = list(os.getloadavg())
    figures: dict[str, Any] = case(quick)
    figures["_loadavg"] = {"before": before, "after": list(os.getloadavg())}
    return figures


def _row(*cells: object) -> str:
    widths = (44, 10, 10, 10, 30)
    return "  ".join(
        str(c).ljust(w) if i == 0 or i == 4 else str(c).rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=False))
    )


def _heading(title: str, note: str) -> list[str]:
    """A section's opening lines: a blank line, its title, and the header of its table, whose
    columns are the same in every section except the last (``note``).
    """
    return ["", title, _row("variant", "p50", "p90", "p99", note)]


def render(report: dict[str, Any]) -> str:
    """The figures as a plain-text table, one section per case."""
    m = report["machine"]
    lines = [
        f"machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, numpy "
        f"{m['numpy']}, pandas {m['pandas']}, load {m['loadavg_start']}",
    ]
    if "1_interleaved_overhead" in report:
        lines += _heading("1. SDK overhead, interleaved path, free rankers (ms)", "merge p50 / target")
        for name, fig in report["1_interleaved_overhead"].items():
            if name.startswith("_"):
                continue
            t = fig["total_ms"]
            note = f"merge {fig['merge_ms']['p50']:.3f}"
            if fig["k"] == 100:
                ok = t["p50"] <= 0.3 and t["p99"] <= 1.0
                note += "  meets" if ok else "  misses p50<=0.3, p99<=1"
            lines.append(_row(name, f"{t['p50']:.3f}", f"{t['p90']:.3f}", f"{t['p99']:.3f}", note))
    if "2_baseline_overhead" in report:
        lines += _heading(
            "2. Baseline path vs undecorated (µs per call)", "overhead p50 / target 50 µs"
        )
        for name, fig in report["2_baseline_overhead"].items():
            if name.startswith("_"):
                continue
            us = fig["us"]
            extra = fig.get("overhead_us")
            note = (
                ""
                if extra is None
                else (f"+{extra['p50']:.1f} µs  " + ("meets" if extra["p50"] <= 50 else "misses"))
            )
            lines.append(
                _row(name, f"{us['p50']:.1f}", f"{us['p90']:.1f}", f"{us['p99']:.1f}", note)
            )
    if "3_parallel_arms" in report:
        lines += _heading(
            "3. Interleaved latency / max(t_A, t_B) (ms; ratio of p50 and of p99)", "ratio p50 / p99"
        )
        parts = report["3_parallel_arms"]
        blocks = {
            "I/O-bound (socket wait)": parts["io_bound"],
            "numpy-bound, default BLAS threads": parts["numpy_bound"]["default_blas_threads"],
            "numpy-bound, 1 BLAS thread": parts["numpy_bound"]["one_blas_thread"],
            "pure-Python-bound": parts["python_bound"],
        }
        for title, figures in blocks.items():
            lines.append(f"  {title}")
            for name, fig in figures.items():
                note = ""
                if "ratio_p50" in fig:
                    note = f"{fig['ratio_p50']:.2f} / {fig['ratio_p99']:.2f}"
                    if title.startswith("I/O") and name == "parallel on":
                        ok = fig["p50"] <= fig["io_target_ms"]
                        note += f"  {'meets' if ok else 'misses'} <= {fig['io_target_ms']:.2f}"
                lines.append(
                    _row(
                        "    " + name,
                        f"{fig['p50']:.2f}",
                        f"{fig['p90']:.2f}",
                        f"{fig['p99']:.2f}",
                        note,
                    )
                )
        lines.append(f"  numpy child BLAS: {parts['numpy_bound']['blas']}")
        lines.append(
            "  OPENBLAS overrides removed in the child: "
            f"{parts['numpy_bound']['openblas_overrides_removed'] or 'none were set'}"
        )
    if "4_team_draft" in report:
        lines += _heading("4. Team Draft on id lists (µs per draw)", "speed-up vs reference (p50)")
        for name, figures in report["4_team_draft"].items():
            if name.startswith("_") or name == "mpkato":
                continue
            lines.append(f"  {name}")
            for impl, fig in figures.items():
                lines.append(
                    _row(
                        "    " + impl,
                        f"{fig['p50']:.1f}",
                        f"{fig['p90']:.1f}",
                        f"{fig['p99']:.1f}",
                        f"{fig['speedup_vs_reference_p50']:.1f}x",
                    )
                )
        lines.append(f"  mpkato/interleaving: {report['4_team_draft']['mpkato']}")
    if "5_optimized" in report:
        lines += _heading("5. Optimized vs Team Draft at k=10 (µs per draw)", "ratio to TD p50 / p99")
        lines += optimized_bench.render(report["5_optimized"], _row)
    if "6_floor" in report:
        lines += floor.render(report["6_floor"])
    if "7_two_tower" in report:
        from .two_tower_bench import render as two_tower

        lines += ["", "7. " + two_tower(report["7_two_tower"])]
    if "analysis" in report:
        lines += ["", "analysis benchmarks: see the JSON file"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

"""``interleave-sdk analyze``: ranking logs and feedback in, the verdict out (table or JSON).

Exit codes: 0 ran, 1 failed, 2 bad arguments (including an input file that does not exist).
The table and the report (``--report DIR``) come from ``interleave_sdk.analysis.report``; this
module only parses arguments, drives the progress bar and picks the output format.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ..errors import AnalysisInputError, InterleaveError

_STAGES = ("attribution", "statistics", "report")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _kinds(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="attribute feedback to interleaved rankings and compute the verdict",
        description="Attribute feedback to interleaved rankings and decide which arm users prefer.",
    )
    parser.add_argument(
        "--exposures",
        required=True,
        nargs="+",
        metavar="PATH",
        help="ranking log files: JSON lines, plain or .gz; globs allowed",
    )
    parser.add_argument(
        "--feedback",
        required=True,
        metavar="SOURCE",
        help="feedback events: a .csv/.jsonl/.parquet path, or a postgresql:// DSN",
    )
    parser.add_argument(
        "--feedback-query",
        metavar="SQL",
        help="with a postgresql:// --feedback: the query returning user_id, item_id, ts, kind "
        "and optionally ranking_id",
    )
    parser.add_argument("--unit", choices=("user", "impression"), default="user")
    parser.add_argument("--credit", default="competitive", help="credit rule (default competitive)")
    parser.add_argument("--positive", type=_kinds, default=("click", "like"), metavar="KINDS")
    parser.add_argument("--negative", type=_kinds, default=("nope",), metavar="KINDS")
    parser.add_argument(
        "--negative-counts",
        action="store_true",
        help="negative feedback counts against the team that drafted the item",
    )
    parser.add_argument("--window-hours", type=float, default=24.0)
    parser.add_argument("--engine", choices=("duckdb", "pandas"), default="duckdb")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", metavar="DIR", help="also write report.md and plots here")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


def _feedback_source(args: argparse.Namespace) -> Any:
    from ..analysis.sources import PostgresFeedback

    if args.feedback.startswith(_POSTGRES_SCHEMES):
        if not args.feedback_query:
            raise AnalysisInputError("a postgresql:// --feedback needs --feedback-query")
        return PostgresFeedback(args.feedback, args.feedback_query)
    if args.feedback_query:
        raise AnalysisInputError("--feedback-query only applies to a postgresql:// --feedback")
    return args.feedback


def _progress_bar() -> tuple[Callable[[str], None], Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(total=len(_STAGES), file=sys.stderr, disable=not sys.stderr.isatty(), unit="step")

    def step(stage: str) -> None:
        bar.set_description(stage)
        bar.update(1)

    return step, bar.close


def run(args: argparse.Namespace) -> int:
    # Imported here, not at module level: the CLI's other commands never pay for pandas/DuckDB.
    from ..analysis.pipeline import analyze
    from ..analysis.report import format_table, write_report

    step, close = _progress_bar()
    try:
        result = analyze(
            args.exposures,
            _feedback_source(args),
            unit=args.unit,
            credit=args.credit,
            positive=args.positive,
            negative=args.negative,
            negative_counts=args.negative_counts,
            window_hours=args.window_hours,
            engine=args.engine,
            n_boot=args.n_boot,
            seed=args.seed,
            progress=step,
        )
        if args.report:
            write_report(result, args.report)
        step("report")
    except AnalysisInputError as exc:
        close()
        print(f"interleave-sdk analyze: error: {exc}", file=sys.stderr)
        return 2
    except (InterleaveError, ImportError, OSError) as exc:
        close()
        print(f"interleave-sdk analyze: failed: {exc}", file=sys.stderr)
        return 1
    close()
    if args.format == "json":
        print(json.dumps(result.as_dict(), sort_keys=False, default=str))
    else:
        print(format_table(result.verdict, result.matching, result.data_quality))
        if result.preference is not None and len(result.preference.arms) > 2:
            from ..analysis.multileave import format_matrix

            print(f"\n{format_matrix(result.preference)}")
    return 0


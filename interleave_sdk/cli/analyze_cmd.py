"""``interleave-sdk analyze``: ranking logs and feedback in, the verdict out (text or JSON).

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
from .failure import FAILED, STRICT_FAILED, CliFailure

_STAGES = ("attribution", "statistics", "report")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _kinds(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _columns(text: str) -> dict[str, str]:
    from ..analysis.filters import parse_columns

    try:
        return parse_columns(text)
    except AnalysisInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


#: Options that only mean something with --engine athena (refused with any other engine).
_ATHENA_OPTIONS = (
    "athena_database",
    "athena_table",
    "athena_workgroup",
    "athena_output",
    "region",
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="attribute feedback to interleaved rankings and compute the verdict",
        description="Attribute feedback to interleaved rankings and decide which arm users prefer.",
        epilog="Times are UTC: --since is inclusive, --until exclusive, both on the exposure time. "
        "With --engine athena the exposures are the Athena table (see docs/analysis.md) and "
        "--exposures is not given.",
    )
    parser.add_argument(
        "--exposures",
        nargs="+",
        metavar="PATH",
        help="ranking log files: JSON lines, plain or .gz; globs allowed (required with the "
        "duckdb and pandas engines)",
    )
    parser.add_argument(
        "--feedback",
        required=True,
        metavar="SOURCE",
        help="feedback events: a .csv/.jsonl/.parquet path, or a postgresql:// DSN; with "
        "--engine athena, read in place: an s3:// prefix of files (--feedback-format) or "
        "table:NAME",
    )
    parser.add_argument(
        "--feedback-format",
        choices=("json", "csv"),
        help="with --engine athena and an s3:// --feedback: JSON lines (default) or CSV",
    )
    parser.add_argument(
        "--feedback-query",
        metavar="SQL",
        help="with a postgresql:// --feedback: the query returning user_id, item_id, ts, kind "
        "and optionally ranking_id",
    )
    parser.add_argument(
        "--columns",
        type=_columns,
        metavar="TARGET=SOURCE,...",
        help="feedback columns named differently, e.g. ts=timestamp,user_id=uid (targets: "
        "user_id, item_id, ts, kind, ranking_id)",
    )
    parser.add_argument(
        "--experiment", metavar="NAME", help="analyse only exposures logged for this experiment"
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="first exposure time analysed, inclusive: an ISO date (UTC midnight) or timestamp",
    )
    parser.add_argument(
        "--until",
        metavar="TIME",
        help="end of the exposure times analysed, exclusive: an ISO date or timestamp",
    )
    parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="when this look is taken: the sequential test scores the impressions whose "
        "attribution window closed by then (default: the latest feedback time read)",
    )
    parser.add_argument(
        "--unit",
        choices=("user", "impression"),
        default="user",
        help="unit of analysis for wins, ties and the test (default user)",
    )
    parser.add_argument("--credit", default="competitive", help="credit rule (default competitive)")
    parser.add_argument(
        "--positive",
        type=_kinds,
        default=("click", "like"),
        metavar="KINDS",
        help="comma-separated feedback kinds that credit an arm (default click,like)",
    )
    parser.add_argument(
        "--negative",
        type=_kinds,
        default=("nope",),
        metavar="KINDS",
        help="comma-separated feedback kinds that count against an arm (default nope)",
    )
    parser.add_argument(
        "--negative-counts",
        action="store_true",
        help="negative feedback counts against the team that drafted the item",
    )
    parser.add_argument(
        "--window-hours",
        type=float,
        default=24.0,
        help="attribution window for feedback without a ranking_id, in hours (default 24)",
    )
    parser.add_argument(
        "--user-id-salt",
        metavar="SALT",
        help="the salt the SDK hashed logged user ids with: feedback user ids are hashed alike "
        "before the join",
    )
    parser.add_argument(
        "--engine",
        choices=("duckdb", "pandas", "athena"),
        default="duckdb",
        help="where attribution runs: duckdb (local, default), pandas (reference) or athena",
    )
    athena = parser.add_argument_group("athena engine (with --engine athena)")
    athena.add_argument("--athena-database", metavar="NAME", help="Glue database of the ranking-log table")
    athena.add_argument(
        "--athena-table",
        metavar="NAME",
        help="the ranking-log table created by athena_ddl() (its NAME_log view is read)",
    )
    athena.add_argument(
        "--athena-workgroup",
        metavar="NAME",
        help="Athena workgroup to run the queries in (default primary)",
    )
    athena.add_argument(
        "--athena-output",
        metavar="S3URI",
        help="s3://bucket/prefix/ for query results and the run's temporary tables; the run "
        "deletes what it wrote there",
    )
    athena.add_argument("--region", metavar="REGION", help="AWS region (default: boto3's)")
    parser.add_argument(
        "--n-boot",
        type=int,
        default=1000,
        help="bootstrap resamples for the confidence interval (default 1000)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the bootstrap's random generator (default 0)"
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance level of both verdicts, fixed-horizon and sequential (default 0.05)",
    )
    parser.add_argument("--report", metavar="DIR", help="also write report.md and plots here")
    parser.add_argument(
        "--format",
        choices=("text", "json", "table"),
        default="text",
        metavar="{text,json}",
        help="text: the verdict table (default); json: the result as one object. "
        "`table` is the deprecated name of text",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 3 when a health check fails (for pipelines); the output is "
        "printed first",
    )
    parser.set_defaults(func=run)


def _engine(args: argparse.Namespace) -> Any:
    """The engine name, or an AthenaEngine; every engine-specific option is used or refused."""
    given = [f"--{name.replace('_', '-')}" for name in _ATHENA_OPTIONS if getattr(args, name)]
    if args.engine != "athena":
        if given:
            raise AnalysisInputError(f"{', '.join(given)} only apply with --engine athena")
        if not args.exposures:
            raise AnalysisInputError(f"--engine {args.engine} needs --exposures (the log files)")
        return args.engine
    if args.exposures:
        raise AnalysisInputError(
            "--engine athena reads the Athena table; drop --exposures (the logs are in S3)"
        )
    missing = [
        f"--{name.replace('_', '-')}"
        for name in ("athena_database", "athena_table", "athena_output")
        if not getattr(args, name)
    ]
    if missing:
        raise AnalysisInputError(f"--engine athena needs {', '.join(missing)}")
    from ..analysis.athena import AthenaEngine

    return AthenaEngine(
        database=args.athena_database,
        table=args.athena_table,
        output=args.athena_output,
        workgroup=args.athena_workgroup or "primary",
        region=args.region,
    )


def _feedback_source(args: argparse.Namespace) -> Any:
    from ..analysis.sources import PostgresFeedback

    if args.engine == "athena":
        from ..analysis.athena import FeedbackInPlace

        if args.feedback.startswith("s3://"):
            return FeedbackInPlace(location=args.feedback, format=args.feedback_format or "json")
        if args.feedback.startswith("table:") and not args.feedback_format:
            return FeedbackInPlace(table=args.feedback.removeprefix("table:"))
        raise AnalysisInputError(
            "--engine athena reads feedback where it lies: give --feedback s3://bucket/prefix/ "
            "(with --feedback-format for CSV) or --feedback table:NAME"
        )
    if args.feedback_format:
        raise AnalysisInputError("--feedback-format only applies with --engine athena and s3:// feedback")

    if args.feedback.startswith(_POSTGRES_SCHEMES):
        if not args.feedback_query:
            raise AnalysisInputError("a postgresql:// --feedback needs --feedback-query")
        return PostgresFeedback(args.feedback, args.feedback_query)
    if args.feedback_query:
        raise AnalysisInputError("--feedback-query only applies to a postgresql:// --feedback")
    return args.feedback


def _progress_bar() -> tuple[Callable[[str], None], Callable[[], None]]:
    """A bar on a terminal; without tqdm (a core install) the stages simply pass unseen."""
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return (lambda stage: None), (lambda: None)

    bar = tqdm(total=len(_STAGES), file=sys.stderr, disable=not sys.stderr.isatty(), unit="step")

    def step(stage: str) -> None:
        bar.set_description(stage)
        bar.update(1)

    return step, bar.close


def run(args: argparse.Namespace) -> int:
    close: Callable[[], None] = lambda: None  # noqa: E731
    try:
        # Imported here, not at module level: the CLI's other commands never pay for pandas.
        from ..analysis.pipeline import analyze
        from ..analysis.report import format_result, write_report

        step, close = _progress_bar()
        engine = _engine(args)  # its options are checked before the feedback's
        result = analyze(
            args.exposures,
            _feedback_source(args),
            unit=args.unit,
            credit=args.credit,
            positive=args.positive,
            negative=args.negative,
            negative_counts=args.negative_counts,
            window_hours=args.window_hours,
            engine=engine,
            n_boot=args.n_boot,
            seed=args.seed,
            alpha=args.alpha,
            progress=step,
            experiment=args.experiment,
            since=args.since,
            until=args.until,
            as_of=args.as_of,
            columns=args.columns,
            user_id_salt=args.user_id_salt,
        )
        report = write_report(result, args.report) if args.report else None
        step("report")
    except AnalysisInputError as exc:
        close()
        raise CliFailure(str(exc)) from exc
    except ImportError:
        close()
        raise  # the CLI's front door names the extra to install (interleave_sdk.extras)
    except (InterleaveError, OSError) as exc:
        close()
        raise CliFailure(str(exc), FAILED) from exc
    close()
    if args.format == "table":
        print(
            "interleave-sdk analyze: note: --format table is now --format text; "
            "the old name will be removed",
            file=sys.stderr,
        )
    if report is not None:  # stderr: stdout stays the verdict alone (JSON parsers read it)
        print(f"interleave-sdk analyze: wrote the report to {report}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(result.as_dict(), sort_keys=False, default=str))
    else:
        print(format_result(result))
        if result.holdout is not None:
            print(f"\n{result.holdout.sentence()}")
    failed = [check.name for check in result.health if check.status == "fail"]
    if args.strict and failed:
        raise CliFailure(f"health checks failed: {', '.join(failed)}", STRICT_FAILED)
    return 0

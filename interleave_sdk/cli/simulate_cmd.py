"""``interleave-sdk simulate``: simulated traffic through a decorated handler, then the verdict.

The scenario (the host system: users, handler, hidden grades) is loaded as ``module:factory``. The
default, the sample video app, ships inside the package, so a pip-installed SDK runs it; for your
own scenario, ``--app-dir`` (default: the current directory) is put on the import path first.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

import orjson

from ..analysis.credit import available_credit_rules
from ..errors import InterleaveError
from ..extras import install_hint
from ..simulation.click_models import available_click_models
from .failure import FAILED, CliFailure

DEFAULT_SCENARIO = "interleave_sdk.simulation.video_recsys.handler:scenario"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate users and clicks through a decorated handler, then analyse the logs",
        description=__doc__,
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per run (2000)")
    parser.add_argument(
        "--click-model",
        default="navigational",
        choices=available_click_models(),
        help="how simulated users click (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="traffic, ids and clicks (0)")
    parser.add_argument("--world-seed", type=int, default=7, help="catalogue and users (7)")
    parser.add_argument("--arms", default="v1,v2", help="model versions A,B (v1,v2)")
    parser.add_argument("--gap", type=float, default=None, help="quality gap of v2 over v1")
    parser.add_argument(
        "--credit",
        default="competitive",
        choices=available_credit_rules(),
        help="how clicks credit the arms in the analysis (default %(default)s)",
    )
    parser.add_argument(
        "--unit",
        default="user",
        choices=("user", "impression"),
        help="what one vote is in the verdict: a user or an impression (default %(default)s)",
    )
    parser.add_argument("--no-ab", action="store_true", help="skip the A/B counterpart")
    parser.add_argument("--alpha", type=float, default=0.05, help="level of every test (0.05)")
    parser.add_argument(
        "--ab-metric", default="rr", choices=("rr", "clicks"), help="planned A/B metric (rr)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("out/simulate"), help="logs, feedback and report/ (out/simulate)"
    )
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, help="module:factory")
    parser.add_argument("--app-dir", type=Path, default=Path("."), help="put on sys.path first")
    parser.add_argument(
        "--format",
        default="text",
        choices=("text", "json"),
        help="text: the verdict table and a summary; json: one object (default %(default)s)",
    )
    parser.set_defaults(func=run)


def load_scenario(spec: str, app_dir: Path, **kwargs: Any) -> Any:
    module_name, _, attr = spec.partition(":")
    path = str(app_dir.resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    module = importlib.import_module(module_name)
    return getattr(module, attr or "scenario")(**kwargs)


def run(args: argparse.Namespace) -> int:
    from ..analysis.report import format_table
    from ..simulation.simulator import SimulationSettings, simulate

    arms = [a.strip() for a in args.arms.split(",")]
    if len(arms) != 2 or not all(arms):
        raise CliFailure(
            f"--arms takes exactly two model versions, A,B (got {args.arms!r}): the simulated "
            "scenario has two; to compare three or more rankers, see docs/multileaving.md"
        )
    if args.requests < 1:
        raise CliFailure(f"--requests must be a positive count, got {args.requests}")
    try:
        scenario = load_scenario(
            args.scenario, args.app_dir, seed=args.world_seed, a=arms[0], b=arms[1], gap=args.gap
        )
        settings = SimulationSettings(
            requests=args.requests,
            click_model=args.click_model,
            seed=args.seed,
            credit=args.credit,
            unit=args.unit,
            ab=not args.no_ab,
            alpha=args.alpha,
            ab_metric=args.ab_metric,
        )
        result = simulate(scenario, settings, args.out, report_dir=args.out / "report")
    except ImportError as exc:
        if install_hint(exc) is not None:
            raise  # the CLI's front door names the extra to install
        raise CliFailure(f"{type(exc).__name__}: {exc}", FAILED) from exc
    except (AttributeError, KeyError, ValueError, InterleaveError, OSError) as exc:
        raise CliFailure(f"{type(exc).__name__}: {exc}", FAILED) from exc
    if args.format == "json":
        sys.stdout.write(orjson.dumps(result.as_dict(), option=orjson.OPT_SERIALIZE_NUMPY).decode())
        sys.stdout.write("\n")
        return 0
    analysis = result.analysis
    print(
        format_table(
            analysis.verdict,
            analysis.matching,
            analysis.data_quality,
            sequential=analysis.sequential,
        )
    )
    if result.ab is not None:
        for metric, name in (("clicks", "clicks per impression"), ("rr", "reciprocal rank")):
            m = result.ab[metric]
            print(
                f"A/B {name}: A {m['mean_a']:.4f} vs B {m['mean_b']:.4f}, "
                f"p = {m['p_value']:.3g}, winner {m['winner']}"
            )
    story = result.story()
    print(story[0].upper() + story[1:] + ".")
    print(f"files: {', '.join(result.files.values())}")
    return 0

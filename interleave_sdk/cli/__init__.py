"""The ``interleave-sdk`` command line: one sub-command per module in this package.

Each ``<name>_cmd`` module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (``args -> exit code``). Modules are imported only when the CLI runs, so importing the
SDK in a Lambda never pays for the analysis stack. Exit codes: 0 ran, 1 failed, 2 bad arguments,
a set-up problem (no AWS region or credentials) or a missing optional extra, 3 a health check
failed under ``analyze --strict``. Every failure is one line on stderr,
``interleave-sdk <command>: error: ...``, naming the fix (:mod:`.failure`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import MissingDependency
from ..extras import install_hint
from .failure import FAILED, USAGE, CliFailure, aws_setup_failure, error_line

#: Sub-command modules, in help order. A module that is absent is skipped.
COMMAND_MODULES: tuple[str, ...] = ("config_cmd", "analyze_cmd", "simulate_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interleave-sdk",
        description="Interleaved evaluation of rankers: two interleaved, or more multileaved, "
        "inside each request.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help/--version
        return int(exc.code or 0)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args))
    except CliFailure as exc:
        failure = exc
    except ImportError as exc:  # an optional package a core install lacks: say which extra
        hint = install_hint(exc)
        if hint is None:
            failure = CliFailure(f"{type(exc).__name__}: {exc}", FAILED)
        else:
            package = exc.package if isinstance(exc, MissingDependency) else exc.name
            failure = CliFailure(
                f"needs the optional package {package}, which is not installed; "
                f"install it with: {hint}",
                USAGE,
            )
    except Exception as exc:  # the last guard: an operator gets one line, never a traceback
        failure = aws_setup_failure(exc) or CliFailure(
            f"{type(exc).__name__}: {exc} (unexpected; please report it with the command line)",
            FAILED,
        )
    print(error_line(args.command, failure.message), file=sys.stderr)
    return failure.code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

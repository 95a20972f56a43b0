"""The ``interleave-sdk`` command line: one sub-command per module in this package.

Each ``<name>_cmd`` module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (``args -> exit code``). Modules are imported only when the CLI runs, so importing the
SDK in a Lambda never pays for the analysis stack. Exit codes: 0 ran, 1 failed, 2 bad arguments
or a missing optional extra (the message names the ``pip install`` that fixes it), 3 a health
check failed under ``analyze --strict``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import MissingDependency
from ..extras import install_hint

#: Sub-command modules, in help order. A module that is absent is skipped.
COMMAND_MODULES: tuple[str, ...] = ("config_cmd", "analyze_cmd", "simulate_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interleave-sdk", description="Interleaved evaluation of two rankers."
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
    except ImportError as exc:  # an optional package a core install lacks: say which extra
        hint = install_hint(exc)
        if hint is None:
            raise
        package = exc.package if isinstance(exc, MissingDependency) else exc.name
        print(
            f"interleave-sdk {args.command}: needs the optional package {package}, "
            f"which is not installed; install it with: {hint}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

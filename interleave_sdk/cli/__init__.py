"""The ``interleave-sdk`` command line: one sub-command per module in this package.

Each ``<name>_cmd`` module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (``args -> exit code``). Modules are imported only when the CLI runs, so importing the
SDK in a Lambda never pays for the analysis stack. Exit codes: 0 ran, 1 failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__

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
    return int(func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

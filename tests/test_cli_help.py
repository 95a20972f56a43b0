"""Every option of every CLI command says what it does in --help."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from interleave_sdk.cli import build_parser

Parser = argparse.ArgumentParser


def commands(parser: Parser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Parser]]:
    """(command path, parser) for the top level and every sub-command, nested ones included."""
    yield " ".join(path) or "interleave-sdk", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


COMMANDS = dict(commands(build_parser()))

#: Commands whose help is still incomplete (none).
PENDING: dict[str, pytest.MarkDecorator] = {}


def test_every_command_module_is_covered() -> None:
    """The walk finds the config, analyze and simulate commands (so the test below checks them)."""
    assert {"config show", "config set", "analyze", "simulate"} <= set(COMMANDS)


@pytest.mark.parametrize(
    "command", [pytest.param(name, marks=PENDING.get(name, ())) for name in sorted(COMMANDS)]
)
def test_every_option_has_help(command: str) -> None:
    """No argument of the command shows up in --help without a description."""
    parser = COMMANDS[command]
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and action.help is not argparse.SUPPRESS
        and not (action.help or "").strip()
    ]
    assert missing == [], f"{command}: no help for {', '.join(missing)}"

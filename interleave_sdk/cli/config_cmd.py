"""``interleave-sdk config show|set``: the operator's view of and hand on the SSM switches.

``set`` validates with the same parsers the SDK uses before it writes, so a typo can never reach
the fleet; ``show`` prints each effective value and where it came from (SSM, env override, default).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..config.settings import ARM_NAME_RULE, INTERLEAVE, PARSERS, is_arm_name
from ..config.ssm import DEFAULT_PREFIX, SSMConfig, make_client, parameter_name
from ..errors import ConfigError, InvalidConfigValue
from .failure import FAILED, CliFailure, aws_setup_failure

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

#: The operator's client may wait longer than a request would: nobody is being served meanwhile.
_CLI_CONNECT_TIMEOUT_S = 2.0
_CLI_READ_TIMEOUT_S = 5.0
_CLI_MAX_ATTEMPTS = 3
#: The arm names a mode may take without --arms: the decorator's default baseline and the
#: second arm of every two-arm sample.
_DEFAULT_ARMS = ("A", "B")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config", help="show or change the experiment switches in SSM Parameter Store"
    )
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--prefix", default=DEFAULT_PREFIX, help="SSM path (default %(default)s)")
        sub.add_argument("--region", default=None, help="AWS region (default: boto3's resolution)")
        sub.add_argument("--endpoint-url", default=None, help="SSM endpoint (e.g. a local one)")

    show = actions.add_parser(
        "show", help="print the effective config and where each value came from"
    )
    common(show)
    show.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    show.set_defaults(func=run_show)

    set_ = actions.add_parser("set", help="validate and write one key, e.g. `set mode A`")
    common(set_)
    set_.add_argument("key", help="one of " + ", ".join(PARSERS))
    set_.add_argument("value", help="the new value, validated as the SDK reads it (e.g. INTERLEAVE, 0.05)")
    set_.add_argument(
        "--arms",
        type=_arm_list,
        metavar="NAME,...",
        help="with `set mode`: the arm names of your decorators, confirming a mode other than "
        "INTERLEAVE, A or B (e.g. --arms A,B,C to set mode C)",
    )
    set_.set_defaults(func=run_set)

    parser.set_defaults(func=lambda args: _usage(parser))


def _arm_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [name for name in names if not is_arm_name(name)]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"--arms takes arm names separated by commas ({ARM_NAME_RULE}), got {text!r}"
        )
    return names


def checked_mode(mode: str, arms: tuple[str, ...] | None) -> str:
    """``mode`` if it is INTERLEAVE or names a known arm, else a failure naming the fix.

    Any well-formed name parses as a mode (the SDK cannot know every decorator's arms), so a typo
    such as ``INTERLEAV`` would otherwise reach the fleet and serve the baseline everywhere. The
    operator confirms names other than the defaults' A and B with ``--arms``.
    """
    known = _DEFAULT_ARMS if arms is None else arms
    if mode == INTERLEAVE or mode in known:
        return mode
    if arms is None:
        raise CliFailure(
            f"mode {mode!r} is not INTERLEAVE, A or B; nothing written. If it names an arm of "
            f"your decorators, confirm it: --arms A,B,{mode}"
        )
    raise CliFailure(
        f"mode {mode!r} is not INTERLEAVE nor one of --arms {','.join(arms)}; nothing written"
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client(args: argparse.Namespace) -> SSMClient:
    try:
        return make_client(
            region=args.region,
            endpoint_url=args.endpoint_url,
            connect_timeout=_CLI_CONNECT_TIMEOUT_S,
            read_timeout=_CLI_READ_TIMEOUT_S,
            max_attempts=_CLI_MAX_ATTEMPTS,
        )
    except Exception as exc:
        raise aws_setup_failure(exc) or CliFailure(f"no SSM client: {exc}") from exc


def canonical(key: str, value: object) -> str:
    """The text written to SSM for a parsed value (``interleave`` -> ``INTERLEAVE``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def run_set(args: argparse.Namespace) -> int:
    if args.key not in PARSERS:
        raise CliFailure(f"unknown key {args.key!r}; known keys: {', '.join(PARSERS)}")
    try:
        parsed = PARSERS[args.key](args.value)
    except InvalidConfigValue as exc:
        raise CliFailure(f"{exc}; nothing written") from exc
    if args.key == "mode":
        parsed = checked_mode(parsed, args.arms)
    elif args.arms is not None:
        raise CliFailure(f"--arms only applies to `set mode`, not to {args.key!r}")
    prefix = args.prefix.rstrip("/")
    name = parameter_name(prefix, args.key)
    text = canonical(args.key, parsed)
    try:
        response = _client(args).put_parameter(
            Name=name, Value=text, Type="String", Overwrite=True
        )
    except Exception as exc:
        setup = aws_setup_failure(exc)
        if setup is not None:
            raise setup from exc
        raise CliFailure(f"writing {name} failed: {type(exc).__name__}: {exc}", FAILED) from exc
    print(f"{name} = {text} (version {response.get('Version')})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        provider = SSMConfig(args.prefix, client=_client(args))
        rows = provider.explain()
    except ConfigError as exc:  # unreachable, denied, or a stored value is invalid
        setup = aws_setup_failure(exc)
        if setup is not None:
            raise setup from exc
        raise CliFailure(str(exc), FAILED) from exc
    except ValueError as exc:  # a malformed --prefix
        raise CliFailure(str(exc)) from exc
    prefix = provider.prefix
    if args.json:
        document = {
            row.key: {
                "value": row.value,
                "source": row.source,
                "version": row.version,
                "ssm_value": row.ssm_value,
            }
            for row in rows
        }
        print(json.dumps({"prefix": prefix, "settings": document}, indent=2))
        return 0
    print(f"prefix {prefix}")
    print(f"{'key':<18} {'value':<14} {'source':<13} {'version':<8} note")
    for row in rows:
        note = ""
        if row.source == "env override" and row.ssm_value is not None:
            note = f"SSM has {row.ssm_value!r}"
        version = "-" if row.version is None else str(row.version)
        value = canonical(row.key, row.value)
        print(f"{row.key:<18} {value:<14} {row.source:<13} {version:<8} {note}".rstrip())
    return 0

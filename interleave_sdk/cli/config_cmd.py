"""``interleave-sdk config show|set``: the operator's view of and hand on the SSM switches.

``set`` validates with the same parsers the SDK uses before it writes, so a typo can never reach
the fleet; ``show`` prints each effective value and where it came from (SSM, env override, default).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..config.settings import PARSERS
from ..config.ssm import DEFAULT_PREFIX, SSMConfig, make_client, parameter_name
from ..errors import ConfigError, InvalidConfigValue

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

#: The operator's client may wait longer than a request would: nobody is being served meanwhile.
_CLI_CONNECT_TIMEOUT_S = 2.0
_CLI_READ_TIMEOUT_S = 5.0
_CLI_MAX_ATTEMPTS = 3


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
    set_.set_defaults(func=run_set)

    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client(args: argparse.Namespace) -> SSMClient:
    return make_client(
        region=args.region,
        endpoint_url=args.endpoint_url,
        connect_timeout=_CLI_CONNECT_TIMEOUT_S,
        read_timeout=_CLI_READ_TIMEOUT_S,
        max_attempts=_CLI_MAX_ATTEMPTS,
    )


def canonical(key: str, value: object) -> str:
    """The text written to SSM for a parsed value (``interleave`` -> ``INTERLEAVE``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def run_set(args: argparse.Namespace) -> int:
    if args.key not in PARSERS:
        print(
            f"error: unknown key {args.key!r}; known keys: {', '.join(PARSERS)}", file=sys.stderr
        )
        return 2
    try:
        parsed = PARSERS[args.key](args.value)
    except InvalidConfigValue as exc:
        print(f"error: {exc}; nothing written", file=sys.stderr)
        return 2
    prefix = args.prefix.rstrip("/")
    name = parameter_name(prefix, args.key)
    text = canonical(args.key, parsed)
    try:
        response = _client(args).put_parameter(
            Name=name, Value=text, Type="String", Overwrite=True
        )
    except Exception as exc:
        print(f"error: writing {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{name} = {text} (version {response.get('Version')})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        provider = SSMConfig(args.prefix, client=_client(args))
        rows = provider.explain()
    except ConfigError as exc:  # unreachable, denied, or a stored value is invalid
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a malformed --prefix
        print(f"error: {exc}", file=sys.stderr)
        return 2
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

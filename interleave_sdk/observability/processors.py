"""Built-in record processors: small ``record -> record | None`` steps between the engine and the sink.

Pass them as ``@interleaved(..., processors=[...])``; they run in order on the finished record of
each call. None does I/O: the Lambda fields come from a context variable the handler binds, the id
hash from a key given at construction. Returning ``None`` drops the line (``drop_unexposed``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

Record = dict[str, Any]
Processor = Callable[[Record], Record | None]

P = ParamSpec("P")
R = TypeVar("R")

#: The variable the Lambda runtime sets to the invocation's X-Ray trace header.
TRACE_ENV = "_X_AMZN_TRACE_ID"

#: A key shorter than this would let anybody holding the log confirm guessed ids by brute force.
MIN_SALT_BYTES = 16


@dataclass(frozen=True)
class Invocation:
    """What the correlation processor needs from one Lambda invocation."""

    request_id: str | None
    function_name: str | None
    cold_start: bool


_INVOCATION: ContextVar[Invocation | None] = ContextVar("interleave_sdk_lambda", default=None)


class LambdaContextBinder:
    """Makes the Lambda context of the running invocation visible to :func:`lambda_correlation`.

    Decorate the handler (``@binder``) or wrap the call (``with binder.invocation(context):``).
    The first invocation a binder sees in a process is the cold start; one binder per process
    (a module-level instance next to the handler) is what makes that true.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen_one = False

    @contextmanager
    def invocation(self, context: Any) -> Iterator[Invocation]:
        with self._lock:
            cold, self._seen_one = not self._seen_one, True
        bound = Invocation(
            request_id=_text_attr(context, "aws_request_id"),
            function_name=_text_attr(context, "function_name"),
            cold_start=cold,
        )
        token = _INVOCATION.set(bound)
        try:
            yield bound
        finally:
            _INVOCATION.reset(token)

    def __call__(self, handler: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``handler(event, context)`` so each call runs with its context bound."""

        @functools.wraps(handler)
        def bound_handler(*args: P.args, **kwargs: P.kwargs) -> R:
            context = kwargs.get("context", args[1] if len(args) > 1 else None)
            with self.invocation(context):
                return handler(*args, **kwargs)

        return bound_handler


def current_invocation() -> Invocation | None:
    """The invocation bound in this context, or ``None`` outside a bound handler."""
    return _INVOCATION.get()


def xray_trace_id(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``Root=`` part of the X-Ray trace header, as Powertools and the X-Ray console show it."""
    header = (os.environ if environ is None else environ).get(TRACE_ENV)
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root" and value:
            return value
    return None


def lambda_correlation(record: Record) -> Record:
    """Add ``function_request_id``, ``function_name``, ``cold_start`` and ``xray_trace_id``.

    The same names Powertools Logger uses, so a Logs Insights query can join the ranking line with
    the function's other lines. Outside a bound handler only ``xray_trace_id`` can be known; fields
    that are unknown are left out rather than written as null.
    """
    invocation = _INVOCATION.get()
    if invocation is not None:
        if invocation.request_id is not None:
            record["function_request_id"] = invocation.request_id
        if invocation.function_name is not None:
            record["function_name"] = invocation.function_name
        record["cold_start"] = invocation.cold_start
    trace = xray_trace_id()
    if trace is not None:
        record["xray_trace_id"] = trace
    return record


def hash_user_id(user_id: str, salt: str | bytes) -> str:
    """The logged form of a user id: HMAC-SHA256 keyed by ``salt``, as 64 hex digits.

    The analysis hashes feedback ids with this same function (``analyze(..., user_id_salt=...)``),
    so logs and feedback still join while the raw id never reaches the log.
    """
    key = salt.encode("utf-8") if isinstance(salt, str) else salt
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def check_salt(salt: object) -> bytes:
    """The salt as bytes; refuses anything that is not a secret of at least 16 bytes."""
    if isinstance(salt, str):
        key = salt.encode("utf-8")
    elif isinstance(salt, bytes):
        key = salt
    else:
        raise TypeError(f"salt must be str or bytes (a secret, e.g. from Secrets Manager), got {salt!r}")
    if len(key) < MIN_SALT_BYTES:
        raise ValueError(
            f"salt must be at least {MIN_SALT_BYTES} bytes (got {len(key)}): a short key lets anyone "
            "with the logs confirm guessed user ids; generate one with `python -c "
            "\"import secrets; print(secrets.token_hex(32))\"`"
        )
    return key


def hash_user_ids(salt: str | bytes) -> Processor:
    """A processor replacing ``user_id`` with :func:`hash_user_id` (anonymous stays null).

    Bucketing and seeding happen before processors run, on the raw id, so hashing changes nothing
    about who is in the sample. What it does not hide: ``bucket`` (and ``seed.value`` with
    ``seed_strategy=user``) are unkeyed hashes of the raw id, so a guessed id can still be checked
    against them; see docs/lambda.md. It fails closed: an id that cannot be hashed (a lone
    surrogate cannot be encoded) is logged as null, with a ``processor_errors`` note.
    """
    key = check_salt(salt)

    def hash_user(record: Record) -> Record:
        user = record.get("user_id")
        if isinstance(user, str):
            try:
                record["user_id"] = hash_user_id(user, key)
            except Exception as exc:  # fail closed: the raw id never reaches the log
                record["user_id"] = None
                record.setdefault("processor_errors", []).append(
                    f"hash_user_ids: the user id could not be hashed ({type(exc).__name__}); logged as null"
                )
        return record

    hash_user.__qualname__ = "hash_user_ids"
    return hash_user


def drop_unexposed(record: Record) -> Record | None:
    """Drop the line of a request outside the experiment; keep exposures and every failure.

    Kept: interleaved lists, in-sample requests (also when they failed open), and any line with a
    ``fallback_reason`` (config errors, invalid pins: the operational signals). Dropped: out of
    sample, kill switch, mode naming one arm, pinned routes. The verdict uses interleaved lines
    only, so it does not change; what does is listed in docs/lambda.md (EMF metrics of dropped
    lines, sample-share checks, the migration queries that count pinned and baseline lines).
    """
    if record.get("served") == "interleaved" or record.get("in_sample") is True:
        return record
    if record.get("fallback_reason") is not None:
        return record
    return None


def _text_attr(context: Any, name: str) -> str | None:
    value = getattr(context, name, None)
    return value if isinstance(value, str) and value else None

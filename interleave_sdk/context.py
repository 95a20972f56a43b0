"""Per-request values that travel with the caller's context: a pin, and the last ranking id.

Both are ``contextvars``, so they follow the caller through threads' own contexts, asyncio tasks
and the SDK's worker threads (which run in a copy of the caller's context), and never leak from one
request handled on a thread to another handled concurrently on a different one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_PIN: ContextVar[object] = ContextVar("interleave_sdk_pin", default=None)
_LAST_RANKING_ID: ContextVar[str | None] = ContextVar("interleave_sdk_ranking_id", default=None)


@contextmanager
def pinned(arm: object) -> Iterator[None]:
    """Serve calls made inside the block by ``arm`` alone, whatever the experiment switches say.

    For routes that must keep behaving like one ranker (a legacy ``/b/recommend`` route, a QA
    header): ``with pinned("B"): recommend(user_id, ctx)``. The kill switch (``mode`` naming the
    baseline) still wins; a pinned request is logged with ``pinned`` and is never an interleaving
    exposure. Any value is accepted here, because a pin usually comes from request data: one that
    names no arm of the decorator fails open to the decorated function, logged as ``invalid_pin``.
    Pins nest; the innermost applies.
    """
    token = _PIN.set(arm)
    try:
        yield
    finally:
        _PIN.reset(token)


def last_ranking_id() -> str | None:
    """The ranking id of the last decorated call made in this context (``None`` before any).

    The id reaches the caller without writing on the objects the handler returns: read it right
    after the call (``items = recommend(u); rid = last_ranking_id()``) and send it with the
    response, so that feedback joins the log line exactly. An interleaved frame, which the SDK built
    itself, also carries it as ``frame.attrs["ranking_id"]``.
    """
    return _LAST_RANKING_ID.get()

"""Per-request values that travel with the caller's context: a pin, and the last ranking's id
and what served it (read by :func:`last_ranking_id` and :func:`source_rankers`).

Both are ``contextvars``, so they follow the caller through threads' own contexts, asyncio tasks
and the SDK's worker threads (which run in a copy of the caller's context), and never leak from one
request handled on a thread to another handled concurrently on a different one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import pandas as pd

_PIN: ContextVar[object] = ContextVar("interleave_sdk_pin", default=None)
_LAST_RANKING_ID: ContextVar[str | None] = ContextVar("interleave_sdk_ranking_id", default=None)
#: (ranking id, ``served`` as logged) of the last decorated call that returned in this context.
_LAST_SERVED: ContextVar[tuple[str, str] | None] = ContextVar("interleave_sdk_served", default=None)
#: The column an interleaved frame carries (interleave_sdk.frames.SOURCE_COLUMN).
_SOURCE = "source_ranker"


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


def source_rankers(frame: Any) -> pd.Series:
    """The arm that supplied each row of the list the last decorated call returned, as a Series.

    Works whatever was served: for an interleaved frame it is the SDK's ``source_ranker`` column
    (the arm credited with each row); for a list one arm served alone (mode ``B``, a pin) or the
    decorated function's answer (mode ``A``, every fail-open path), it is that arm on every row,
    the ``served`` value the log line records. Call it right after the call, in the same thread or
    task, on the frame it returned (filtered or not); ``frame`` is never written on. Use it
    instead of ``frame["source_ranker"]``, which only interleaved frames have.

    Raises ``LookupError`` when no decorated call has returned in this context, ``ValueError`` for
    an interleaved frame of another call, and ``TypeError`` when ``frame`` is not a DataFrame.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"source_rankers() takes the DataFrame the call returned, got {type(frame).__name__}")
    last = _LAST_SERVED.get()
    if last is None:
        raise LookupError(
            "source_rankers() found no decorated call in this context: call it right after the "
            "call, in the same thread or task"
        )
    ranking_id, served = last
    if served != "interleaved":
        return pd.Series(served, index=frame.index, name=_SOURCE, dtype="object")
    frame_id = frame.attrs.get("ranking_id")
    if frame_id != ranking_id or _SOURCE not in frame.columns:
        raise ValueError(
            f"this frame is not the interleaved list of the last call (ranking {ranking_id}): "
            "call source_rankers() on the frame that call returned, before the next call"
        )
    values = frame[_SOURCE].to_numpy(dtype=object, copy=True)  # a copy: the caller's frame stays untouched
    return cast("pd.Series", pd.Series(values, index=frame.index, name=_SOURCE))

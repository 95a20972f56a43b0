"""Streaming arms: a ranker that yields items best first, pulled only as far as the merge needs.

A streaming ranker is an object with ``rank_stream(...)`` (and optionally ``rank_full(...)``) or a
generator function. It is called with the decorated function's arguments and yields rows as
mappings holding the item column, or small DataFrames as batches of rows.

Where pulling happens (the contract the engine relies on):

- **On the arm's thread, under the deadline**: :func:`open_stream` calls the ranker and pre-pulls
  ``prefetch`` items (the engine passes ``k``). Team Draft never reads deeper than ``k`` items of
  one list (it reads position ``i`` only when the ``i`` items above it are placed, and it stops at
  ``k`` placed), so for it the whole stream cost is paid where the deadline applies, and a stream
  that stalls is that arm's ``timeout`` like any slow ranker.
- **On the calling thread, lazily**: a method that reads deeper (or a list shorter than it seemed)
  pulls further items through :meth:`ArmStream.ranking`, one at a time, checking the deadline
  before each pull. A pull that is already under way cannot be interrupted (Python cannot stop a
  thread); the deadline check bounds how many start late.

Every row is copied when it is pulled (a generator may reuse one dict per yield, a common cursor
optimisation: kept by reference, every served row would be the last one pulled while the log says
otherwise), then validated (a mapping or frame row with a non-null, hashable item id
not seen before in this stream). A stream that raises, yields junk or a duplicate, or runs out of
time midway raises :class:`~interleave_sdk.errors.StreamError` naming the fallback reason; the engine
then serves the baseline. The part already pulled is never served half-merged: a merge either
completes from valid items or is dropped whole.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from .clock import Clock
from .errors import RankerOutputError, StreamError
from .ids import canonical_ids
from .interleaving.lazy import LazyRanking


@runtime_checkable
class StreamingRanker(Protocol):
    """An object whose ``rank_stream(...)`` yields items best first (``rank_full`` optional)."""

    def rank_stream(self, *args: Any, **kwargs: Any) -> Iterable[Any]: ...


def is_streaming(ranker: object) -> bool:
    """True for an object with ``rank_stream`` or a generator function (plain or bound)."""
    if callable(getattr(ranker, "rank_stream", None)):
        return True
    call = type(ranker).__call__ if callable(ranker) and not inspect.isroutine(ranker) else None
    return inspect.isgeneratorfunction(ranker) or inspect.isgeneratorfunction(call)


def stream_function(ranker: object) -> Callable[..., Any]:
    """The callable that opens the stream: ``rank_stream`` if present, else the generator function."""
    method: Callable[..., Any] | None = getattr(ranker, "rank_stream", None)
    if callable(method):
        return method
    if not callable(ranker):
        raise TypeError(f"{ranker!r} is not a streaming ranker")
    return ranker


def full_function(ranker: object) -> Callable[..., Any] | None:
    """The ranker's ``rank_full`` (a whole list as a DataFrame), when it has one."""
    method: Callable[..., Any] | None = getattr(ranker, "rank_full", None)
    return method if callable(method) else None


class ArmStream:
    """The items pulled so far from one arm's stream, with their rows, validated as they come.

    Not thread-safe by design: the arm's worker pulls first, then (after handing the stream over
    through its future) the calling thread; never both at once.
    """

    def __init__(self, arm: str, items: Iterator[Any], item_col: str, clock: Clock) -> None:
        self.arm = arm
        self.item_col = item_col
        self.clock = clock
        self.ids: list[Hashable] = []
        self.rows: list[dict[Any, Any]] = []
        self.exhausted = False
        self.deadline: float | None = None  # set by the engine before the merge pulls lazily
        self._items = items
        self._seen: set[Hashable] = set()
        self._batch: Iterator[Mapping[Any, Any]] | None = None

    @property
    def produced(self) -> int:
        """Items pulled from the stream (the log's ``arms.<name>.produced``)."""
        return len(self.ids)

    def pull(self, n: int) -> None:
        """Pull until ``n`` items are held or the stream ends; a bad stream raises StreamError."""
        while len(self.ids) < n and not self.exhausted:
            if self.deadline is not None and self.clock.monotonic() >= self.deadline:
                raise StreamError(
                    self.arm, "timeout", f"the deadline passed after {self.produced} items", self.produced
                )
            row = self._next_row()
            if row is None:
                self.exhausted = True
                break
            self._add(row)

    def _next_row(self) -> Mapping[Any, Any] | None:
        while True:
            if self._batch is not None:
                row = next(self._batch, None)
                if row is not None:
                    return row
                self._batch = None
            try:
                value = next(self._items)
            except StopIteration:
                return None
            except BaseException as exc:  # the ranker's own failure midway (even SystemExit)
                raise StreamError(
                    self.arm,
                    "arm_error",
                    f"raised {_describe(exc)} after {self.produced} items",
                    self.produced,
                ) from exc
            if isinstance(value, pd.DataFrame):
                if self.item_col not in value.columns:
                    raise self._invalid(f"yielded a batch without column {self.item_col!r}")
                self._batch = iter(value.to_dict("records"))
            elif isinstance(value, Mapping):
                return value
            else:
                raise self._invalid(
                    f"yielded {type(value).__name__} after {self.produced} items, expected a "
                    f"mapping with {self.item_col!r} or a DataFrame batch"
                )

    def _add(self, pulled: Mapping[Any, Any]) -> None:
        row = dict(pulled)  # the ranker may reuse its mapping for the next row
        if self.item_col not in row:
            raise self._invalid(f"yielded a row without {self.item_col!r} after {self.produced} items")
        try:
            # The canonical form (interleave_sdk.ids): the same dedupe, log and replay rules as a
            # full arm's column, applied one item at a time.
            item: Hashable = canonical_ids(self.arm, [row[self.item_col]])[0]
        except RankerOutputError as exc:
            raise self._invalid(f"yielded a bad item id after {self.produced} items: {exc.problem}") from exc
        if item in self._seen:
            raise self._invalid(f"yielded the duplicate item id {item!r} after {self.produced} items")
        self._seen.add(item)
        self.ids.append(item)
        self.rows.append(row)

    def _invalid(self, problem: str) -> StreamError:
        return _invalid(self.arm, problem, self.produced)

    def ranking(self) -> LazyRanking:
        """The ids as a :class:`LazyRanking`: reading past the pulled part pulls (with checks)."""
        return LazyRanking(self._lazy_ids())

    def _lazy_ids(self) -> Iterator[Hashable]:
        index = 0
        while True:
            if index >= len(self.ids):
                self.pull(index + 1)
                if index >= len(self.ids):
                    return
            yield self.ids[index]
            index += 1

    def frame(self) -> pd.DataFrame:
        """The pulled rows as a DataFrame (row ``i`` is item ``ids[i]``), for the merged frame."""
        frame: pd.DataFrame = pd.DataFrame.from_records(self.rows)
        return frame

    def close(self) -> None:
        """Let the ranker release what it holds (a generator's ``finally``); errors ignored."""
        close = getattr(self._items, "close", None)
        if callable(close):
            # Fails when the generator is still running on a timed-out worker: it closes itself.
            with contextlib.suppress(Exception):
                close()


def open_stream(
    arm: str,
    ranker: object,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    item_col: str,
    prefetch: int,
    clock: Clock,
) -> ArmStream:
    """Call the streaming ranker and pre-pull ``prefetch`` items (on the arm's thread).

    A failure here raises: the ranker's own exception from the call, or :class:`StreamError`
    (junk, a duplicate, an exception while iterating), which the engine turns into the arm's
    outcome like any ranker failure.
    """
    items = stream_function(ranker)(*args, **kwargs)
    try:
        iterator = iter(items)
    except TypeError:
        raise _invalid(
            arm, f"returned {type(items).__name__} from its stream call, expected an iterator"
        ) from None
    stream = ArmStream(arm, iterator, item_col, clock)
    stream.pull(prefetch)
    if stream.produced == 0:
        raise _invalid(arm, "streamed no items", 0)
    return stream


def _invalid(arm: str, problem: str, produced: int | None = None) -> StreamError:
    """An ``invalid_output`` stream failure (what ranking_ids says of a bad full list)."""
    return StreamError(arm, "invalid_output", problem, produced)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class StreamingArm:
    """A streaming ranker as an arm of an interleaved request: opens the stream and pre-pulls.

    Runs where any arm runs (a worker thread when parallel, else the calling thread), so the
    pre-pull is under the request's deadline; returns the :class:`ArmStream` for the merge.
    """

    def __init__(self, arm: str, ranker: object, item_col: str, prefetch: int, clock: Clock) -> None:
        self.arm, self.ranker, self.item_col = arm, ranker, item_col
        self.prefetch, self.clock = prefetch, clock

    def __call__(self, *args: Any, **kwargs: Any) -> ArmStream:
        return open_stream(
            self.arm, self.ranker, args, kwargs, self.item_col, self.prefetch, self.clock
        )


class ServedAlone:
    """A streaming ranker serving a request alone (its mode, or pinned to it).

    ``rank_full`` when the ranker has one (its own whole list); otherwise the first ``k`` items
    of the stream, which the engine turns into the served frame.
    """

    def __init__(self, arm: str, ranker: object, item_col: str, k: int, clock: Clock) -> None:
        self.arm, self.ranker, self.item_col, self.k, self.clock = arm, ranker, item_col, k, clock

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame | ArmStream:
        full = full_function(self.ranker)
        if full is not None:
            frame: pd.DataFrame = full(*args, **kwargs)
            return frame
        return open_stream(self.arm, self.ranker, args, kwargs, self.item_col, self.k, self.clock)


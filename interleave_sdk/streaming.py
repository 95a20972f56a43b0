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

Every item is validated as it is pulled (a mapping or frame row with a non-null, hashable item id
not seen before in this stream). A stream that raises, yields junk or a duplicate, or runs out of
time midway raises :class:`~interleave_sdk.errors.StreamError` naming the fallback reason; the engine
then serves the baseline. The part already pulled is never served half-merged: a merge either
completes from valid items or is dropped whole.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

import pandas as pd

from .clock import Clock
from .errors import RankerOutputError, StreamError


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
        self.rows: list[Mapping[Any, Any]] = []
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
                    self.arm, "timeout", f"the deadline passed after {self.produced} items"
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
            except Exception as exc:  # the ranker's own failure, midway
                raise StreamError(
                    self.arm, "arm_error", f"raised {_describe(exc)} after {self.produced} items"
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

    def _add(self, row: Mapping[Any, Any]) -> None:
        if self.item_col not in row:
            raise self._invalid(f"yielded a row without {self.item_col!r} after {self.produced} items")
        item = row[self.item_col]
        try:
            if item is None or item is pd.NA or item != item:
                raise self._invalid(f"yielded a null item id after {self.produced} items")
            duplicate = item in self._seen
        except TypeError as exc:
            raise self._invalid(f"yielded an unhashable item id {item!r}") from exc
        if duplicate:
            raise self._invalid(f"yielded the duplicate item id {item!r}")
        self._seen.add(item)
        self.ids.append(item)
        self.rows.append(row)

    def _invalid(self, problem: str) -> StreamError:
        error = StreamError(self.arm, "invalid_output", problem)
        error.__cause__ = RankerOutputError(self.arm, problem)
        return error

    def ranking(self) -> LazyIds:
        """The ids as a sequence read by increasing index; reading past the pulled part pulls."""
        return LazyIds(self)

    def frame(self) -> pd.DataFrame:
        """The pulled rows as a DataFrame (row ``i`` is item ``ids[i]``), for the merged frame."""
        frame: pd.DataFrame = pd.DataFrame.from_records(list(self.rows))
        return frame

    def close(self) -> None:
        """Let the ranker release what it holds (a generator's ``finally``); errors ignored."""
        close = getattr(self._items, "close", None)
        if callable(close):
            # Fails when the generator is still running on a timed-out worker: it closes itself.
            with contextlib.suppress(Exception):
                close()


class LazyIds:
    """A read-by-index view of an :class:`ArmStream`'s ids that pulls on demand (no ``len``).

    The interleaving methods read lists by increasing index and take ``IndexError`` as the end.
    """

    def __init__(self, stream: ArmStream) -> None:
        self._stream = stream

    def __getitem__(self, index: int) -> Hashable:
        stream = self._stream
        if index >= len(stream.ids):
            stream.pull(index + 1)
        return stream.ids[index]  # IndexError at the end of the stream


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

    A failure here raises: the ranker's exception, or :class:`StreamError` for junk, which the
    caller turns into the arm's outcome like any ranker failure.
    """
    items = stream_function(ranker)(*args, **kwargs)
    try:
        iterator = iter(items)
    except TypeError as exc:
        raise RankerOutputError(
            arm, f"rank_stream returned {type(items).__name__}, expected an iterator"
        ) from exc
    stream = ArmStream(arm, iterator, item_col, clock)
    stream.pull(prefetch)
    if stream.produced == 0:
        raise RankerOutputError(arm, "streamed no items")
    return stream


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"

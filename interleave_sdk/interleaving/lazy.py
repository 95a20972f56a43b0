"""A ranking read lazily from an iterator, so a method pulls only the items it places.

A streaming ranker yields its items best first; Team Draft at ``k=10`` needs about a dozen of
them, not the whole catalogue. :class:`LazyRanking` puts an index in front of the iterator: reading
index ``i`` pulls items until ``i`` is there, and reading past the end raises ``IndexError``, the
end-of-list signal every method in this package understands. It has no ``len()`` on purpose (so
calling it raises ``TypeError``): the length of a stream is unknown until it is drained, and asking
for it is the bug this type catches.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator


class LazyRanking:
    """Ids best first, pulled from ``items`` only as far as the highest index read so far."""

    __slots__ = ("_exhausted", "_iterator", "_seen")

    def __init__(self, items: Iterable[Hashable]) -> None:
        self._iterator: Iterator[Hashable] = iter(items)
        self._seen: list[Hashable] = []
        self._exhausted = False

    def __getitem__(self, index: int) -> Hashable:
        """The item at 0-based ``index``; ``IndexError`` when the stream ends before it."""
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"a lazy ranking is read by integer index, got {index!r}")
        if index < 0:
            # A negative index needs the end of the stream, i.e. pulling everything.
            raise IndexError("a lazy ranking is read from the front; negative indexes are refused")
        seen = self._seen
        while len(seen) <= index and not self._exhausted:
            try:
                seen.append(next(self._iterator))
            except StopIteration:
                self._exhausted = True
        if index < len(seen):
            return seen[index]
        raise IndexError(index)

    @property
    def pulled(self) -> int:
        """How many items have been taken from the iterator so far."""
        return len(self._seen)

    @property
    def exhausted(self) -> bool:
        """True once the iterator has ended (so ``pulled`` is the whole ranking's length)."""
        return self._exhausted

    def head(self) -> tuple[Hashable, ...]:
        """The items pulled so far, best first (what the log's ``top`` of a streaming arm holds)."""
        return tuple(self._seen)

    def __repr__(self) -> str:
        state = "exhausted" if self._exhausted else "open"
        return f"LazyRanking(pulled={len(self._seen)}, {state})"

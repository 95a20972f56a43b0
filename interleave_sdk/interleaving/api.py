"""The only entry point to interleaving methods: a registry of small, pure functions.

A method is a callable ``(rankings, k, rng) -> Interleaving`` over plain id lists (no pandas) that
returns ``min(k, |union|)`` items (``k`` may exceed the union), so it can be tested exhaustively,
benchmarked alone and replayed from a log line. Names used in config (``team_draft_v1``,
``optimized_v1``, ``optimized_inverse_v1``) resolve here; an unknown name raises
:class:`~interleave_sdk.errors.UnknownMethodError` listing the valid ones.

A ranking is anything read by increasing integer index that raises ``IndexError`` past its end:
a list, or a :class:`~.lazy.LazyRanking` over a stream. Methods never call ``len()`` on it, so a
streaming arm is pulled only as far as the draft needs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Mapping, Sized
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from ..errors import UnknownMethodError


class Ranking(Protocol):
    """Ids best first, read by increasing index; ``IndexError`` marks the end (lists qualify)."""

    def __getitem__(self, index: int, /) -> Hashable: ...


Rankings = Mapping[str, Ranking]


@dataclass(frozen=True)
class Interleaving:
    """A merged list: ``items[i]`` was contributed by the arm ``teams[i]``.

    ``method`` is the method that actually produced the list (``team_draft_v1`` when optimized
    fell back); ``detail`` is what replay and credit need beyond the seed (e.g. the optimized
    list's choices, or ``{"fallback": reason}``), or ``None``. It is JSON-ready (str/int/float/
    lists/dicts) so the engine can log it as is.

    ``contest_depth`` is how many leading positions were drafted as a contest: the whole list
    unless an arm ran out, then the rounds in which every arm still drafted (docs/concepts.md,
    "Short arms"). Items past it were filled by the arms that had items left and credit no one.
    ``None`` (a method that does not say) means the whole list.
    """

    items: tuple[Hashable, ...]
    teams: tuple[str, ...]
    method: str
    detail: Mapping[str, Any] | None = None
    contest_depth: int | None = None

    @property
    def contest(self) -> int:
        """``contest_depth``, the whole list when the method did not say."""
        return len(self.items) if self.contest_depth is None else self.contest_depth

    def __len__(self) -> int:
        return len(self.items)

    def picks(self, team: str) -> tuple[Hashable, ...]:
        """The items credited to ``team``, in the order it drafted them."""
        return tuple(item for item, t in zip(self.items, self.teams, strict=True) if t == team)


Method = Callable[[Rankings, int, random.Random], Interleaving]
M = TypeVar("M", bound=Method)
Rebuild = Callable[[Rankings, int, Mapping[str, Any]], Interleaving]
R = TypeVar("R", bound=Rebuild)

_REGISTRY: dict[str, Method] = {}
_REBUILDERS: dict[str, Rebuild] = {}


def register(name: str) -> Callable[[M], M]:
    """Register an interleaving method under ``name`` (a versioned name such as ``x_v1``)."""

    def add(method: M) -> M:
        if name in _REGISTRY and _REGISTRY[name] is not method:
            raise ValueError(f"interleaving method {name!r} is already registered")
        _REGISTRY[name] = method
        return method

    return add


def register_rebuild(name: str) -> Callable[[R], R]:
    """Register how to rebuild a logged list of method ``name`` from its ``detail``.

    Only methods whose draw depends on more than the seed need one: an optimized list depends on a
    solver's answer, which a later replay (another machine, a cold cache, a missed time budget)
    must not have to reproduce.
    """

    def add(rebuild: R) -> R:
        _REBUILDERS[name] = rebuild
        return rebuild

    return add


def unregister(name: str) -> None:
    """Remove a method (plugins being unloaded, tests cleaning up); unknown names are an error."""
    if _REGISTRY.pop(name, None) is None:
        raise UnknownMethodError(name, _REGISTRY)
    _REBUILDERS.pop(name, None)


def available_methods() -> tuple[str, ...]:
    """Names of the registered methods, sorted."""
    _load_builtin_methods()
    return tuple(sorted(_REGISTRY))


def get_method(name: str) -> Method:
    _load_builtin_methods()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownMethodError(name, _REGISTRY) from None


def interleave(method: str, rankings: Rankings, k: int | None, rng: random.Random) -> Interleaving:
    """Merge ``rankings`` (arm name -> ids, best first) into at most ``k`` items.

    ``k=None`` means "as many as the union holds". All randomness comes from ``rng``, so the same
    inputs and the same seeded generator always give the same list.
    """
    if k is not None and k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if not rankings:
        raise ValueError("at least one ranking is needed")
    # Methods stop when every list is exhausted, so k needs no capping at the union here (that
    # would build a set of all ids on every request); the lists' total length bounds k=None.
    limit = _total_length(rankings) if k is None else k
    return get_method(method)(rankings, limit, rng)


def reproduce(
    method: str,
    rankings: Rankings,
    k: int | None,
    rng: random.Random,
    detail: Mapping[str, Any] | None,
) -> Interleaving:
    """Recompute a logged list: from ``detail`` when ``method`` registered a rebuild, else by
    drawing again with ``rng`` seeded from the logged seed (Team Draft needs nothing more).

    ``method`` is the logged ``method`` (the one that produced the list), not the requested one.
    """
    _load_builtin_methods()
    rebuild = _REBUILDERS.get(method)
    if rebuild is None or detail is None:
        return interleave(method, rankings, k, rng)
    if k is not None and k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return rebuild(rankings, _total_length(rankings) if k is None else k, detail)


def _total_length(rankings: Rankings) -> int:
    try:
        return sum(len(cast(Sized, ids)) for ids in rankings.values())
    except TypeError:
        raise ValueError(
            "k is required when a ranking is lazy (a stream has no length to default to)"
        ) from None


_builtins_loaded = False


def _load_builtin_methods() -> None:
    # Importing registers them. Done once (a flag, not an import statement per request): this is
    # on every interleaved request's path.
    global _builtins_loaded
    if not _builtins_loaded:
        from . import optimized, team_draft  # noqa: F401

        _builtins_loaded = True

"""The only entry point to interleaving methods: a registry of small, pure functions.

A method is a callable ``(rankings, k, rng) -> Interleaving`` over plain id lists (no pandas) that
returns ``min(k, |union|)`` items (``k`` may exceed the union), so it can be tested exhaustively,
benchmarked alone and replayed from a log line. Names used in config (``team_draft_v1``;
``optimized_v1`` later) resolve here; an unknown name raises
:class:`~interleave_sdk.errors.UnknownMethodError` listing the valid ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..errors import UnknownMethodError

Rankings = Mapping[str, Sequence[Hashable]]


@dataclass(frozen=True)
class Interleaving:
    """A merged list: ``items[i]`` was contributed by the arm ``teams[i]``."""

    items: tuple[Hashable, ...]
    teams: tuple[str, ...]
    method: str

    def __len__(self) -> int:
        return len(self.items)

    def picks(self, team: str) -> tuple[Hashable, ...]:
        """The items credited to ``team``, in the order it drafted them."""
        return tuple(item for item, t in zip(self.items, self.teams, strict=True) if t == team)


Method = Callable[[Rankings, int, random.Random], Interleaving]
M = TypeVar("M", bound=Method)

_REGISTRY: dict[str, Method] = {}


def register(name: str) -> Callable[[M], M]:
    """Register an interleaving method under ``name`` (a versioned name such as ``x_v1``)."""

    def add(method: M) -> M:
        if name in _REGISTRY and _REGISTRY[name] is not method:
            raise ValueError(f"interleaving method {name!r} is already registered")
        _REGISTRY[name] = method
        return method

    return add


def unregister(name: str) -> None:
    """Remove a method (plugins being unloaded, tests cleaning up); unknown names are an error."""
    if _REGISTRY.pop(name, None) is None:
        raise UnknownMethodError(name, _REGISTRY)


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
    limit = sum(len(ids) for ids in rankings.values()) if k is None else k
    return get_method(method)(rankings, limit, rng)


def _load_builtin_methods() -> None:
    # Importing registers them; the import is cached, so this is a dict lookup after the first call.
    from . import team_draft  # noqa: F401

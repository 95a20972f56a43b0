"""What a forked child must forget: locks, caches and objects that own worker threads.

A forked child inherits the parent's objects but not its threads: a lock another thread held at
the fork stays held forever, an in-flight load never finishes, and an executor that thinks its
threads are alive would wait on them. Every such object of the SDK (executors, the TTL cache, the
line sink, EMF metrics, the background solver) joins the one process-wide :data:`FORK_RESETS`
with the function that makes it start afresh; after a fork the child calls each once.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ForkResetRegistry(Generic[T]):
    """Live objects (weakly held: an object nobody references any more is not kept alive by the
    registry), each passed to its ``forget`` in a forked child.

    ``forget`` given here is the default for members added without their own.
    """

    def __init__(self, forget: Callable[[T], None] | None = None) -> None:
        self._members: dict[int, tuple[weakref.ref[Any], Callable[[Any], None]]] = {}
        self._forget = forget
        if hasattr(os, "register_at_fork"):  # POSIX; registering is not I/O and happens once
            os.register_at_fork(after_in_child=self.reset)

    def add(self, member: T, forget: Callable[[T], None] | None = None) -> None:
        """Remember ``member``; in a forked child ``forget(member)`` runs (or the default)."""
        how = forget if forget is not None else self._forget
        if how is None:
            raise TypeError("add() needs forget= when the registry has no default")
        key = id(member)
        members = self._members

        def drop(ref: weakref.ref[Any]) -> None:
            if members.get(key, (None,))[0] is ref:  # not a newer member that reuses the id
                del members[key]

        members[key] = (weakref.ref(member, drop), how)

    def reset(self) -> None:
        """In a forked child: the members' threads and lock holders do not exist here."""
        for ref, forget in list(self._members.values()):
            member = ref()
            if member is not None:
                forget(member)


#: The one registry every fork-sensitive object of the SDK joins (see the module docstring).
FORK_RESETS: ForkResetRegistry[Any] = ForkResetRegistry()

"""What a forked child must forget: objects that own worker threads.

A forked child inherits the parent's objects but not its threads, so an executor or solver that
thinks its threads are alive would wait on them forever. Each such kind of object keeps one
:class:`ForkResetRegistry`; after a fork the child calls the kind's ``forget`` on every member.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ForkResetRegistry(Generic[T]):
    """The live objects of one kind (weakly held: an object nobody references any more is not
    kept alive by the registry), each passed to ``forget`` in a forked child."""

    def __init__(self, forget: Callable[[T], None]) -> None:
        self._members: weakref.WeakSet[T] = weakref.WeakSet()
        self._forget = forget
        if hasattr(os, "register_at_fork"):  # POSIX; registering is not I/O and happens once
            os.register_at_fork(after_in_child=self.reset)

    def add(self, member: T) -> None:
        self._members.add(member)

    def reset(self) -> None:
        """In a forked child: the members' threads do not exist here, so each starts afresh."""
        for member in list(self._members):
            self._forget(member)

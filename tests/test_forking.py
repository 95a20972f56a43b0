"""ForkResetRegistry: what a forked child forgets, and what the registry does not keep alive."""

from __future__ import annotations

import gc

from interleave_sdk.forking import ForkResetRegistry


class Worker:
    def __init__(self) -> None:
        self.forgotten = 0

    def forget(self) -> None:
        self.forgotten += 1


def test_reset_forgets_every_live_member_once() -> None:
    """reset() passes each registered member to forget exactly once."""
    registry: ForkResetRegistry[Worker] = ForkResetRegistry(Worker.forget)
    workers = [Worker(), Worker()]
    for worker in workers:
        registry.add(worker)
    registry.reset()
    assert [w.forgotten for w in workers] == [1, 1]


def test_members_are_held_weakly() -> None:
    """A member nobody else references is dropped, not forgotten."""
    seen: list[Worker] = []
    registry: ForkResetRegistry[Worker] = ForkResetRegistry(seen.append)
    registry.add(Worker())
    gc.collect()
    registry.reset()
    assert seen == []

"""Arm resolution: the callable that runs each arm of one call.

A ranker is a callable, a streaming ranker (wrapped so its stream opens and pre-pulls where the
arm runs) or the name of a method on the call's instance. The baseline arm is the decorated
function itself unless ``rankers[baseline]`` names another ranker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .clock import Clock
from .execution import RunArms
from .options import Ranker
from .streaming import ServedAlone, StreamingArm, is_streaming


class Arms:
    """The arms of one decorated function, resolved per call (method names need the instance)."""

    def __init__(
        self,
        rankers: Mapping[str, Ranker],
        baseline: str,
        item_col: str,
        k: int | None,
        clock: Clock,
    ) -> None:
        others = dict(rankers)
        self.baseline = baseline
        #: The baseline arm inside interleaved requests when it is not the decorated function.
        self.baseline_ranker = others.pop(baseline, None)
        self.others: dict[str, Ranker] = dict(sorted(others.items()))
        self.names: tuple[str, ...] = tuple(sorted({baseline, *self.others}))
        #: Arms whose ranker streams (``rank_stream`` or a generator function; streaming.py).
        self.streaming = frozenset(arm for arm, r in rankers.items() if is_streaming(r))
        self.item_col = item_col
        self.k = k
        self.clock = clock

    def callable(self, arm: str, instance: Any, *, alone: bool = False) -> Callable[..., Any]:
        """The callable serving ``arm``: alone (its mode or pin), or as an interleaved arm."""
        ranker = self.baseline_ranker if arm == self.baseline else self.others[arm]
        assert ranker is not None
        if arm in self.streaming:
            assert self.k is not None  # refused at decoration otherwise
            if alone:
                return ServedAlone(arm, ranker, self.item_col, self.k, self.clock)
            return StreamingArm(arm, ranker, self.item_col, self.k, self.clock)
        return resolve(arm, ranker, instance)

    def run(
        self,
        handler: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        parallel: bool,
        deadline: float,
    ) -> RunArms:
        """The action running every arm once; the handler is the baseline unless a ranker is."""
        baseline = handler if self.baseline_ranker is None else self.callable(self.baseline, instance)
        others = [(arm, self.callable(arm, instance)) for arm in self.others]
        return RunArms((self.baseline, baseline), others, args, kwargs, parallel, deadline)


def resolve(arm: str, ranker: Ranker, instance: Any) -> Callable[..., Any]:
    """A callable ranker as is; a method name looked up on the instance (failing as the arm)."""
    if not isinstance(ranker, str):
        assert callable(ranker)  # a non-callable streaming ranker is wrapped before this
        return ranker
    if instance is None:
        return _MissingInstance(arm, ranker)
    method = getattr(instance, ranker, None)
    if method is None or not callable(method):
        return _MissingMethod(arm, ranker, instance)
    return method  # type: ignore[no-any-return]


class _MissingInstance:
    def __init__(self, arm: str, name: str) -> None:
        self.arm, self.name = arm, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"ranker {self.arm!r} is the method name {self.name!r} but the call has no instance")


class _MissingMethod:
    def __init__(self, arm: str, name: str, instance: Any) -> None:
        self.arm, self.name, self.owner = arm, name, type(instance).__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(f"ranker {self.arm!r}: {self.owner} has no method {self.name!r}")

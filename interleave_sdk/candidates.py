"""Each arm ranks from candidates of its own: no arm can change what another arm sees.

The shared candidate stage runs once per request and its result is passed to every arm as
``candidates=``. An arm that re-scores or sorts that object in place (a common pandas habit)
would otherwise change the list another arm ranks from, or a frame another arm already returned,
and the comparison would measure one arm on data the other modified.

What each arm gets, taken on the calling thread before any arm starts (so a copy never races an
arm that is already writing):

* a DataFrame or Series: a shallow copy. Under pandas copy-on-write (always on from pandas 3,
  opt-in before) it shares the data until someone writes, so it costs microseconds whatever the
  size; without copy-on-write a shallow copy would still share the values, so it is deep.
* anything else (lists, dicts, numpy arrays, objects): ``copy.deepcopy``. An object that cannot be
  deep-copied (a database cursor, a lock) is passed as it is: such candidates must be treated as
  read-only by the arms, as docs/concepts.md says.

The baseline (the decorated function or the baseline arm) gets the stage's own object.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

Arm = tuple[str, Callable[..., Any]]


def private_copy(value: Any) -> Any:
    """A copy of ``value`` that one arm may change without another arm seeing it."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=not _copy_on_write())
    try:
        return copy.deepcopy(value)
    except Exception:  # not copyable: shared, under the documented read-only contract
        return value


def own_candidates(arms: Sequence[Arm], kwargs: Mapping[str, Any]) -> list[Arm]:
    """``arms`` with each callable bound to a private copy of ``kwargs["candidates"]``."""
    if "candidates" not in kwargs:
        return list(arms)
    shared = kwargs["candidates"]
    return [(arm, _with_candidates(fn, private_copy(shared))) for arm, fn in arms]


def _with_candidates(fn: Callable[..., Any], own: Any) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await fn(*args, **{**kwargs, "candidates": own})

        return call_async

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{**kwargs, "candidates": own})

    return call


def _copy_on_write() -> bool:
    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return True
    return bool(pd.options.mode.copy_on_write is True)

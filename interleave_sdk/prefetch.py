"""Loading a decorated function's switches ahead of its first request (the Lambda init phase).

Nothing in the SDK does I/O at import or decoration, so the first request of a fresh process
reads SSM on its own clock: client creation plus a cold connection can take the whole request
budget, and that request falls back. :func:`prefetch`, called once at module level after the
decoration, does that read while the platform initialises the process instead.
"""

from __future__ import annotations

import logging
from typing import Any

from .config.providers import ConfigSnapshot, checked_snapshot

logger = logging.getLogger("interleave_sdk")

#: Where ``@interleaved`` leaves its config provider on the wrapper it returns (a wrapt ``_self_``
#: attribute lives on the wrapper, never on the user's function).
CONFIG_ATTR = "_self_interleave_config"


def prefetch(func: Any) -> ConfigSnapshot | None:
    """Read the switches of ``func`` (a function decorated with ``@interleaved``) now, and cache them.

    Call it at module level, after the decorated function is defined: in AWS Lambda that runs in
    the init phase, so the first request finds the settings in the provider's cache (for the
    default :class:`~interleave_sdk.config.SSMConfig`, for ``ttl`` seconds). Returns the snapshot
    read, or ``None`` when the read failed (logged at WARNING: the requests then read as usual and
    fail open as documented) or ``func`` is not decorated (``enabled=False`` returns the function
    undecorated: nothing to load). It never raises for a failed read, so it cannot break the init.
    """
    if not callable(func):
        raise TypeError(f"prefetch() takes the decorated function, got {func!r}")
    config = getattr(func, CONFIG_ATTR, None)
    if config is None:
        return None
    try:
        return checked_snapshot(config.get())
    except Exception as exc:
        logger.warning(
            "interleave-sdk: prefetch could not read the config (requests will read it): %s: %s",
            type(exc).__name__,
            exc,
        )
        return None

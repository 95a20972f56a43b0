"""Routing: which arms serve one call, decided once from the switches, the pin and the user.

:func:`Router.decide` returns a :class:`Decision` value; nothing later changes it. The order of
precedence (docs/concepts.md): config unreadable; the kill switch (``mode`` naming the baseline)
over every pin; a pin; ``mode`` naming one arm; ``INTERLEAVE`` by the sampling hash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import bucketing
from .config.providers import ConfigProvider, ConfigSnapshot, checked_snapshot
from .config.settings import DEFAULTS
from .context import _PIN
from .mode_warning import UnknownModeWarning
from .options import INTERLEAVE, Signature, error_text
from .reasons import FallbackReason

logger = logging.getLogger("interleave_sdk")


@dataclass(frozen=True)
class Decision:
    """Who serves: ``arms`` is () for the decorated function, one arm, or every arm (interleave).

    ``reason``/``error`` are set when the decision itself is a fallback (config unreadable, no
    usable user id, a pin or mode naming no arm); the rest is what the log records about it.
    """

    snapshot: ConfigSnapshot
    mode: str
    arms: tuple[str, ...] = ()
    user: str | None = None
    bucket: float | None = None
    in_sample: bool | None = None
    pinned: str | None = None
    reason: FallbackReason | None = None
    error: str | None = None

    @property
    def interleaving(self) -> bool:
        return len(self.arms) > 1


class Router:
    """The routing rules of one decorated function."""

    def __init__(
        self,
        config: ConfigProvider,
        baseline: str,
        arms: tuple[str, ...],
        experiment: str,
        user_key: str,
        signature: Signature,
    ) -> None:
        self.config = config
        self.baseline = baseline
        self.arms = arms
        self.others = frozenset(arms) - {baseline}
        self.experiment = experiment
        self.user_key = user_key
        self.signature = signature
        self._unknown_mode = UnknownModeWarning(experiment, arms)

    def decide(
        self, ranking_id: str, instance: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> Decision:
        try:
            snapshot = checked_snapshot(self.config.get())
        except Exception as exc:
            error = error_text(exc)
            logger.warning("interleave-sdk: config unavailable, serving the decorated function: %s", error)
            snapshot = ConfigSnapshot(DEFAULTS.replace(mode=self.baseline), "error")
            return Decision(snapshot, self.baseline, reason="config_error", error=error)
        settings = snapshot.settings
        mode = settings.mode
        try:
            user = bucketing.user_key(self._user_id(args, kwargs, instance))
        except Exception as exc:
            return Decision(snapshot, mode, reason="bucketing_error", error=error_text(exc))
        pin = _PIN.get()
        # The pin is logged even when the kill switch overrides it.
        shown = None if pin is None else pin[:64] if isinstance(pin, str) else repr(pin)[:64]
        if mode == self.baseline or pin == self.baseline:  # the kill switch overrides every pin
            return Decision(snapshot, mode, user=user, pinned=shown)
        if pin is not None:
            if isinstance(pin, str) and pin in self.others:
                return Decision(snapshot, mode, (pin,), user=user, pinned=shown)
            error = (
                f"pinned to {shown!r}, which names no arm of this decorator (arms: {', '.join(self.arms)})"
            )
            return Decision(snapshot, mode, user=user, pinned=shown, reason="invalid_pin", error=error)
        if mode != INTERLEAVE:
            if mode in self.others:
                return Decision(snapshot, mode, (mode,), user=user)
            self._unknown_mode(mode, snapshot.version)
            error = f"mode {mode!r} names no arm of this decorator (arms: {', '.join(self.arms)})"
            return Decision(snapshot, mode, user=user, reason="unknown_arm", error=error)
        key = user if user is not None else ranking_id  # anonymous: per request
        try:
            bucket = bucketing.bucket(self.experiment, key)
        except Exception as exc:  # e.g. a user id with a lone surrogate cannot be encoded
            return Decision(snapshot, mode, user=user, reason="bucketing_error", error=error_text(exc))
        in_sample = bucket < settings.sampling_rate
        arms = self.arms if in_sample else ()
        return Decision(snapshot, mode, arms, user=user, bucket=bucket, in_sample=in_sample)

    def _user_id(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], instance: Any) -> Any:
        """The user id, read as binding the call would: keyword, position, or the default."""
        if self.user_key in kwargs:
            return kwargs[self.user_key]
        index = self.signature.position(self.signature.user_index, instance)
        if index is not None and index < len(args):
            return args[index]
        return self.signature.user_default

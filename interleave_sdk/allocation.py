"""Who is interleaved: the sampling bucket, the experiment's share of its layer, the holdout.

Three hashes of the same user key with different salts, so the three decisions are independent:
raising ``sampling_rate`` keeps everybody who was in, a layer's split does not depend on any one
experiment's rate, and the holdout takes the same share of every layer slot and sampling bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .bucketing import bucket
from .config.settings import ARM_NAME, Settings

_HOLDOUT_SALT = "holdout\x1f"
_LAYER_SALT = "layer\x1f"


@dataclass(frozen=True)
class Allocation:
    """What the hashes decided for one request in ``INTERLEAVE`` mode."""

    bucket: float
    in_sample: bool
    holdout: bool

    @property
    def interleaved(self) -> bool:
        return self.in_sample and not self.holdout


class Layer:
    """Mutually exclusive experiments on one surface: each user of the layer is in one of them.

    ``Layer("home", ["reco_v2", "reco_v3"])`` splits users by one hash of the layer name into equal
    slots, one per experiment, in the order given. Decorators pass it as ``layer=``; a decorator
    interleaves only the users of its experiment's slot. The member list is written here, not
    discovered from the decorators a process happens to import, because a Lambda hosting one of
    the functions would otherwise hand it the whole layer while another hosts both.
    """

    def __init__(self, name: str, experiments: Iterable[str]) -> None:
        if not isinstance(name, str) or not ARM_NAME.fullmatch(name):
            raise ValueError(
                f"layer name must be a letter, then up to 31 letters, digits, '_' or '-', got {name!r}"
            )
        if isinstance(experiments, str):
            raise TypeError(f"experiments must be a list of experiment names, got the str {experiments!r}")
        members = tuple(experiments)
        if not members or not all(isinstance(m, str) and m for m in members):
            raise ValueError(f"layer {name!r} needs one or more experiment names, got {members!r}")
        if len(set(members)) != len(members):
            raise ValueError(f"layer {name!r} names an experiment twice: {members!r}")
        self.name = name
        self.experiments = members

    def owner(self, key: str) -> str:
        """The experiment whose slot ``key`` (a user, or a request when anonymous) falls in."""
        slot = int(bucket(_LAYER_SALT + self.name, key) * len(self.experiments))
        return self.experiments[min(slot, len(self.experiments) - 1)]

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {list(self.experiments)!r})"


def held_out(experiment: str, key: str, rate: float) -> bool:
    """Whether ``key`` is in the measurement holdout of ``experiment`` at ``rate``: a second hash,
    so the holdout takes the same share of every sampling bucket, and grows by adding users."""
    return rate > 0.0 and bucket(_HOLDOUT_SALT + experiment, key) < rate


def allocate(experiment: str, key: str, settings: Settings, layer: Layer | None) -> Allocation:
    """The sampling, layer and holdout decisions for one ``INTERLEAVE``-mode request."""
    value = bucket(experiment, key)
    in_sample = value < settings.sampling_rate and (layer is None or layer.owner(key) == experiment)
    return Allocation(value, in_sample, in_sample and held_out(experiment, key, settings.holdout_rate))

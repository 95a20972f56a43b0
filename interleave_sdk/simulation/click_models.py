"""Simulated users: click models from the online learning-to-rank literature.

A click model turns the relevance grades (0..4) of a served list into clicks. It knows nothing of
rankers, interleaving or logs, so the same users can judge an interleaved list and an A/B arm.

Cascade models (Craswell et al., WSDM 2008, as parameterised for interleaving by Hofmann, Whiteson &
de Rijke, TOIS 2013, and for multileaving by Schuth et al.): the user reads top-down; on an
examined item of grade ``g`` they click with ``P(click|g)``; after a click they stop reading with
``P(stop|g)``. Probabilities per grade 0, 1, 2, 3, 4:

=============  ===============================  ===============================
model          P(click | grade)                 P(stop | click, grade)
=============  ===============================  ===============================
perfect        0.00 0.20 0.40 0.80 1.00         0.00 0.00 0.00 0.00 0.00
navigational   0.05 0.30 0.50 0.70 0.95         0.20 0.30 0.50 0.70 0.90
informational  0.40 0.60 0.70 0.80 0.90         0.10 0.20 0.30 0.40 0.50
almost_random  0.40 0.45 0.50 0.55 0.60         0.50 0.50 0.50 0.50 0.50
random         0.50 0.50 0.50 0.50 0.50         0.00 0.00 0.00 0.00 0.00
=============  ===============================  ===============================

Sources and mapping. Hofmann et al. (TOIS 2013) define perfect, navigational, informational and
almost random for binary relevance R in {0, 1}: click (0, 1), (.05, .95), (.4, .9), (.4, .6) and
stop (0, 0), (.2, .9), (.1, .5), (.5, .5). The five-grade rows of perfect, navigational and
informational are the ones used in the multileaving experiments on five-grade data sets (Schuth et
al.); their end points equal Hofmann's binary values, so grade 0 plays R=0 and grade 4 plays R=1.
Three-grade data sets (0, 1, 2) use click (0, .5, 1), (.05, .5, .95), (.4, .7, .9) and stop
(0, 0, 0), (.2, .5, .9), (.1, .3, .5); they are not used here because our grades are 0..4.
``almost_random`` on five grades is our linear interpolation between Hofmann's binary end points,
and ``random`` (clicks independent of relevance, no stopping) is the null user under which no
ranker may be preferred.

Position-based model (Richardson et al. 2007; the examination curve ``(1/rank)^eta`` of Joachims,
Swaminathan & Schnabel, WSDM 2017): every position is examined independently with probability
``(1/rank)^eta`` and an examined item is clicked with its attractiveness
``eps + (1 - eps) (2^g - 1) / (2^4 - 1)``; with ``eps = 0.1`` that is 0.10 0.16 0.28 0.52 1.00.
Nobody stops, so clicks deep in the list depend on position, not on what was above.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import SimulationError, UnknownClickModelError

#: Relevance grades run 0..MAX_GRADE.
MAX_GRADE = 4
N_GRADES = MAX_GRADE + 1

Rng = random.Random | np.random.Generator
BoolMatrix = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Session:
    """What one user did with one list: a click flag per position and how far they read."""

    clicks: tuple[bool, ...]
    examined: int  # positions 1..examined were looked at (the cascade stops; the PBM reads all)


@runtime_checkable
class ClickModel(Protocol):
    """A simulated user: grades of a served list in, clicks out."""

    @property
    def name(self) -> str:
        """The registry name, used in reports."""
        ...

    def session(self, grades: Sequence[int], rng: Rng) -> Session:
        """Simulate one user reading one list; every draw comes from ``rng``."""
        ...

    def clicks(self, grades: Sequence[int], rng: Rng) -> list[bool]:
        """The click flags of :meth:`session`, one per position."""
        ...

    def click_matrix(self, grades: npt.ArrayLike, rng: np.random.Generator) -> BoolMatrix:
        """Vectorised clicks for many lists at once: grades ``(n, k)`` -> bool ``(n, k)``."""
        ...


def _check_grades(grades: Sequence[int]) -> list[int]:
    checked = [int(g) for g in grades]
    for g in checked:
        if not 0 <= g <= MAX_GRADE:
            raise SimulationError(f"relevance grade {g} is outside 0..{MAX_GRADE}")
    return checked


def _grade_matrix(grades: npt.ArrayLike) -> npt.NDArray[np.intp]:
    matrix = np.asarray(grades)
    if matrix.ndim != 2:
        raise SimulationError(f"grades must be 2-d (lists x positions), got {matrix.ndim}-d")
    if matrix.size and (matrix.min() < 0 or matrix.max() > MAX_GRADE):
        raise SimulationError(f"relevance grades must lie in 0..{MAX_GRADE}")
    return matrix.astype(np.intp, copy=False)


def _probabilities(name: str, values: Sequence[float]) -> tuple[float, ...]:
    probs = tuple(float(v) for v in values)
    if len(probs) != N_GRADES or not all(0.0 <= p <= 1.0 for p in probs):
        raise SimulationError(f"{name} needs {N_GRADES} probabilities in [0, 1], got {values!r}")
    return probs


@dataclass(frozen=True)
class CascadeModel:
    """Top-down reader: click with ``p_click[g]``, then stop with ``p_stop[g]``."""

    name: str
    p_click: tuple[float, ...]
    p_stop: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "p_click", _probabilities("p_click", self.p_click))
        object.__setattr__(self, "p_stop", _probabilities("p_stop", self.p_stop))

    def session(self, grades: Sequence[int], rng: Rng) -> Session:
        flags: list[bool] = []
        checked = _check_grades(grades)
        for g in checked:
            clicked = rng.random() < self.p_click[g]
            flags.append(clicked)
            if clicked and rng.random() < self.p_stop[g]:
                break
        examined = len(flags)
        flags.extend([False] * (len(checked) - examined))
        return Session(tuple(flags), examined)

    def clicks(self, grades: Sequence[int], rng: Rng) -> list[bool]:
        return list(self.session(grades, rng).clicks)

    def click_matrix(self, grades: npt.ArrayLike, rng: np.random.Generator) -> BoolMatrix:
        g = _grade_matrix(grades)
        attracted = rng.random(g.shape) < np.asarray(self.p_click)[g]
        stops = attracted & (rng.random(g.shape) < np.asarray(self.p_stop)[g])
        # Position i is examined when no stop happened strictly above it.
        stops_above: npt.NDArray[np.intp] = np.cumsum(stops, axis=1) - stops
        result: BoolMatrix = attracted & (stops_above == 0)
        return result


@dataclass(frozen=True)
class PositionBasedModel:
    """Independent examination ``(1/rank)^eta`` times grade attractiveness; no stopping."""

    name: str
    eta: float
    attractiveness: tuple[float, ...]

    def __post_init__(self) -> None:
        if not 0.0 <= self.eta < float("inf"):
            raise SimulationError(f"eta must be a finite number >= 0, got {self.eta!r}")
        object.__setattr__(self, "attractiveness", _probabilities("attractiveness", self.attractiveness))

    def examination(self, k: int) -> npt.NDArray[np.float64]:
        """P(examined) at ranks 1..k."""
        ranks = np.arange(1, k + 1, dtype=np.float64)
        result: npt.NDArray[np.float64] = (1.0 / ranks) ** self.eta
        return result

    def session(self, grades: Sequence[int], rng: Rng) -> Session:
        checked = _check_grades(grades)
        exam = self.examination(len(checked))
        flags = tuple(
            bool(rng.random() < exam[i]) and bool(rng.random() < self.attractiveness[g])
            for i, g in enumerate(checked)
        )
        return Session(flags, len(checked))

    def clicks(self, grades: Sequence[int], rng: Rng) -> list[bool]:
        return list(self.session(grades, rng).clicks)

    def click_matrix(self, grades: npt.ArrayLike, rng: np.random.Generator) -> BoolMatrix:
        g = _grade_matrix(grades)
        examined = rng.random(g.shape) < self.examination(g.shape[1])[np.newaxis, :]
        attracted = rng.random(g.shape) < np.asarray(self.attractiveness)[g]
        result: BoolMatrix = examined & attracted
        return result


def graded_attractiveness(eps: float = 0.1) -> tuple[float, ...]:
    """``eps + (1 - eps) (2^g - 1) / (2^4 - 1)``: the ERR gain with a floor of noise clicks."""
    top = 2.0**MAX_GRADE - 1.0
    return tuple(eps + (1.0 - eps) * (2.0**g - 1.0) / top for g in range(N_GRADES))


def position_based(eta: float = 1.0, eps: float = 0.1) -> PositionBasedModel:
    """A position-based model with examination ``(1/rank)^eta``."""
    return PositionBasedModel("position_based", eta, graded_attractiveness(eps))


CLICK_MODELS: Mapping[str, ClickModel] = {
    model.name: model
    for model in (
        CascadeModel("perfect", (0.0, 0.2, 0.4, 0.8, 1.0), (0.0, 0.0, 0.0, 0.0, 0.0)),
        CascadeModel("navigational", (0.05, 0.3, 0.5, 0.7, 0.95), (0.2, 0.3, 0.5, 0.7, 0.9)),
        CascadeModel("informational", (0.4, 0.6, 0.7, 0.8, 0.9), (0.1, 0.2, 0.3, 0.4, 0.5)),
        CascadeModel("almost_random", (0.4, 0.45, 0.5, 0.55, 0.6), (0.5, 0.5, 0.5, 0.5, 0.5)),
        CascadeModel("random", (0.5, 0.5, 0.5, 0.5, 0.5), (0.0, 0.0, 0.0, 0.0, 0.0)),
        position_based(),
    )
}


def available_click_models() -> tuple[str, ...]:
    """Registered click model names, sorted."""
    return tuple(sorted(CLICK_MODELS))


def get_click_model(name: str) -> ClickModel:
    """The click model registered as ``name``; an unknown name lists the valid ones."""
    try:
        return CLICK_MODELS[name]
    except KeyError as exc:
        raise UnknownClickModelError(name, CLICK_MODELS) from exc

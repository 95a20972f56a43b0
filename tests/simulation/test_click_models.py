"""Click models reproduce their published tables: click, stop and examination rates."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from interleave_sdk.errors import InterleaveError, SimulationError, UnknownClickModelError
from interleave_sdk.simulation.click_models import (
    CLICK_MODELS,
    N_GRADES,
    CascadeModel,
    PositionBasedModel,
    available_click_models,
    get_click_model,
    graded_attractiveness,
    position_based,
)

CASCADES = sorted(name for name, m in CLICK_MODELS.items() if isinstance(m, CascadeModel))
# (model, grade) pairs a user can click; perfect users never click grade 0: no stop to observe.
CLICKABLE = [
    (name, grade)
    for name in CASCADES
    for grade in range(N_GRADES)
    if CLICK_MODELS[name].p_click[grade] > 0.0  # type: ignore[attr-defined]
]
Z = 4.5  # |estimate - p| <= Z binomial standard errors: a false alarm about once in 150k checks


def assert_rate(hits: int, n: int, p: float) -> None:
    """Fail unless ``hits / n`` is within ``Z`` standard errors of ``p`` (exact at 0 and 1)."""
    if p in (0.0, 1.0):
        assert hits == round(p * n)
        return
    tolerance = Z * math.sqrt(p * (1.0 - p) / n)
    assert abs(hits / n - p) <= tolerance, (
        f"{hits}/{n} = {hits / n:.4f}, expected {p} ± {tolerance:.4f}"
    )


def test_registry_holds_the_five_cascades_and_the_position_model() -> None:
    """The registry offers exactly the documented models."""
    assert available_click_models() == (
        "almost_random",
        "informational",
        "navigational",
        "perfect",
        "position_based",
        "random",
    )


@pytest.mark.parametrize(
    ("name", "p_click", "p_stop"),
    [
        ("perfect", (0.0, 0.2, 0.4, 0.8, 1.0), (0.0, 0.0, 0.0, 0.0, 0.0)),
        ("navigational", (0.05, 0.3, 0.5, 0.7, 0.95), (0.2, 0.3, 0.5, 0.7, 0.9)),
        ("informational", (0.4, 0.6, 0.7, 0.8, 0.9), (0.1, 0.2, 0.3, 0.4, 0.5)),
        ("almost_random", (0.4, 0.45, 0.5, 0.55, 0.6), (0.5, 0.5, 0.5, 0.5, 0.5)),
        ("random", (0.5, 0.5, 0.5, 0.5, 0.5), (0.0, 0.0, 0.0, 0.0, 0.0)),
    ],
)
def test_cascade_tables_are_the_documented_ones(name: str, p_click: tuple, p_stop: tuple) -> None:
    """Each cascade model carries the P(click|grade) and P(stop|grade) of the docstring table."""
    model = get_click_model(name)
    assert isinstance(model, CascadeModel)
    assert model.p_click == p_click
    assert model.p_stop == p_stop


@pytest.mark.parametrize("name", CASCADES)
@pytest.mark.parametrize("grade", range(N_GRADES))
def test_scalar_click_rate_on_the_first_item_matches_the_table(name: str, grade: int) -> None:
    """The top item is always examined, so its click rate is P(click|grade)."""
    model = get_click_model(name)
    assert isinstance(model, CascadeModel)
    rng = random.Random(1000 + grade)
    n = 4000
    hits = sum(model.clicks([grade], rng)[0] for _ in range(n))
    assert_rate(hits, n, model.p_click[grade])


@pytest.mark.parametrize(("name", "grade"), CLICKABLE)
def test_scalar_stop_rate_after_a_click_matches_the_table(name: str, grade: int) -> None:
    """After a click on an item of this grade the user stops reading with P(stop|grade)."""
    model = get_click_model(name)
    assert isinstance(model, CascadeModel)
    rng = random.Random(2000 + grade)
    clicked = stopped = 0
    for _ in range(6000):
        session = model.session([grade, 0, 0], rng)
        if session.clicks[0]:
            clicked += 1
            stopped += session.examined == 1
    assert_rate(stopped, clicked, model.p_stop[grade])


@pytest.mark.parametrize("name", CASCADES)
def test_matrix_click_rates_match_the_table_for_every_grade(name: str) -> None:
    """The vectorised path gives the same per-grade click rates on the top item."""
    model = get_click_model(name)
    assert isinstance(model, CascadeModel)
    n = 20000
    grades = np.repeat(np.arange(N_GRADES), n)[:, np.newaxis]
    clicks = model.click_matrix(grades, np.random.default_rng(7))
    for grade in range(N_GRADES):
        assert_rate(int(clicks[grades[:, 0] == grade, 0].sum()), n, model.p_click[grade])


@pytest.mark.parametrize(("name", "grade"), CLICKABLE)
def test_matrix_second_item_is_read_unless_the_user_stopped(name: str, grade: int) -> None:
    """Vectorised: P(click on 2 | click on 1 of grade g) = (1 - P(stop|g)) * P(click|4)."""
    model = get_click_model(name)
    assert isinstance(model, CascadeModel)
    grades = np.tile([grade, 4], (40000, 1))
    clicks = model.click_matrix(grades, np.random.default_rng(11 + grade))
    first = clicks[:, 0]
    assert_rate(
        int(clicks[first, 1].sum()),
        int(first.sum()),
        (1.0 - model.p_stop[grade]) * model.p_click[4],
    )


@pytest.mark.parametrize("name", CASCADES)
def test_cascade_never_clicks_below_the_point_where_the_user_stopped(name: str) -> None:
    """Positions past ``examined`` carry no clicks."""
    model = get_click_model(name)
    rng = random.Random(5)
    for _ in range(500):
        session = model.session([4, 3, 2, 1, 0, 4, 3, 2, 1, 0], rng)
        assert not any(session.clicks[session.examined :])


@pytest.mark.parametrize("eta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("path", ["scalar", "matrix"])
def test_position_model_examination_decays_as_rank_to_the_minus_eta(eta: float, path: str) -> None:
    """With attractiveness 1 (grade 4) the click rate at rank r is (1/r)^eta."""
    model = position_based(eta=eta)
    k, n = 8, 12000
    if path == "scalar":
        rng = random.Random(int(eta * 100))
        counts = np.zeros(k, dtype=int)
        for _ in range(n):
            counts += np.array(model.clicks([4] * k, rng), dtype=int)
    else:
        clicks = model.click_matrix(np.full((n, k), 4), np.random.default_rng(int(eta * 10)))
        counts = clicks.sum(axis=0)
    for rank in range(1, k + 1):
        assert_rate(int(counts[rank - 1]), n, (1.0 / rank) ** eta)


@pytest.mark.parametrize("grade", range(N_GRADES))
def test_position_model_top_item_click_rate_is_its_attractiveness(grade: int) -> None:
    """Rank 1 is always examined, so its click rate is the grade's attractiveness."""
    model = get_click_model("position_based")
    assert isinstance(model, PositionBasedModel)
    clicks = model.click_matrix(np.full((30000, 1), grade), np.random.default_rng(grade))
    assert_rate(int(clicks.sum()), 30000, model.attractiveness[grade])


def test_graded_attractiveness_is_the_err_gain_with_a_noise_floor() -> None:
    """eps + (1 - eps)(2^g - 1)/15 with eps = 0.1 gives the documented row."""
    assert graded_attractiveness(0.1) == pytest.approx((0.1, 0.16, 0.28, 0.52, 1.0))


@pytest.mark.parametrize("name", sorted(CLICK_MODELS))
def test_same_seed_gives_the_same_clicks(name: str) -> None:
    """Clicks depend only on the generator passed in."""
    model = get_click_model(name)
    grades = np.tile([4, 0, 3, 1, 2], (50, 1))
    first = model.click_matrix(grades, np.random.default_rng(3))
    again = model.click_matrix(grades, np.random.default_rng(3))
    assert np.array_equal(first, again)
    assert model.clicks([4, 2, 0], random.Random(9)) == model.clicks([4, 2, 0], random.Random(9))


def test_unknown_model_name_lists_the_valid_names() -> None:
    """A typo in a model name says which names exist."""
    with pytest.raises(UnknownClickModelError) as info:
        get_click_model("navigationl")
    message = str(info.value)
    for name in CLICK_MODELS:
        assert name in message
    assert isinstance(info.value, InterleaveError)
    assert isinstance(info.value, KeyError)


@pytest.mark.parametrize("grades", [[5], [-1], [0, 9]])
def test_grades_outside_zero_to_four_are_rejected(grades: list[int]) -> None:
    """A grade the tables do not cover is an error, not an index wrap-around."""
    model = get_click_model("informational")
    with pytest.raises(SimulationError):
        model.clicks(grades, random.Random(0))
    with pytest.raises(SimulationError):
        model.click_matrix(np.array([grades]), np.random.default_rng(0))


@pytest.mark.parametrize(
    "build",
    [
        lambda: CascadeModel("bad", (0.1, 0.2), (0.0,) * 5),
        lambda: CascadeModel("bad", (0.1,) * 5, (0.0, 0.0, 0.0, 0.0, 1.5)),
        lambda: PositionBasedModel("bad", -1.0, graded_attractiveness()),
    ],
)
def test_malformed_tables_are_rejected(build: object) -> None:
    """A table of the wrong length or with a value outside [0, 1] cannot be built."""
    with pytest.raises(SimulationError):
        build()  # type: ignore[operator]

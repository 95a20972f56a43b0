"""Layers: experiments sharing a layer split its users, so no user is in two of them at once."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from interleave_sdk import Layer, StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink

HOME = Layer("home", ["reco_v2", "reco_v3"])


def ranked(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids, "score": [float(len(ids) - i) for i in range(len(ids))]})


def decorated(experiment: str, sink: CapturingSink, layer: Any = HOME) -> Any:
    @interleaved(
        rankers={"B": lambda user_id: ranked(["c", "a", "d"])},
        config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, timeout_ms=60000),
        sink=sink,
        experiment=experiment,
        layer=layer,
        metrics=False,
    )
    def recommend(user_id: str) -> pd.DataFrame:
        return ranked(["a", "b", "c"])

    return recommend


@pytest.mark.slow
def test_two_experiments_in_a_layer_never_share_a_user() -> None:
    """Over 10,000 users no user is interleaved by both functions; each takes about half."""
    sink_v2, sink_v3 = CapturingSink(), CapturingSink()
    v2, v3 = decorated("reco_v2", sink_v2), decorated("reco_v3", sink_v3)
    users = [f"user-{n}" for n in range(10000)]
    for user in users:
        v2(user)
        v3(user)
    in_v2 = {r["user_id"] for r in sink_v2.records if r["served"] == "interleaved"}
    in_v3 = {r["user_id"] for r in sink_v3.records if r["served"] == "interleaved"}
    assert not in_v2 & in_v3
    assert in_v2 | in_v3 == set(users)
    assert 0.47 < len(in_v2) / len(users) < 0.53
    assert {r["layer"] for r in sink_v2.records + sink_v3.records} == {"home"}


def test_user_outside_the_slot_gets_the_baseline_as_out_of_sample() -> None:
    """A user of the other experiment's slot is served the decorated function, in_sample false."""
    sink = CapturingSink()
    v2 = decorated("reco_v2", sink)
    for n in range(40):
        v2(f"user-{n}")
    outside = [r for r in sink.records if r["served"] != "interleaved"]
    assert outside and {(r["served"], r["in_sample"]) for r in outside} == {("A", False)}


def test_a_line_without_a_layer_has_no_layer_field() -> None:
    """Decorators without layer= write lines exactly as before (no layer key)."""
    sink = CapturingSink()
    decorated("solo", sink, layer=None)("u1")
    assert "layer" not in sink.records[0]


def test_experiment_missing_from_the_layer_fails_at_decoration() -> None:
    """layer= whose experiments do not include experiment= names the fix."""
    with pytest.raises(ValueError, match="add it to the Layer"):
        decorated("reco_v9", CapturingSink())


def test_layer_given_as_a_name_fails_at_decoration() -> None:
    """A bare string is refused with an example of the Layer to pass."""
    with pytest.raises(TypeError, match=r"Layer\('home'"):
        decorated("reco_v2", CapturingSink(), layer="home")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("home", []), ValueError),
        (("home", ["a", "a"]), ValueError),
        (("home", "reco_v2"), TypeError),
        (("no spaces", ["a"]), ValueError),
    ],
)
def test_bad_layers_are_refused(args: tuple[Any, Any], error: type[Exception]) -> None:
    """An empty layer, a repeated experiment, a str for the list and a bad name are refused."""
    with pytest.raises(error):
        Layer(*args)

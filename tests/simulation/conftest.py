"""A small sample world shared by the simulation tests (built once: it takes about a second)."""

from __future__ import annotations

import pytest

from samples.video_recsys.handler import VideoScenario, scenario


@pytest.fixture(scope="session")
def small_world_scenario() -> VideoScenario:
    return scenario(seed=7, n_videos=1200, n_users=300, n_candidates=600)

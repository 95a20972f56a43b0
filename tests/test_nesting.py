"""Nested decorated calls: each caller reads its own call's ranking id afterwards."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from interleave_sdk import ArmExecutor, StaticConfig, interleaved, last_ranking_id
from interleave_sdk.testing import CapturingSink

from .conftest import frame

MODES = pytest.mark.parametrize("mode", ["INTERLEAVE", "A"], ids=["interleaved", "kill-switch"])


def config(mode: str) -> StaticConfig:
    return StaticConfig(mode=mode, sampling_rate=1.0, timeout_ms=2000.0)


@MODES
def test_the_outer_call_keeps_its_id_after_an_inner_one(pool: ArmExecutor, mode: str) -> None:
    """home() calling row_reco(): after home() returns, last_ranking_id() is home's id."""
    outer, inner = CapturingSink(), CapturingSink()
    seen_inside: list[str | None] = []

    @interleaved(
        rankers={"B": lambda user_id: frame(["r2", "r1"])}, config=config(mode), sink=inner, executor=pool
    )
    def row_reco(user_id: str) -> pd.DataFrame:
        return frame(["r1", "r2"])

    @interleaved(
        rankers={"B": lambda user_id: frame(["h2", "h1"])}, config=config(mode), sink=outer, executor=pool
    )
    def home(user_id: str) -> pd.DataFrame:
        row_reco(user_id)
        seen_inside.append(last_ranking_id())
        return frame(["h1", "h2"])

    home("u1")
    assert last_ranking_id() == outer.last["ranking_id"] != inner.last["ranking_id"]
    assert seen_inside == [inner.last["ranking_id"]]  # inside, the inner call's id is the last


@MODES
def test_the_outer_async_call_keeps_its_id_after_an_inner_one(mode: str) -> None:
    """The same with async def handlers awaited inside one another."""
    outer, inner = CapturingSink(), CapturingSink()

    async def rank_b(user_id: str) -> pd.DataFrame:
        return frame(["x2", "x1"])

    @interleaved(rankers={"B": rank_b}, config=config(mode), sink=inner)
    async def row_reco(user_id: str) -> pd.DataFrame:
        return frame(["r1", "r2"])

    @interleaved(rankers={"B": rank_b}, config=config(mode), sink=outer)
    async def home(user_id: str) -> pd.DataFrame:
        await row_reco(user_id)
        return frame(["h1", "h2"])

    async def main() -> str | None:
        await home("u1")
        return last_ranking_id()

    assert asyncio.run(main()) == outer.last["ranking_id"] != inner.last["ranking_id"]

"""Two experiments on one surface, mutually exclusive: no user is in both at once.

Both decorators name the same Layer; its hash gives each user one slot, so ``home_v2`` interleaves
half of the users and ``home_v3`` the other half. Run: python samples/layers.py
"""

import pandas as pd

from interleave_sdk import Layer, StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink

HOME = Layer("home", ["home_v2", "home_v3"])  # the same list in every process that serves "home"
SWITCHES = StaticConfig(mode="INTERLEAVE", sampling_rate=1.0)
log = CapturingSink()


def ranked(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids, "score": [float(len(ids) - i) for i in range(len(ids))]})


@interleaved(rankers={"B": lambda user_id: ranked(["c", "a"])}, config=SWITCHES,
             experiment="home_v2", layer=HOME, sink=log)
def hero_row(user_id: str) -> pd.DataFrame:
    return ranked(["a", "b"])


@interleaved(rankers={"B": lambda user_id: ranked(["y", "x"])}, config=SWITCHES,
             experiment="home_v3", layer=HOME, sink=log)
def trending_row(user_id: str) -> pd.DataFrame:
    return ranked(["x", "y"])


for n in range(200):
    hero_row(f"user-{n}")
    trending_row(f"user-{n}")
interleaved_in = {(r["experiment"], r["user_id"]) for r in log.records if r["served"] == "interleaved"}
both = {user for exp, user in interleaved_in if ("home_v3", user) in interleaved_in and exp == "home_v2"}
print(f"interleaved pairs: {len(interleaved_in)}, users in both experiments: {len(both)}")

"""A measurement holdout: does interleaving itself change how much users engage?

A fifth of the users who would be interleaved get ranker A's list alone (logged "served":
"holdout"); the analysis compares positive feedback per impression between the two groups.
Run: python samples/holdout.py
"""

import pandas as pd

from interleave_sdk import StaticConfig, interleaved
from interleave_sdk.testing import CapturingSink

log = CapturingSink()  # in production: the default sink, one JSON line per call on stdout


def rank_b(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ["c", "e", "a", "f"], "score": [4.0, 3.0, 2.0, 1.0]})


@interleaved(
    rankers={"B": rank_b},
    config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0, holdout_rate=0.2),
    experiment="reco-v2",
    sink=log,
)
def recommend(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ["a", "b", "c", "d"], "score": [4.0, 3.0, 2.0, 1.0]})


for n in range(1000):
    recommend(f"user-{n}")
served = pd.Series([record["served"] for record in log.records]).value_counts()
print(served.to_dict())  # about {'interleaved': 800, 'holdout': 200}

"""Switches from flagd: beta users are interleaved, everybody else gets ranker A.

The flags live in flags.flagd.json next to this file (flagd's own format; a flagd daemon or the
flagd operator serves the same file in production). Here the flagd provider reads it in-process.
Run: python samples/openfeature/flagd_switches.py
"""

from pathlib import Path

import pandas as pd
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType

from interleave_sdk import OpenFeatureConfig, interleaved

FLAGS = Path(__file__).with_name("flags.flagd.json")
api.set_provider_and_wait(
    FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=str(FLAGS))
)


def rank_b(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ["c", "e", "a", "f"], "score": [4.0, 3.0, 2.0, 1.0]})


@interleaved(rankers={"B": rank_b}, config=OpenFeatureConfig(api.get_client(), prefix="reco."))
def recommend(user_id: str) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ["a", "b", "c", "d"], "score": [4.0, 3.0, 2.0, 1.0]})


for user in ("beta-7", "user-42"):
    recommend(user)  # each call prints its log line: served "interleaved", then "A"
api.shutdown()

import pandas as pd

from interleave_sdk import StaticConfig, interleaved


def rank_a(user_id, context):
    return pd.DataFrame({"item_id": ["v1", "v2", "v3"], "score": [0.9, 0.8, 0.7]})


def rank_b(user_id, context):
    return pd.DataFrame({"item_id": ["v3", "v4", "v1"], "score": [0.95, 0.85, 0.6]})


@interleaved(rankers={"B": rank_b}, config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0))
def recommend(user_id, context):
    return rank_a(user_id, context)  # existing code, untouched


print(recommend("u42", {}))  # one JSON log line, then the merged list with a source_ranker column

"""One Powertools Logger for the function's own lines and the SDK's ranking lines, both intact."""

import pandas as pd
from aws_lambda_powertools import Logger

from interleave_sdk import StaticConfig, interleaved
from interleave_sdk.observability.powertools import PowertoolsSink, ranking_line_formatter
from interleave_sdk.observability.processors import LambdaContextBinder, lambda_correlation

logger = Logger(service="reco", logger_formatter=ranking_line_formatter())
bind_lambda_context = LambdaContextBinder()


def rank_b(user_id):
    return pd.DataFrame({"item_id": ["v3", "v4", "v1"]})


@interleaved(
    rankers={"B": rank_b},
    config=StaticConfig(mode="INTERLEAVE", sampling_rate=1.0),
    sink=PowertoolsSink(logger),  # not logger.info(record): that nests the line under "message"
    processors=[lambda_correlation],  # function_request_id, cold_start, xray_trace_id
)
def recommend(user_id):
    return pd.DataFrame({"item_id": ["v1", "v2", "v3"]})


@logger.inject_lambda_context
@bind_lambda_context
def handler(event, context):
    logger.info("recommending", user_id=event["user_id"])  # a Powertools line, as usual
    items = recommend(event["user_id"])  # a ranking line, exactly as the log schema says
    return {"items": items["item_id"].tolist()}


if __name__ == "__main__":
    from types import SimpleNamespace

    context = SimpleNamespace(
        function_name="reco",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:reco",
        aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
    )
    handler({"user_id": "u42"}, context)

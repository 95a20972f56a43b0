"""One Lambda behind API Gateway for the legacy A and B routes and the unified route.

``GET /a/recommend`` and ``GET /b/recommend`` are pinned to their ranker, so they answer exactly as
the two old functions did; ``GET /recommend`` follows the experiment switches in SSM Parameter
Store (``/reco/exp/...``, read with the default provider: ``AWS_REGION`` or ``AWS_DEFAULT_REGION``,
and ``AWS_ENDPOINT_URL``, point it anywhere). Works with REST API (payload v1) and HTTP API
(payload v2) proxy events.
"""

import hashlib
import json

import pandas as pd

from interleave_sdk import interleaved, last_ranking_id, pinned, prefetch, source_rankers
from interleave_sdk.observability.processors import LambdaContextBinder, lambda_correlation

#: Route -> the arm it is pinned to (None: the switches decide).
ROUTES = {"/recommend": None, "/a/recommend": "A", "/b/recommend": "B"}

CATALOGUE = [f"v{n:02d}" for n in range(20)]
LIST_LENGTH = 8


def rank_a(user_id):
    """The legacy ranker A: most popular first, the same list for everybody."""
    return pd.DataFrame({"item_id": CATALOGUE[:LIST_LENGTH]})


def rank_b(user_id):
    """The legacy ranker B: a per-user order (a stand-in for a personalised model)."""
    def affinity(item):
        return hashlib.sha256(f"{user_id}:{item}".encode()).digest()

    return pd.DataFrame({"item_id": sorted(CATALOGUE, key=affinity)[:LIST_LENGTH]})


@interleaved(rankers={"B": rank_b}, experiment="reco", processors=[lambda_correlation])
def recommend(user_id):
    return rank_a(user_id)


# Read the switches now, in the Lambda init phase, so the first request finds them cached instead of
# spending its budget on a cold SSM client. A failed read is logged and never raises.
prefetch(recommend)


bind_lambda_context = LambdaContextBinder()


@bind_lambda_context
def handler(event, context):
    method, path = route(event)
    if path not in ROUTES:
        return respond(404, {"message": f"no route {path}"})
    if method != "GET":
        return respond(405, {"message": f"{method} is not allowed on {path}"})
    user_id = (event.get("queryStringParameters") or {}).get("user_id") or None  # absent: anonymous
    pin = ROUTES[path]
    if pin is None:
        items = recommend(user_id)
    else:
        with pinned(pin):
            items = recommend(user_id)
    # Which ranker supplied each row, whether the list was interleaved or served by one ranker.
    sources = source_rankers(items)
    body = {
        "ranking_id": last_ranking_id(),  # the client sends it back with clicks
        "items": [
            {"item_id": item_id, "source_ranker": source}
            for item_id, source in zip(items["item_id"], sources, strict=True)
        ],
    }
    return respond(200, body)


def route(event):
    """(method, path) of a REST API (v1) or HTTP API (v2) proxy event, without the stage."""
    if event.get("version") == "2.0":
        if event["routeKey"] == "$default":  # a catch-all route: the request's own method and path
            return event["requestContext"]["http"]["method"], event["rawPath"]
        method, _, path = event["routeKey"].partition(" ")  # "GET /a/recommend"
        return method, path
    return event["httpMethod"], event.get("resource") or event["path"]


def respond(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }

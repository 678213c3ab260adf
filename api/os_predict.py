"""OpenSearch dialect: predict endpoints (`/_plugins/_ml/...`).

mlsim has no security plugin; a request's user (for user-level rate limits) is the user
name of its Basic `Authorization` header when it sends one (any password), else none, as
on a cluster without security.
"""

from __future__ import annotations

from aiohttp import BasicAuth, hdrs, web

from .body import read_body
from .context import cluster_of
from .params import Query
from .responses import render

routes = web.RouteTableDef()


def request_user(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        return None
    try:
        return BasicAuth.decode(header).login or None
    except ValueError:
        return None


async def _predict(request: web.Request, algorithm: str | None) -> web.Response:
    Query(request)
    body = await read_body(request, "ml_input", required=True)
    ml = cluster_of(request).ml_commons
    answer = await ml.predictor.predict(request.match_info["model_id"], body.data, request_user(request), algorithm)
    return render(request, answer)


@routes.post("/_plugins/_ml/models/{model_id}/_predict")
async def predict_model(request: web.Request) -> web.Response:
    return await _predict(request, None)


@routes.post("/_plugins/_ml/_predict/{algorithm}/{model_id}")
async def predict_algorithm(request: web.Request) -> web.Response:
    return await _predict(request, request.match_info["algorithm"])

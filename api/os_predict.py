"""OpenSearch dialect: predict endpoints (`/_plugins/_ml/...`).

The body is read with OpenSearch's parser (`read_ml_object`). Without an algorithm in the
path, ml-commons fetches the model first to learn it, so a missing model (404) or a remote
one while remote inference is off is refused before any problem of the body.

mlsim has no security plugin; a request's user (for user-level rate limits) is the user
name of its Basic `Authorization` header when it sends one (any password), else none, as
on a cluster without security.
"""

from __future__ import annotations

from aiohttp import BasicAuth, hdrs, web

from cluster.opensearch.algorithms import TRAINABLE
from cluster.opensearch.errors import refuse_streaming

from .body import body_required
from .os_bodies import ml_commons, read_ml_object
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
    ml = ml_commons(request)
    model_id = request.match_info["model_id"]
    kind = algorithm.upper() if algorithm else None
    if algorithm is None or kind in TRAINABLE:
        model, kind = ml.predictor.model(model_id)
    body, _ = await read_ml_object(request)
    if body is None:
        raise body_required()
    if kind in TRAINABLE:  # a model trained by `_train`: the classic algorithms' predict
        return render(request, ml.training.predict(model, algorithm, body))
    answer = await ml.predictor.predict(model_id, body, request_user(request), algorithm)
    return render(request, answer)


@routes.post("/_plugins/_ml/models/{model_id}/_predict")
async def predict_model(request: web.Request) -> web.Response:
    return await _predict(request, None)


@routes.post("/_plugins/_ml/models/{model_id}/_batch_predict")
async def batch_predict(request: web.Request) -> web.Response:
    Query(request)
    ml = ml_commons(request)
    model_id = request.match_info["model_id"]
    ml.predictor.model(model_id)
    body, _ = await read_ml_object(request)
    if body is None:
        raise body_required()
    return render(request, await ml.batch_jobs.create(model_id, body))


@routes.post("/_plugins/_ml/models/{model_id}/_predict/stream")
async def predict_stream(request: web.Request) -> web.Response:
    """Refused: see `refuse_streaming` (the model is looked up first, as ml-commons does)."""
    Query(request)
    ml = ml_commons(request)
    if not ml.settings.stream_enabled:
        raise refuse_streaming(ml.settings)
    ml.predictor.model(request.match_info["model_id"])
    raise refuse_streaming(ml.settings)


@routes.post("/_plugins/_ml/_predict/{algorithm}/{model_id}")
async def predict_algorithm(request: web.Request) -> web.Response:
    return await _predict(request, request.match_info["algorithm"])

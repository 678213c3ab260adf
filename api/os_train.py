"""OpenSearch dialect: the classic algorithms (`/_plugins/_ml/_train/{algorithm}`,
`_train_predict/{algorithm}`, `_execute/{algorithm}`); predict with a trained model is served
by `os_predict`."""

from __future__ import annotations

from aiohttp import web

from .body import body_required
from .os_bodies import ml_commons, read_ml_object
from .params import Query
from .responses import render

routes = web.RouteTableDef()


async def _body(request: web.Request) -> dict:
    body, _ = await read_ml_object(request)
    if body is None:
        raise body_required()
    return body


@routes.post("/_plugins/_ml/_train/{algorithm}")
async def train(request: web.Request) -> web.Response:
    query = Query(request, ("async",))
    body = await _body(request)
    answer = ml_commons(request).training.train(request.match_info["algorithm"], body, query.bool("async"))
    return render(request, answer)


@routes.post("/_plugins/_ml/_train_predict/{algorithm}")
async def train_predict(request: web.Request) -> web.Response:
    Query(request)
    body = await _body(request)
    return render(request, ml_commons(request).training.train_predict(request.match_info["algorithm"], body))


@routes.post("/_plugins/_ml/_execute/{algorithm}")
async def execute(request: web.Request) -> web.Response:
    Query(request, ("async",))
    body = await _body(request)
    return render(request, ml_commons(request).training.execute(request.match_info["algorithm"], body))

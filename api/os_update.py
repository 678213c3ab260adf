"""OpenSearch dialect: the update model API (`PUT /_plugins/_ml/models/{model_id}`)."""

from __future__ import annotations

from aiohttp import web

from .os_bodies import ml_commons, read_ml_object
from .params import Query
from .responses import render

routes = web.RouteTableDef()


@routes.put("/_plugins/_ml/models/{model_id}")
async def update_model(request: web.Request) -> web.Response:
    Query(request)
    body, text = await read_ml_object(request)
    return render(request, ml_commons(request).updates.update(request.match_info["model_id"], body, text))

"""OpenSearch dialect: model register, get, search and delete (`/_plugins/_ml/models/...`).

Deploy, undeploy, update and predict on `/models/{id}` live in their own modules.
"""

from __future__ import annotations

from aiohttp import web

from .body import body_required
from .os_bodies import SOURCE_PARAMS, ml_commons, read_ml_object, search_body, write_status
from .params import Query
from .responses import render

routes = web.RouteTableDef()

BASE = "/_plugins/_ml/models"


@routes.post(BASE + "/_register")
@routes.post(BASE + "/_upload")
async def register_model(request: web.Request) -> web.Response:
    query = Query(request, ("deploy",))
    body, text = await read_ml_object(request)
    if body is None:
        raise body_required()
    return render(request, ml_commons(request).models.register(body, deploy=query.bool("deploy"), text=text))


@routes.get(BASE + "/_search")
@routes.post(BASE + "/_search")
async def search_models(request: web.Request) -> web.Response:
    Query(request, SOURCE_PARAMS)
    body = await search_body(request, required=True)
    return render(request, ml_commons(request).models.search(body))


@routes.get(BASE + "/{model_id}")
async def get_model(request: web.Request) -> web.Response:
    Query(request)
    return render(request, ml_commons(request).models.get(request.match_info["model_id"]))


@routes.delete(BASE + "/{model_id}")
async def delete_model(request: web.Request) -> web.Response:
    Query(request)
    response = ml_commons(request).models.delete(request.match_info["model_id"])
    return render(request, response, write_status(response))

"""OpenSearch dialect: the controller API (user-level rate limits,
`/_plugins/_ml/controllers/{model_id}`). The users it names are those of predict requests'
basic auth (see `os_predict.request_user`)."""

from __future__ import annotations

from aiohttp import web

from .context import cluster_of
from .os_update import read_ml_object
from .params import Query
from .responses import render

routes = web.RouteTableDef()

PATH = "/_plugins/_ml/controllers/{model_id}"


@routes.post(PATH)
async def create_controller(request: web.Request) -> web.Response:
    Query(request)
    body, _ = await read_ml_object(request)
    controllers = cluster_of(request).ml_commons.controllers
    return render(request, controllers.create(request.match_info["model_id"], body))


@routes.put(PATH)
async def update_controller(request: web.Request) -> web.Response:
    Query(request)
    body, _ = await read_ml_object(request)
    controllers = cluster_of(request).ml_commons.controllers
    return render(request, controllers.update(request.match_info["model_id"], body))


@routes.get(PATH)
async def get_controller(request: web.Request) -> web.Response:
    Query(request)
    return render(request, cluster_of(request).ml_commons.controllers.get(request.match_info["model_id"]))


@routes.delete(PATH)
async def delete_controller(request: web.Request) -> web.Response:
    Query(request)
    return render(request, cluster_of(request).ml_commons.controllers.delete(request.match_info["model_id"]))

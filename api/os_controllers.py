"""OpenSearch dialect: the controller API (user-level rate limits,
`/_plugins/_ml/controllers/{model_id}`). The users it names are those of predict requests'
basic auth (see `os_predict.request_user`)."""

from __future__ import annotations

from aiohttp import web

from .os_bodies import ml_commons, read_ml_object
from .params import Query
from .responses import render

routes = web.RouteTableDef()

PATH = "/_plugins/_ml/controllers/{model_id}"


@routes.post(PATH)
@routes.put(PATH)
async def write_controller(request: web.Request) -> web.Response:
    """POST creates a model's controller, PUT updates it; both take the same body."""
    Query(request)
    body, _ = await read_ml_object(request)
    controllers = ml_commons(request).controllers
    write = controllers.create if request.method == "POST" else controllers.update
    return render(request, write(request.match_info["model_id"], body))


@routes.get(PATH)
async def get_controller(request: web.Request) -> web.Response:
    Query(request)
    return render(request, ml_commons(request).controllers.get(request.match_info["model_id"]))


@routes.delete(PATH)
async def delete_controller(request: web.Request) -> web.Response:
    Query(request)
    return render(request, ml_commons(request).controllers.delete(request.match_info["model_id"]))

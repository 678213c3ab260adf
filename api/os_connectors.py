"""OpenSearch dialect: connectors (`/_plugins/_ml/connectors/...`)."""

from __future__ import annotations

from aiohttp import web

from .os_bodies import SOURCE_PARAMS, ml_commons, read_ml_object, search_body
from .params import Query
from .responses import render

routes = web.RouteTableDef()

BASE = "/_plugins/_ml/connectors"


@routes.post(BASE + "/_create")
async def create_connector(request: web.Request) -> web.Response:
    Query(request)
    body, _ = await read_ml_object(request)
    connector_id = ml_commons(request).connectors.create(body)
    return render(request, {"connector_id": connector_id})


@routes.get(BASE + "/_search")
@routes.post(BASE + "/_search")
async def search_connectors(request: web.Request) -> web.Response:
    Query(request, SOURCE_PARAMS)
    body = await search_body(request, required=True)
    return render(request, ml_commons(request).connectors.search(body))


@routes.get(BASE + "/{connector_id}")
async def get_connector(request: web.Request) -> web.Response:
    Query(request)
    return render(request, ml_commons(request).connectors.view(request.match_info["connector_id"]))


@routes.put(BASE + "/{connector_id}")
async def update_connector(request: web.Request) -> web.Response:
    Query(request)
    body, _ = await read_ml_object(request)
    return render(request, ml_commons(request).connectors.update(request.match_info["connector_id"], body))


@routes.delete(BASE + "/{connector_id}")
async def delete_connector(request: web.Request) -> web.Response:
    Query(request)
    response = ml_commons(request).connectors.delete(request.match_info["connector_id"])
    return render(request, response)  # 200 even for `not_found`, as ml-commons answers

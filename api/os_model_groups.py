"""OpenSearch dialect: model groups (`/_plugins/_ml/model_groups/...`)."""

from __future__ import annotations

from aiohttp import web

from cluster.opensearch.errors import parse_exception

from .os_bodies import SOURCE_PARAMS, ml_commons, read_ml_object, search_body
from .params import Query
from .responses import render

routes = web.RouteTableDef()

BASE = "/_plugins/_ml/model_groups"


@routes.post(BASE + "/_register")
async def register_model_group(request: web.Request) -> web.Response:
    Query(request)
    body, _ = await read_ml_object(request)
    if body is None:
        raise parse_exception("Model group request has empty body")
    group_id = ml_commons(request).groups.register(body)
    return render(request, {"model_group_id": group_id, "status": "CREATED"})


@routes.get(BASE + "/_search")
@routes.post(BASE + "/_search")
async def search_model_groups(request: web.Request) -> web.Response:
    Query(request, SOURCE_PARAMS)
    body = await search_body(request, required=True)
    return render(request, ml_commons(request).groups.search(body))


@routes.get(BASE + "/{model_group_id}")
async def get_model_group(request: web.Request) -> web.Response:
    Query(request)
    return render(request, ml_commons(request).groups.get_or_404(request.match_info["model_group_id"]))


@routes.put(BASE + "/{model_group_id}")
async def update_model_group(request: web.Request) -> web.Response:
    Query(request)
    body, _ = await read_ml_object(request)
    return render(request, ml_commons(request).groups.update(request.match_info["model_group_id"], body))


@routes.delete(BASE + "/{model_group_id}")
async def delete_model_group(request: web.Request) -> web.Response:
    Query(request)
    response = ml_commons(request).groups.delete(request.match_info["model_group_id"])
    return render(request, response)  # 200 even for `not_found`, as ml-commons answers

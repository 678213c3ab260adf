"""Model aliases: create, reassign and delete (the rules live in `ModelService`)."""

from __future__ import annotations

from aiohttp import web

from .context import cluster_of
from .params import Query
from .responses import acknowledged

routes = web.RouteTableDef()

ALIAS_PATH = "/_ml/trained_models/{model_id}/model_aliases/{model_alias}"


@routes.put(ALIAS_PATH)
async def put_alias(request: web.Request) -> web.Response:
    query = Query(request, ("reassign",))
    warnings = cluster_of(request).models.put_alias(
        request.match_info["model_id"], request.match_info["model_alias"], reassign=query.bool("reassign")
    )
    return acknowledged(request, warnings)


@routes.delete(ALIAS_PATH)
async def delete_alias(request: web.Request) -> web.Response:
    Query(request)
    cluster_of(request).models.delete_alias(request.match_info["model_id"], request.match_info["model_alias"])
    return acknowledged(request)

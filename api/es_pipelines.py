"""Minimal ingest pipelines: stored so the "referenced by ingest processors" rules are real."""

from __future__ import annotations

from aiohttp import web

from cluster.ids import expand

from .body import read_body
from .context import cluster_of
from .params import Query
from .responses import acknowledged, render

routes = web.RouteTableDef()

PIPELINE = "/_ingest/pipeline/{id}"


@routes.put(PIPELINE)
async def put_pipeline(request: web.Request) -> web.Response:
    Query(request, ("master_timeout", "timeout", "if_version")).time("timeout", 30.0)
    body = await read_body(request, "pipeline", required=True)
    if "processors" in body:
        body.list("processors")
    cluster_of(request).models.put_pipeline(request.match_info["id"], body.data)
    return acknowledged(request)


async def _get(request: web.Request, expression: str | None) -> web.Response:
    Query(request, ("master_timeout", "summary"))
    pipelines = cluster_of(request).state.pipelines
    names, _ = expand(expression, pipelines)
    found = {name: pipelines[name] for name in names}
    if expression is not None and not found:
        return render(request, {}, status=404)
    return render(request, found)


@routes.get("/_ingest/pipeline")
async def get_all_pipelines(request: web.Request) -> web.Response:
    return await _get(request, None)


@routes.get(PIPELINE)
async def get_pipeline(request: web.Request) -> web.Response:
    return await _get(request, request.match_info["id"])


@routes.delete(PIPELINE)
async def delete_pipeline(request: web.Request) -> web.Response:
    Query(request, ("master_timeout", "timeout"))
    cluster_of(request).models.delete_pipeline(request.match_info["id"])
    return acknowledged(request)

"""The inference API: `PUT/GET/DELETE _inference[/{task_type}]/{inference_id}`, `POST` to
infer, `_update` to rescale; served by `cluster/inference_endpoints.py`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.errors import validation_failed
from cluster.inference_endpoints import parse_task_type

from .body import read_body
from .context import cluster_of
from .params import Query
from .responses import render

routes = web.RouteTableDef()

ID = "/_inference/{inference_id}"
TYPED = "/_inference/{task_type}/{inference_id}"
DEFAULT_TIMEOUT_SECONDS = 30.0
INFER_FIELDS = ("input", "query", "task_settings", "input_type", "top_n", "return_documents")


def _task_type(request: web.Request) -> str:
    raw = request.match_info.get("task_type")
    return "any" if raw is None else parse_task_type(raw)


# -- update (before the typed PUT, which `{id}/_update` would also match) ----------------


@routes.put(ID + "/_update")
@routes.post(ID + "/_update")
@routes.put(TYPED + "/_update")
@routes.post(TYPED + "/_update")
async def update(request: web.Request) -> web.Response:
    Query(request, ("timeout",))
    task_type = _task_type(request)
    body = await read_body(request, "inference_update", required=True)
    assert body is not None
    endpoints = cluster_of(request).inference_endpoints
    endpoint = endpoints.update(request.match_info["inference_id"], task_type, body.data)
    return render(request, endpoint.to_dict())


# -- create ---------------------------------------------------------------------------


@routes.put(ID)
@routes.put(TYPED)
async def put(request: web.Request) -> web.Response:
    timeout = Query(request, ("timeout",)).time("timeout", DEFAULT_TIMEOUT_SECONDS)
    task_type = _task_type(request)
    body = await read_body(request, "inference_endpoint", required=True)
    assert body is not None
    endpoints = cluster_of(request).inference_endpoints
    endpoint, warnings = endpoints.parse(request.match_info["inference_id"], task_type, body.data)
    created = await endpoints.create(endpoint, timeout)
    return render(request, created.to_dict(), warnings=warnings)


# -- get ------------------------------------------------------------------------------


def _listing(request: web.Request, task_type: str, inference_id: str | None) -> web.Response:
    Query(request)
    endpoints = cluster_of(request).inference_endpoints
    if inference_id is None or inference_id == "_all":
        found = endpoints.list(task_type)
    else:
        found = [endpoints.get(inference_id, task_type)]
    return render(request, {"endpoints": [e.to_dict() for e in found]})


@routes.get("/_inference")
async def get_all(request: web.Request) -> web.Response:
    return _listing(request, "any", None)


@routes.get(ID)
async def get(request: web.Request) -> web.Response:
    return _listing(request, "any", request.match_info["inference_id"])


@routes.get(TYPED)
async def get_typed(request: web.Request) -> web.Response:
    return _listing(request, _task_type(request), request.match_info["inference_id"])


# -- infer ----------------------------------------------------------------------------


@routes.post(ID)
@routes.post(TYPED)
async def infer(request: web.Request) -> web.Response:
    timeout = Query(request, ("timeout",)).time("timeout", DEFAULT_TIMEOUT_SECONDS)
    task_type = _task_type(request)
    body = await read_body(request, "inference_request", required=True)
    assert body is not None
    body.check_known(INFER_FIELDS)
    raw = body.data.get("input")
    if raw is None:
        raise validation_failed(["Field [input] cannot be null"])
    inputs: list[Any] = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        raise body.field_error("input")
    if not inputs:
        raise validation_failed(["Field [input] cannot be an empty array"])
    task_settings = dict(body.object("task_settings") or {})
    for name in ("top_n", "return_documents"):  # rerank's top-level spellings of its task settings
        if name in body.data:
            task_settings[name] = body.data[name]
    result = await cluster_of(request).inference_endpoints.run(
        request.match_info["inference_id"], task_type, inputs, body.str("query"), task_settings, timeout)
    return render(request, result)


# -- delete ---------------------------------------------------------------------------


@routes.delete(ID)
@routes.delete(TYPED)
async def delete(request: web.Request) -> web.Response:
    query = Query(request, ("dry_run", "force"))
    task_type = _task_type(request)
    inference_id = request.match_info["inference_id"]
    cluster = cluster_of(request)
    endpoints = cluster.inference_endpoints
    if query.bool("dry_run"):
        endpoints.get(inference_id, task_type)
        pipelines = endpoints.referencing_pipelines(inference_id)
        return render(request, {"acknowledged": False, "pipelines": pipelines, "indexes": []})
    stopping = endpoints.delete(inference_id, task_type, query.bool("force"))
    await cluster.clock.wait_until(cluster.deployments.stopped(stopping), DEFAULT_TIMEOUT_SECONDS)
    return render(request, {"acknowledged": True, "pipelines": [], "indexes": []})



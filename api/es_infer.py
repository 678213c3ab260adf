"""`_infer` (and its deprecated `deployment/_infer` twin): deterministic answers per task."""

from __future__ import annotations

from aiohttp import web

from cluster.errors import validation_failed

from .body import read_body
from .context import cluster_of
from .params import Query
from .responses import render

routes = web.RouteTableDef()

INFER = "/_ml/trained_models/{model_id}/_infer"
DEPRECATED_INFER = "/_ml/trained_models/{model_id}/deployment/_infer"
DEPRECATION = f"[POST {DEPRECATED_INFER}] is deprecated! Use [POST {INFER}] instead."


async def _infer(request: web.Request, warnings: tuple[str, ...]) -> web.Response:
    timeout = Query(request, ("timeout",)).time("timeout", 10.0)
    body = await read_body(request, "infer_trained_model_request", required=True)
    body.check_known(("docs", "inference_config"))
    docs = body.list("docs")
    if not docs:
        raise validation_failed(["[docs] must not be empty"])
    if not all(isinstance(doc, dict) for doc in docs):
        raise body.field_error("docs")
    config = body.object("inference_config")
    if config is not None and (len(config) != 1 or not isinstance(next(iter(config.values())), (dict, type(None)))):
        raise body.field_error("inference_config")
    results = await cluster_of(request).infer(request.match_info["model_id"], docs, config, timeout)
    return render(request, {"inference_results": results}, warnings=warnings)


@routes.post(INFER)
async def infer_model(request: web.Request) -> web.Response:
    return await _infer(request, ())


@routes.post(DEPRECATED_INFER)
async def infer_deployment(request: web.Request) -> web.Response:
    return await _infer(request, (DEPRECATION,))

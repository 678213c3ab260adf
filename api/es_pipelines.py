"""Ingest pipelines: stored (so the "referenced by ingest processors" rules are real) and
simulated (`_simulate` runs the inference processor through the model's deployment)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.errors import MlError, illegal_argument
from cluster.ids import expand
from cluster.ingest import IngestDoc, parse_pipeline

from .body import read_body
from .context import cluster_of
from .http_errors import error_body
from .params import Query
from .responses import acknowledged, render

routes = web.RouteTableDef()

PIPELINE = "/_ingest/pipeline/{id}"
#: What a simulated document's `_version` shows when the request gives none (ES's MATCH_ANY).
ANY_VERSION = "-3"


async def _simulate(request: web.Request, pipeline_id: str | None) -> web.Response:
    verbose = Query(request, ("verbose",)).bool("verbose")
    body = await read_body(request, "simulate", required=True)
    assert body is not None
    cluster = cluster_of(request)
    if pipeline_id is None:
        inline = body.data.get("pipeline")
        if inline is None:
            raise MlError(400, "parse_exception", "[pipeline] required property is missing")
        pipeline = parse_pipeline(inline)
    else:
        if pipeline_id not in cluster.state.pipelines:
            raise illegal_argument(f"pipeline [{pipeline_id}] does not exist")
        pipeline = cluster.ingest.pipeline(pipeline_id)
    docs = body.data.get("docs")
    if docs is None:
        raise MlError(400, "parse_exception", "[docs] required property is missing")
    if not isinstance(docs, list) or not all(isinstance(doc, dict) for doc in docs):
        raise MlError(400, "parse_exception", "[docs] property isn't a list of maps")
    if not docs:
        raise illegal_argument("must specify at least one document in [docs]")
    for doc in docs:
        if not isinstance(doc.get("_source"), dict):
            raise MlError(400, "parse_exception", "[_source] required property is missing")
    results = await cluster.ingest.run(pipeline, [doc["_source"] for doc in docs], verbose=verbose)
    timestamp = cluster.clock.iso()
    shown = [_simulated(doc, result, timestamp, verbose) for doc, result in zip(docs, results)]
    return render(request, {"docs": shown})


def _simulated(request_doc: dict[str, Any], result: IngestDoc, timestamp: str, verbose: bool) -> dict[str, Any]:
    def as_doc(source: dict[str, Any]) -> dict[str, Any]:
        return {"doc": {
            "_index": request_doc.get("_index", "_index"), "_version": str(request_doc.get("_version", ANY_VERSION)),
            "_id": request_doc.get("_id", "_id"), "_source": source, "_ingest": {"timestamp": timestamp},
        }}

    if not verbose:
        return {"error": error_body(result.error)["error"]} if result.error is not None else as_doc(result.source)
    steps = []
    for processor, outcome in result.trace:
        step: dict[str, Any] = {"processor_type": processor.kind}
        if processor.tag is not None:
            step["tag"] = processor.tag
        if isinstance(outcome, MlError):
            steps.append({**step, "status": "error", "error": error_body(outcome)["error"]})
        else:
            steps.append({**step, "status": "success", **as_doc(outcome)})
    return {"processor_results": steps}


@routes.get("/_ingest/pipeline/_simulate")
@routes.post("/_ingest/pipeline/_simulate")
async def simulate(request: web.Request) -> web.Response:
    return await _simulate(request, None)


@routes.get(PIPELINE + "/_simulate")
@routes.post(PIPELINE + "/_simulate")
async def simulate_stored(request: web.Request) -> web.Response:
    return await _simulate(request, request.match_info["id"])


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

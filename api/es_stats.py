"""`GET /_ml/trained_models[/{model_id}]/_stats`: counts models, one entry per deployment.

Monitoring polls this endpoint; the rendered answer is kept while the cluster shows the same
(see `answer_cache`), so a poll between two changes costs a lookup.
"""

from __future__ import annotations

from aiohttp import web

from cluster.inference import local_stats
from cluster.model_queries import expand_models
from cluster.model_stats import model_stats

from .answer_cache import answer_cache
from .context import cluster_of
from .params import Query
from .responses import render

routes = web.RouteTableDef()


async def _stats(request: web.Request, expression: str | None) -> web.Response:
    cluster = cluster_of(request)
    cluster.serving.sync()

    def compute() -> web.Response:
        query = Query(request, ("allow_no_match", "from", "size"))
        models = expand_models(cluster.state, expression, query.bool("allow_no_match", True))
        start, size = query.page()
        entries = model_stats(cluster.state, cluster.clock, models[start : start + size], cluster.ingest)
        return render(request, {"count": len(models), "trained_model_stats": entries})

    # Ingest and in-place inference counters change without an event: their versions stamp too.
    versions = (cluster.ingest.version, local_stats(cluster.state).version)
    return answer_cache(cluster, "stats").respond(cluster, request, compute, versions)


@routes.get("/_ml/trained_models/_stats")
async def all_stats(request: web.Request) -> web.Response:
    return await _stats(request, None)


@routes.get("/_ml/trained_models/{model_id}/_stats")
async def stats(request: web.Request) -> web.Response:
    return await _stats(request, request.match_info["model_id"])

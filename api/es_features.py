"""`GET /_features` and `POST /_features/_reset`: the feature states Elasticsearch's REST test
runners reset between tests (what a reset clears is in `cluster.feature_reset`)."""

from __future__ import annotations

from aiohttp import web

from cluster.feature_reset import FEATURES

from .context import cluster_of
from .params import Query
from .responses import render

routes = web.RouteTableDef()

MASTER_TIMEOUT_SECONDS = 30.0


def _read_query(request: web.Request) -> None:
    """`master_timeout` is the one parameter; a malformed one is refused (there is no master
    to wait for)."""
    Query(request, ("master_timeout",)).time("master_timeout", MASTER_TIMEOUT_SECONDS)


@routes.get("/_features")
async def get_features(request: web.Request) -> web.Response:
    _read_query(request)
    return render(request, {"features": [{"name": f.name, "description": f.description} for f in FEATURES]})


@routes.post("/_features/_reset")
async def reset_features(request: web.Request) -> web.Response:
    _read_query(request)
    reset = cluster_of(request).reset_features()
    return render(request, {"features": [{"feature_name": f.name, "status": "SUCCESS"} for f in reset]})

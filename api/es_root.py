"""`GET /` and `HEAD /`: the cluster banner the clients read (and ping) first."""

from __future__ import annotations

import hashlib
import base64

from aiohttp import web

from .context import cluster_of
from .http_errors import VERSION
from .params import Query
from .responses import render

routes = web.RouteTableDef()

BUILD = {
    "build_flavor": "default",
    "build_type": "docker",
    "build_hash": "0000000000000000000000000000000000000000",
    "build_date": "2025-07-17T22:27:09.000Z",
    "build_snapshot": False,
    "lucene_version": "10.2.2",
    "minimum_wire_compatibility_version": "8.19.0",
    "minimum_index_compatibility_version": "8.0.0",
}


def cluster_uuid(cluster_name: str) -> str:
    """A stable, ES-looking (22-char url-safe base64) uuid derived from the cluster's name."""
    digest = hashlib.sha256(cluster_name.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@routes.get("/")
async def info(request: web.Request) -> web.Response:
    Query(request)
    cluster = cluster_of(request)
    name = cluster.settings.cluster_name
    body = {
        "name": next((node.name for node in cluster.state.nodes.values()), name),
        "cluster_name": name,
        "cluster_uuid": cluster_uuid(name),
        "version": {"number": VERSION, **BUILD},
        "tagline": "You Know, for Search",
    }
    return render(request, body)

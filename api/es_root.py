"""`GET /` and `HEAD /`: the cluster banner the clients read (and ping) first.

The root is shared by both dialects, so who asks decides: a request from an OpenSearch client
(a User-Agent starting with `opensearch-`: opensearch-py, -java, -js, -go, ...) that does not
ask for Elasticsearch's vendored media type gets OpenSearch's banner (`version.distribution:
"opensearch"`); everyone else (the Elasticsearch clients, curl, browsers) gets
Elasticsearch's, as before.
"""

from __future__ import annotations

import hashlib
import base64

from aiohttp import web

from .context import cluster_of
from .http_errors import VERSION
from .middleware import asks_elasticsearch
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


#: OpenSearch's banner `version`, for the ml-commons generation mlsim follows (3.2).
OPENSEARCH_VERSION = {
    "distribution": "opensearch",
    "number": "3.2.0",
    "build_type": "tar",
    "build_hash": "0000000000000000000000000000000000000000",
    "build_date": "2025-08-19T00:00:00.000Z",
    "build_snapshot": False,
    "lucene_version": "10.2.2",
    "minimum_wire_compatibility_version": "2.19.0",
    "minimum_index_compatibility_version": "2.0.0",
}
OPENSEARCH_TAGLINE = "The OpenSearch Project: https://opensearch.org/"


def asks_opensearch(request: web.Request) -> bool:
    """Whether the banner goes out in OpenSearch's shape (see the module's rule)."""
    agent = request.headers.get("User-Agent", "").lower()
    return agent.startswith("opensearch-") and not asks_elasticsearch(request)


def cluster_uuid(cluster_name: str) -> str:
    """A stable, ES-looking (22-char url-safe base64) uuid derived from the cluster's name."""
    digest = hashlib.sha256(cluster_name.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@routes.get("/")
async def info(request: web.Request) -> web.Response:
    Query(request)
    cluster = cluster_of(request)
    name = cluster.settings.cluster_name
    opensearch = asks_opensearch(request)
    body = {
        "name": next((node.name for node in cluster.state.nodes.values()), name),
        "cluster_name": name,
        "cluster_uuid": cluster_uuid(name),
        "version": OPENSEARCH_VERSION if opensearch else {"number": VERSION, **BUILD},
        "tagline": OPENSEARCH_TAGLINE if opensearch else "You Know, for Search",
    }
    return render(request, body)

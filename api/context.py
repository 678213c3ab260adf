"""Typed keys under which the aiohttp application keeps what handlers share."""

from __future__ import annotations

from aiohttp import web

from cluster.cluster import Cluster

CLUSTER = web.AppKey("cluster", Cluster)


def cluster_of(request: web.Request) -> Cluster:
    """The simulated cluster the request is served from."""
    return request.app[CLUSTER]

"""One listener for every node: each route report goes to the service that owns the route.

Elasticsearch deployments and OpenSearch ml-commons models load on the same `MlNode`s. A
service that is not the master claims a key prefix that cannot be an Elasticsearch
deployment id (those are lowercase `[a-z0-9_.-]`), e.g. `opensearch/`; everything else is
the master's.
"""

from __future__ import annotations

from nodes.node import RouteListener


class RouteDispatcher:
    """Implements `nodes.node.RouteListener` by forwarding to the owner of the route key."""

    def __init__(self, default: RouteListener) -> None:
        self._default = default
        self._owners: dict[str, RouteListener] = {}

    def claim(self, prefix: str, owner: RouteListener) -> None:
        """Route keys starting with `prefix` report to `owner` from now on."""
        self._owners[prefix] = owner

    def _owner(self, key: str) -> RouteListener:
        for prefix, owner in self._owners.items():
            if key.startswith(prefix):
                return owner
        return self._default

    def route_started(self, node_id: str, deployment_id: str) -> None:
        self._owner(deployment_id).route_started(node_id, deployment_id)

    def route_failed(self, node_id: str, deployment_id: str, reason: str) -> None:
        self._owner(deployment_id).route_failed(node_id, deployment_id, reason)

    def route_resized(self, node_id: str, deployment_id: str, allocations: int) -> None:
        self._owner(deployment_id).route_resized(node_id, deployment_id, allocations)

    def route_stopped(self, node_id: str, deployment_id: str) -> None:
        self._owner(deployment_id).route_stopped(node_id, deployment_id)

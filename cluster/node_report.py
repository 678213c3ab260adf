"""What one ML node looks like from outside: capacity, what is free, and the routes on it.

Used by `GET /_sim/nodes` and by scripts; every number is derived from the cluster state on
the spot (see `ClusterState.usage`), so it always agrees with what the planner sees. Both
services draw on one model memory pool: `ml_commons_memory` is what OpenSearch ml-commons
models hold on the node (loading, deployed, or still stopping), `deployment_memory` what is
left of the pool for Elasticsearch deployments, of which they use `memory_used`.
"""

from __future__ import annotations

from typing import Any

from .state import ClusterState


def node_report(state: ClusterState, node_id: str) -> dict[str, Any]:
    """A JSON-ready description of the node `node_id` (which must exist)."""
    node = state.nodes[node_id]
    spec = node.spec
    usage = state.usage(node_id)
    return {
        "id": node_id,
        "name": spec.name,
        "zone": state.zone_of(node_id),
        "attributes": dict(sorted(spec.attributes.items())),
        "machine_memory": spec.machine_memory,
        "jvm_size": spec.effective_jvm_size,
        "other_ml_memory_bytes": spec.other_ml_memory_bytes,
        "ml_memory_limit": usage.ml_memory_limit,
        "ml_commons_memory": state.external_memory(node_id),
        "deployment_memory": usage.deployment_memory,
        "memory_used": usage.memory_used,
        "free_memory": usage.free_memory,
        "allocated_processors": spec.allocated_processors,
        "cores": usage.cores,
        "cores_used": usage.cores_used,
        "free_cores": usage.free_cores,
        "leaving": node_id in state.leaving,
        "routes": [
            {"deployment_id": assignment.deployment_id, "model_id": assignment.model_id, **route.to_dict()}
            for assignment, route in state.routes_on(node_id)
        ],
    }


def nodes_report(state: ClusterState) -> list[dict[str, Any]]:
    """Every node, in name order."""
    return [node_report(state, node_id) for node_id in sorted(state.nodes, key=lambda n: (state.nodes[n].name, n))]

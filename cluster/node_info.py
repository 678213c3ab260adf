"""How a node introduces itself in stats responses (name, address, attributes, roles).

Elasticsearch shows these from the node's discovery info; the simulator derives them from
the node's spec so they are stable for a given cluster.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .state import ClusterState

ML_CONFIG_VERSION = "12.0.0"
#: Every simulated node is a dedicated ML node (no data role).
NODE_ROLES = ("ml", "remote_cluster_client")


def node_summary(state: ClusterState, node_id: str) -> dict[str, Any]:
    node = state.nodes.get(node_id)
    if node is None:  # the route outlived its node (crash): ES still names it by id
        return {"name": node_id}
    spec = node.spec
    index = sorted(state.nodes).index(node_id)
    attributes = {
        "ml.machine_memory": str(spec.machine_memory),
        "ml.max_jvm_size": str(spec.effective_jvm_size),
        "ml.allocated_processors": str(int(spec.allocated_processors)),
        "ml.allocated_processors_double": str(float(spec.allocated_processors)),
        "ml.config_version": ML_CONFIG_VERSION,
        "xpack.installed": "true",
        **({"zone": spec.zone} if spec.zone else {}),
        **spec.attributes,
    }
    return {
        "name": spec.name,
        "ephemeral_id": hashlib.sha256(f"ephemeral:{node_id}".encode("utf-8", "surrogatepass")).hexdigest()[:22],
        "transport_address": f"127.0.0.1:{9300 + index}",
        "external_id": spec.name,
        "attributes": attributes,
        "roles": list(NODE_ROLES),
        "version": "9.1.0",
        "min_index_version": 8000099,
        "max_index_version": 9033000,
    }

"""A full cluster restart: every node goes down at once and comes back with its id and shape.

What the cluster state holds (models, deployments and their settings, aliases, pipelines,
ml-commons documents, settings) stays; what lived in node processes does not, so every
route loads again in simulated time, as after restarting a real cluster.
"""

from __future__ import annotations

from dataclasses import replace

from .cluster import Cluster


def full_restart(cluster: Cluster) -> None:
    """Crash every node, then rejoin them in their join order. Nodes that were shutting
    down gracefully stay down (their shutdown completes with the restart)."""
    members = [
        (node_id, node.spec) for node_id, node in cluster.state.nodes.items() if node_id not in cluster.state.leaving
    ]
    cluster.log.append("full_restart", "full cluster restart", nodes=[node_id for node_id, _ in members])
    for node_id in list(cluster.state.nodes):
        cluster.membership.crash(node_id)
    for node_id, spec in members:
        cluster.membership.join(replace(spec, node_id=node_id))

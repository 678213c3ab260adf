"""The body of `GET /_plugins/_ml/stats[/{stat}]` and `/{nodeId}/stats[/{stat}]`.

Cluster-level stats come from the system indices; node-level ones from each node's
counters and load (`MlStats`) and what the node holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .documents import CONNECTOR_INDEX, CONTROLLER_INDEX, MODEL_INDEX, TASK_INDEX
from .errors import illegal_argument

if TYPE_CHECKING:
    from .service import MlCommons

CLUSTER_STATS = (
    "ml_model_index_status", "ml_connector_index_status", "ml_config_index_status", "ml_task_index_status",
    "ml_controller_index_status", "ml_model_count", "ml_connector_count",
)
NODE_STATS = (
    "ml_jvm_heap_usage", "ml_executing_task_count", "ml_request_count", "ml_failure_count",
    "ml_deployed_model_count", "ml_circuit_breaker_trigger_count",
)
_INDEX_OF_STATUS = {
    "ml_model_index_status": MODEL_INDEX, "ml_connector_index_status": CONNECTOR_INDEX,
    "ml_task_index_status": TASK_INDEX, "ml_controller_index_status": CONTROLLER_INDEX,
}


def stats_report(ml: MlCommons, node_ids: list[str] | None, stats: list[str] | None) -> dict[str, Any]:
    """`stats` None means every stat with algorithm and model stats; names are
    case-insensitive and an unknown one is ml-commons' 400."""
    if stats is None:
        cluster_wanted, node_wanted = list(CLUSTER_STATS), list(NODE_STATS)
    else:
        names = [s.lower() for s in stats]
        for name in names:
            if name not in NODE_STATS and name not in CLUSTER_STATS:
                raise illegal_argument("Wrong ML cluster level stat")
        cluster_wanted = [s for s in CLUSTER_STATS if s in names]
        node_wanted = [s for s in NODE_STATS if s in names]
    body: dict[str, Any] = {name: _cluster_stat(ml, name) for name in cluster_wanted}
    if stats is not None and not node_wanted:
        return body
    nodes = {node_id: _node_stats(ml, node_id, node_wanted, stats is None) for node_id in _resolve(ml, node_ids)}
    if nodes:
        body["nodes"] = nodes
    return body


def _cluster_stat(ml: MlCommons, name: str) -> Any:
    store = ml.store
    if name == "ml_model_count":
        return sum(1 for d in store[MODEL_INDEX].docs.values() if "chunk_number" not in d.source)
    if name == "ml_connector_count":
        return len(store[CONNECTOR_INDEX].docs)
    index = _INDEX_OF_STATUS.get(name)
    # The config index holds the master key the first sync-up writes: it always exists here.
    exists = index is None or store[index].next_seq_no > 0
    return "green" if exists else "non-existent"


def _node_stats(ml: MlCommons, node_id: str, wanted: list[str], with_actions: bool) -> dict[str, Any]:
    """Node stats, then per algorithm and per model action counters (empty unless every
    stat is asked for: ml-commons prints both objects either way)."""
    values = {
        "ml_jvm_heap_usage": lambda: ml.stats.jvm_heap_usage(node_id),
        "ml_executing_task_count": lambda: ml.stats.executing_task_count(node_id),
        "ml_deployed_model_count": lambda: len(ml.deployer.deployed_on(node_id)),
    }
    body: dict[str, Any] = {
        name: values[name]() if name in values else ml.stats.node_counter(node_id, name) for name in wanted
    }
    body["algorithms"] = ml.stats.algorithm_stats(node_id) if with_actions else {}
    body["models"] = ml.stats.model_stats(node_id) if with_actions else {}
    return body


def _resolve(ml: MlCommons, node_ids: list[str] | None) -> list[str]:
    """Node ids or names (or `_all`) to existing node ids, in join order."""
    nodes = ml.deployer.cluster_nodes()
    if not node_ids or "_all" in node_ids:
        return nodes
    return [n for n in nodes if n in node_ids or ml.state.nodes[n].name in node_ids]

"""`GET _nodes[/{node_id}][/{metric}]` and `GET _nodes[/{node_id}]/stats[/{metric}]`.

Every simulated node is a dedicated ML node; what tools read from these APIs is its ML
attributes (`ml.machine_memory`, `ml.allocated_processors`, `ml.max_jvm_size`, ...), its
roles, memory, heap and processors, and the cluster's ingest counters.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.cluster import Cluster
from cluster.errors import illegal_argument
from cluster.node_info import node_summary

from .context import cluster_of
from .es_root import BUILD
from .http_errors import VERSION
from .node_filter import select_nodes
from .params import Query
from .responses import render

routes = web.RouteTableDef()

INFO_METRICS = ("settings", "os", "process", "jvm", "thread_pool", "transport", "http", "remote_cluster_server",
                "plugins", "modules", "ingest", "aggregations", "indices")
STATS_METRICS = ("indices", "os", "process", "jvm", "thread_pool", "fs", "transport", "http", "breaker", "script",
                 "discovery", "ingest", "adaptive_selection", "script_cache", "indexing_pressure", "repositories",
                 "allocations")
INGEST_PROCESSORS = ("inference", "remove", "set")


def _metrics(raw: str | None, known: tuple[str, ...], kind: str) -> set[str]:
    if raw is None or raw == "_all":
        return set(known)
    chosen = {m.strip() for m in raw.split(",") if m.strip()}
    unknown = sorted(chosen - set(known))
    if unknown:
        raise illegal_argument(f"request [{kind}] contains unrecognized metric{'s' if len(unknown) > 1 else ''}: "
                               f"[{', '.join(unknown)}]")
    return chosen


def _is_metrics(raw: str, known: tuple[str, ...]) -> bool:
    """ES reads `_nodes/{x}` as metrics when every token is a metric name, else as node ids."""
    return all(token.strip() in (*known, "_all") for token in raw.split(",") if token.strip())


def _header(cluster: Cluster, nodes: dict[str, Any]) -> dict[str, Any]:
    return {"_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
            "cluster_name": cluster.settings.cluster_name, "nodes": nodes}


def _node_info(cluster: Cluster, node_id: str, metrics: set[str]) -> dict[str, Any]:
    state = cluster.state
    spec = state.nodes[node_id].spec
    summary = node_summary(state, node_id)
    host, port = summary["transport_address"].split(":")
    body: dict[str, Any] = {
        "name": summary["name"], "transport_address": summary["transport_address"], "host": host, "ip": host,
        "version": VERSION, "build_flavor": BUILD["build_flavor"], "build_type": BUILD["build_type"],
        "build_hash": BUILD["build_hash"], "roles": summary["roles"], "attributes": summary["attributes"],
    }
    if "os" in metrics:
        processors = int(spec.allocated_processors)
        body["os"] = {"name": "Linux", "arch": "amd64", "available_processors": processors,
                      "allocated_processors": processors}
    if "jvm" in metrics:
        heap = spec.effective_jvm_size
        body["jvm"] = {"version": "24", "vm_name": "OpenJDK 64-Bit Server VM",
                       "mem": {"heap_init_in_bytes": heap, "heap_max_in_bytes": heap, "non_heap_init_in_bytes": 0,
                               "non_heap_max_in_bytes": 0, "direct_max_in_bytes": 0}}
    if "ingest" in metrics:
        body["ingest"] = {"processors": [{"type": kind} for kind in INGEST_PROCESSORS]}
    if "transport" in metrics:
        body["transport"] = {"bound_address": [summary["transport_address"]],
                             "publish_address": summary["transport_address"], "profiles": {}}
    return body


def _node_stats(cluster: Cluster, node_id: str, metrics: set[str]) -> dict[str, Any]:
    state = cluster.state
    spec = state.nodes[node_id].spec
    summary = node_summary(state, node_id)
    body: dict[str, Any] = {
        "timestamp": cluster.clock.millis(), "name": summary["name"],
        "transport_address": summary["transport_address"], "host": "127.0.0.1", "ip": "127.0.0.1:" + summary["transport_address"].split(":")[1],
        "roles": summary["roles"], "attributes": summary["attributes"],
    }
    if "os" in metrics:
        used = state.model_memory_used(node_id) + spec.other_ml_memory_bytes + spec.effective_jvm_size
        used = min(used, spec.machine_memory)
        free = spec.machine_memory - used
        body["os"] = {"timestamp": cluster.clock.millis(), "mem": {
            "total_in_bytes": spec.machine_memory, "adjusted_total_in_bytes": spec.machine_memory,
            "free_in_bytes": free, "used_in_bytes": used,
            "free_percent": round(100 * free / spec.machine_memory), "used_percent": round(100 * used / spec.machine_memory),
        }}
    if "jvm" in metrics:
        heap = spec.effective_jvm_size
        body["jvm"] = {"timestamp": cluster.clock.millis(), "uptime_in_millis": int(cluster.now * 1000),
                       "mem": {"heap_used_in_bytes": heap // 4, "heap_used_percent": 25, "heap_committed_in_bytes": heap,
                               "heap_max_in_bytes": heap}}
    if "ingest" in metrics:
        body["ingest"] = cluster.ingest.stats()
    return body


def _info(request: web.Request, spec: str | None, raw_metrics: str | None) -> web.Response:
    Query(request, ("flat_settings", "master_timeout", "timeout"))
    cluster = cluster_of(request)
    metrics = _metrics(raw_metrics, INFO_METRICS, "nodes_info")
    nodes = {n: _node_info(cluster, n, metrics) for n in select_nodes(cluster.state, spec)}
    return render(request, _header(cluster, nodes))


def _stats(request: web.Request, spec: str | None, raw_metrics: str | None) -> web.Response:
    Query(request, ("completion_settings", "fielddata_fields", "fields", "groups", "level", "types", "timeout",
                    "include_segment_file_sizes", "include_unloaded_segments"))
    cluster = cluster_of(request)
    cluster.serving.sync()
    metrics = _metrics(raw_metrics, STATS_METRICS, "nodes_stats")
    nodes = {n: _node_stats(cluster, n, metrics) for n in select_nodes(cluster.state, spec)}
    return render(request, _header(cluster, nodes))


@routes.get("/_nodes")
async def nodes_info(request: web.Request) -> web.Response:
    return _info(request, None, None)


@routes.get("/_nodes/stats")
async def nodes_stats(request: web.Request) -> web.Response:
    return _stats(request, None, None)


@routes.get("/_nodes/stats/{metric}")
async def nodes_stats_metric(request: web.Request) -> web.Response:
    return _stats(request, None, request.match_info["metric"])


@routes.get("/_nodes/{node_id}/stats")
async def node_stats(request: web.Request) -> web.Response:
    return _stats(request, request.match_info["node_id"], None)


@routes.get("/_nodes/{node_id}/stats/{metric}")
async def node_stats_metric(request: web.Request) -> web.Response:
    return _stats(request, request.match_info["node_id"], request.match_info["metric"])


@routes.get("/_nodes/{target}")
async def nodes_info_target(request: web.Request) -> web.Response:
    target = request.match_info["target"]
    if _is_metrics(target, INFO_METRICS):
        return _info(request, None, target)
    return _info(request, target, None)


@routes.get("/_nodes/{node_id}/{metric}")
async def node_info_metric(request: web.Request) -> web.Response:
    return _info(request, request.match_info["node_id"], request.match_info["metric"])

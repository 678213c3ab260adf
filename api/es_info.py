"""`GET _ml/info` and `GET _ml/memory[/{node_id}]/_stats`: ML defaults, limits and the
per-node memory picture, computed from the simulated nodes (`cluster/ml_limits.py`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.ml_limits import MAX_MODEL_MEMORY_LIMIT, ml_info_limits, model_platform_variant, node_memory
from cluster.node_info import node_summary
from scheduler import format_bytes

from .context import cluster_of
from .es_root import BUILD
from .http_errors import VERSION
from .node_filter import select_nodes
from .params import Query
from .responses import render

routes = web.RouteTableDef()

DEFAULT_MODEL_MEMORY_LIMIT = 1024 * 1024 * 1024
#: The standard categorization analyzer `_ml/info` shows (ES builds it for every cluster).
CATEGORIZATION_ANALYZER = {
    "char_filter": ["first_line_with_letters"],
    "tokenizer": "ml_standard",
    "filter": [{
        "type": "stop",
        "stopwords": [
            "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mon", "Tue", "Wed",
            "Thu", "Fri", "Sat", "Sun", "January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
            "Aug", "Sep", "Oct", "Nov", "Dec", "GMT", "UTC",
        ],
    }, {"type": "limit", "max_token_count": "100"}],
}


@routes.get("/_ml/info")
async def ml_info(request: web.Request) -> web.Response:
    Query(request)
    state = cluster_of(request).state
    default_limit = DEFAULT_MODEL_MEMORY_LIMIT
    if 0 < MAX_MODEL_MEMORY_LIMIT < default_limit:
        default_limit = MAX_MODEL_MEMORY_LIMIT
    body = {
        "defaults": {
            "anomaly_detectors": {
                "categorization_analyzer": CATEGORIZATION_ANALYZER,
                "model_memory_limit": format_bytes(default_limit),
                "categorization_examples_limit": 4,
                "model_snapshot_retention_days": 10,
                "daily_model_snapshot_retention_after_days": 1,
            },
            "datafeeds": {"scroll_size": 1000},
            "model_platform_variant": model_platform_variant(state),
        },
        "upgrade_mode": False,
        "native_code": {"version": VERSION, "build_hash": BUILD["build_hash"][:14]},
        "limits": ml_info_limits(state),
    }
    return render(request, body)


def _bytes(human: bool, name: str, n: int) -> dict[str, Any]:
    """`name_in_bytes`, preceded by the readable `name` under `?human` (ES's humanReadableField)."""
    return {name: format_bytes(n), f"{name}_in_bytes": n} if human else {f"{name}_in_bytes": n}


async def _memory_stats(request: web.Request, spec: str | None) -> web.Response:
    query = Query(request, ("master_timeout", "timeout"))
    human = query.bool("human")
    cluster = cluster_of(request)
    state = cluster.state
    nodes: dict[str, Any] = {}
    for node_id in select_nodes(state, spec):
        memory = node_memory(state, node_id)
        summary = node_summary(state, node_id)
        inference_cache = memory.heap_max * 40 // 100
        nodes[node_id] = {
            "name": summary["name"], "ephemeral_id": summary["ephemeral_id"],
            "transport_address": summary["transport_address"], "attributes": summary["attributes"],
            "roles": summary["roles"],
            "mem": {
                **_bytes(human, "total", memory.total),
                **_bytes(human, "adjusted_total", memory.total),
                "ml": {
                    **_bytes(human, "max", memory.ml_max),
                    **_bytes(human, "native_code_overhead", memory.native_code_overhead),
                    **_bytes(human, "anomaly_detectors", memory.anomaly_detectors),
                    **_bytes(human, "data_frame_analytics", 0),
                    **_bytes(human, "native_inference", memory.native_inference),
                },
            },
            "jvm": {
                **_bytes(human, "heap_max", memory.heap_max),
                **_bytes(human, "java_inference_max", inference_cache),
                **_bytes(human, "java_inference", 0),
            },
        }
    body = {
        "_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
        "cluster_name": cluster.settings.cluster_name,
        "nodes": nodes,
    }
    return render(request, body)


@routes.get("/_ml/memory/_stats")
async def memory_stats(request: web.Request) -> web.Response:
    return await _memory_stats(request, None)


@routes.get("/_ml/memory/{node_id}/_stats")
async def node_memory_stats(request: web.Request) -> web.Response:
    return await _memory_stats(request, request.match_info["node_id"])

"""`GET _cluster/health[/{index}]`: green (the simulated document store's one-shard indices
have no replicas to leave unassigned) unless a named index is missing; node counts from
the simulated nodes."""

from __future__ import annotations

import re

from aiohttp import web

from cluster.errors import illegal_argument

from .context import cluster_of
from .os_bodies import ml_commons
from .params import Query
from .responses import render

routes = web.RouteTableDef()

HEALTH_PARAMS = ("level", "local", "master_timeout", "timeout", "wait_for_active_shards", "wait_for_events",
                 "wait_for_nodes", "wait_for_no_initializing_shards", "wait_for_no_relocating_shards",
                 "wait_for_status", "expand_wildcards")
STATUSES = ("green", "yellow", "red")
_NODES = re.compile(r"^(>=|<=|>|<|ge\(|le\(|gt\(|lt\()?(\d+)\)?$")


def nodes_condition_holds(spec: str, count: int) -> bool:
    """`wait_for_nodes`: `N`, `>=N`, `<=N`, `>N`, `<N` or the `ge(N)` forms."""
    match = _NODES.match(spec.strip())
    if match is None:
        raise illegal_argument(f"cannot parse wait_for_nodes [{spec}]")
    op, wanted = (match.group(1) or "").rstrip("("), int(match.group(2))
    return {"": count == wanted, ">=": count >= wanted, "ge": count >= wanted, "<=": count <= wanted,
            "le": count <= wanted, ">": count > wanted, "gt": count > wanted, "<": count < wanted,
            "lt": count < wanted}[op]


@routes.get("/_cluster/health")
async def health(request: web.Request) -> web.Response:
    return _health(request, None)


@routes.get("/_cluster/health/{index}")
async def index_health(request: web.Request) -> web.Response:
    return _health(request, request.match_info["index"])


def _health(request: web.Request, expression: str | None) -> web.Response:
    """The cluster's health, or that of the named indices: a missing one is red, and the
    request waits for it until `timeout` and answers 408 (at once, in simulated time)."""
    query = Query(request, HEALTH_PARAMS)
    wanted = query.str("wait_for_status")
    if wanted is not None and wanted not in STATUSES:
        raise illegal_argument(f"unknown cluster health status [{wanted}]")
    cluster = cluster_of(request)
    nodes = len(cluster.state.nodes)
    store = ml_commons(request).store
    names = [n for n in (expression or "").split(",") if n] if expression not in (None, "_all", "*") else []
    missing = [n for n in names if store.index_named(n) is None]
    shards = len(names) - len(missing) if names else len(store.indices)
    timed_out = bool(missing) or (
        query.has("wait_for_nodes") and not nodes_condition_holds(query.str("wait_for_nodes") or "", nodes))
    body = {
        "cluster_name": cluster.settings.cluster_name,
        "status": "red" if missing else "green",
        "timed_out": timed_out,
        "number_of_nodes": nodes,
        "number_of_data_nodes": 0,
        "active_primary_shards": shards,
        "active_shards": shards,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "unassigned_primary_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0,
    }
    return render(request, body, 408 if timed_out else 200)

"""The simulator's own control plane (`/_sim/...`): nodes, the clock, traffic and the
event log.

These are what a real cluster has no API for: adding, draining and crashing ML nodes,
moving simulated time, driving a deployment with simulated traffic, and reading what
happened. Bad input is a 400 that changes nothing.
"""

from __future__ import annotations

import io
import math
from typing import Any

from aiohttp import web

from cluster.clock import MAX_ADVANCE_SECONDS
from cluster.cluster import Cluster
from cluster.config import ConfigError, free_node_name, parse_node_spec
from cluster.errors import illegal_argument, not_found
from cluster.node_report import node_report, nodes_report
from cluster.timevalue import parse_time_value
from cluster.traffic import profile_from_json

from .body import read_body
from .context import cluster_of
from .params import Query
from .responses import render, utf8

routes = web.RouteTableDef()

EVENT_FORMATS = ("json", "jsonl")


def add_routes(app: web.Application) -> None:
    app.add_routes(routes)


# -- nodes ------------------------------------------------------------------------------


@routes.get("/_sim/nodes")
async def get_nodes(request: web.Request) -> web.Response:
    Query(request)
    return render(request, {"nodes": nodes_report(cluster_of(request).state)})


@routes.post("/_sim/nodes")
async def add_node(request: web.Request) -> web.Response:
    Query(request)
    cluster = cluster_of(request)
    body = await read_body(request, "node", required=True)
    taken = [node.name for node in cluster.state.nodes.values()]
    try:
        spec = parse_node_spec(body.data, default_name=free_node_name(taken))
    except ConfigError as exc:
        raise illegal_argument(str(exc)) from None
    node_id = cluster.membership.join(spec)
    return render(request, node_report(cluster.state, node_id))


@routes.delete("/_sim/nodes/{node_id}")
async def remove_node(request: web.Request) -> web.Response:
    """Graceful shutdown: the node stays (leaving) until its routes have drained."""
    Query(request)
    cluster = cluster_of(request)
    node_id = request.match_info["node_id"]
    cluster.remove_node(node_id)
    state = "leaving" if node_id in cluster.state.nodes else "left"
    return render(request, {"acknowledged": True, "node_id": node_id, "state": state})


@routes.post("/_sim/nodes/{node_id}/_crash")
async def crash_node(request: web.Request) -> web.Response:
    Query(request)
    node_id = request.match_info["node_id"]
    cluster_of(request).crash_node(node_id)
    return render(request, {"acknowledged": True, "node_id": node_id, "state": "crashed"})


# -- clock ------------------------------------------------------------------------------


@routes.get("/_sim/clock")
async def get_clock(request: web.Request) -> web.Response:
    Query(request)
    return render(request, clock_view(cluster_of(request)))


@routes.post("/_sim/clock/_advance")
async def advance_clock(request: web.Request) -> web.Response:
    """Move simulated time forward by `seconds` (a number or a time value such as `30s`), at
    most a year; other requests are answered while it runs, this one when it is done."""
    Query(request)
    cluster = cluster_of(request)
    body = await read_body(request, "advance", required=True)
    body.check_known(["seconds"])
    raw = body.data.get("seconds")
    if raw is None:
        raise illegal_argument("[seconds] is required")
    if isinstance(raw, str):
        try:
            seconds = parse_time_value(raw, "seconds")
        except ValueError as exc:
            raise illegal_argument(str(exc)) from None
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        seconds = float(raw)
    else:
        raise body.field_error("seconds")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise illegal_argument(f"[seconds] must be a finite, non-negative number, got [{raw}]")
    if seconds > MAX_ADVANCE_SECONDS:
        raise illegal_argument(
            f"[seconds] must be at most [{MAX_ADVANCE_SECONDS}] (365 days) in one advance, got [{raw}]"
        )
    await cluster.clock.advance_in_slices(seconds)
    return render(request, clock_view(cluster))


def clock_view(cluster: Cluster) -> dict[str, Any]:
    clock = cluster.clock
    return {
        "now": clock.now,
        "epoch_millis": clock.millis(),
        "timestamp": clock.iso(),
        "mode": clock.mode,
        "speed": clock.speed,
    }


# -- traffic ----------------------------------------------------------------------------


@routes.post("/_sim/traffic/{deployment_id}")
async def add_traffic(request: web.Request) -> web.Response:
    """Drive a deployment with a traffic profile (the `cluster.traffic` kinds as JSON, times
    counted from now), on top of any it already has."""
    Query(request)
    cluster = cluster_of(request)
    deployment_id = request.match_info["deployment_id"]
    body = await read_body(request, "traffic", required=True)
    if deployment_id not in cluster.state.assignments:
        raise not_found(f"Could not find trained model deployment [{deployment_id}]")
    try:
        cluster.add_traffic(deployment_id, profile_from_json(body.data, cluster.now))
    except ValueError as exc:
        raise illegal_argument(str(exc)) from None
    return render(request, {"acknowledged": True, "deployment_id": deployment_id, "from": cluster.now, "profile": body.data})


@routes.delete("/_sim/traffic/{deployment_id}")
async def remove_traffic(request: web.Request) -> web.Response:
    """Stop every traffic profile on a deployment (requests drawn up to now are served)."""
    Query(request)
    cluster = cluster_of(request)
    deployment_id = request.match_info["deployment_id"]
    if deployment_id not in cluster.state.assignments:
        raise not_found(f"Could not find trained model deployment [{deployment_id}]")
    removed = cluster.remove_traffic(deployment_id)
    return render(request, {"acknowledged": True, "deployment_id": deployment_id, "removed_profiles": removed})


# -- events -----------------------------------------------------------------------------


@routes.get("/_sim/events")
async def get_events(request: web.Request) -> web.Response:
    """Events with sequence number ≥ `since`; `next` is where the following poll starts."""
    query = Query(request, ["since", "format"])
    since = query.int("since", 0)
    if since < 0:
        raise illegal_argument(f"[since] must not be negative, got [{since}]")
    fmt = query.str("format", "json")
    if fmt not in EVENT_FORMATS:
        raise illegal_argument(f"[format] must be one of {list(EVENT_FORMATS)}, got [{fmt}]")
    log = cluster_of(request).log
    if fmt == "jsonl":
        out = io.StringIO()
        log.write_jsonl(out, since)
        response = web.Response(body=utf8(out.getvalue()), content_type="application/x-ndjson")
        response.headers["X-Mlsim-Next"] = str(log.next_seq)
        return response
    return render(request, {"events": [e.to_dict() for e in log.since(since)], "next": log.next_seq})

"""`GET /_sim/rebalances`: each rebalance with its cause, simulated time, planner time,
allocations moved and when the deployments it changed were fully allocated again, read
back from the event log (`cluster.rebalances`)."""

from __future__ import annotations

from aiohttp import web

from cluster.errors import illegal_argument
from cluster.rebalances import rebalances

from .context import cluster_of
from .params import Query
from .responses import render

routes = web.RouteTableDef()


@routes.get("/_sim/rebalances")
async def get_rebalances(request: web.Request) -> web.Response:
    """Rebalances whose event has sequence number ≥ `since` (the events' numbering)."""
    query = Query(request, ["since"])
    since = query.int("since", 0)
    if since < 0:
        raise illegal_argument(f"[since] must not be negative, got [{since}]")
    log = cluster_of(request).log
    found = [r.to_dict() for r in rebalances(log) if r.seq >= since]
    return render(request, {"rebalances": found, "next": log.next_seq})

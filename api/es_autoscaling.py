"""Elasticsearch's autoscaling API: policies and `GET /_autoscaling/capacity`, answered by
the simulated `ml` decider (cluster.ml_autoscaling)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.errors import not_found

from .body import body_required, read_body
from .context import cluster_of
from .http_errors import parse_error
from .params import Query
from .responses import acknowledged, render

routes = web.RouteTableDef()

POLICY = "/_autoscaling/policy/{name}"
PARSER = "put_autocaling_policy_request"


@routes.get("/_autoscaling/capacity")
async def get_capacity(request: web.Request) -> web.Response:
    Query(request, ("master_timeout",)).time("master_timeout", 30.0)
    return render(request, cluster_of(request).ml_autoscaling.capacity())


@routes.put(POLICY)
async def put_policy(request: web.Request) -> web.Response:
    Query(request, ("master_timeout", "timeout")).time("timeout", 30.0)
    body = await read_body(request, PARSER, required=True)
    if body is None:
        raise body_required()
    body.check_known(("roles", "deciders"))
    roles = body.list("roles")
    if roles is not None and not all(isinstance(r, str) for r in roles):
        raise body.field_error("roles")
    deciders_body = body.object("deciders")
    deciders: dict[str, dict[str, Any]] | None = None
    if deciders_body is not None:
        deciders = {}
        for name, settings in deciders_body.items():
            if not isinstance(settings, dict):
                raise body.field_error("deciders")
            deciders[name] = _flatten(settings, "")
    cluster_of(request).ml_autoscaling.policies.put(request.match_info["name"], roles, deciders)
    return acknowledged(request)


@routes.get(POLICY)
async def get_policy(request: web.Request) -> web.Response:
    Query(request, ("master_timeout",))
    policy = cluster_of(request).ml_autoscaling.policies.get(request.match_info["name"])
    return render(request, policy.to_dict())


@routes.delete(POLICY)
async def delete_policy(request: web.Request) -> web.Response:
    Query(request, ("master_timeout", "timeout"))
    cluster_of(request).ml_autoscaling.policies.delete(request.match_info["name"])
    return acknowledged(request)


def _flatten(settings: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Settings objects nest into dotted keys, as `Settings.fromXContent` reads them."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list) or value is None:
            raise parse_error(f"[{PARSER}] failed to parse field [deciders]")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@routes.get("/_sim/autoscaling")
async def get_orchestrator(request: web.Request) -> web.Response:
    """The simulated orchestrator's bill so far: scale events, node-hours, GB-hours, cost."""
    Query(request)
    orchestrator = cluster_of(request).orchestrator
    if orchestrator is None:
        raise not_found("autoscaling is not configured: add an [autoscaling] key to the cluster file")
    return render(request, orchestrator.stats())

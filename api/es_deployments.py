"""Deployment lifecycle endpoints: start, stop, update, clear cache.

Start takes its settings from the query string and/or the body; a setting given in both
places must agree (ES's rule, including its quirk that `wait_for` is always compared, with
the query side defaulting to `started`).
"""

from __future__ import annotations

from typing import Any, Callable

from aiohttp import web

from cluster.assignment import format_cache_size
from cluster.errors import illegal_argument, status_error
from cluster.requests import (
    DEFAULT_QUEUE_CAPACITY,
    DEFAULT_START_TIMEOUT_SECONDS,
    PRIORITIES,
    WAIT_FOR_STATES,
    AdaptiveAllocations,
    StartRequest,
    UpdateRequest,
)
from cluster.timevalue import format_time_value

from .body import JsonBody, body_required, read_body
from .context import cluster_of
from .params import Query, parse_byte_size, parse_time, parse_int
from .responses import render

routes = web.RouteTableDef()

DEPLOYMENT = "/_ml/trained_models/{model_id}/deployment"
STOP_TIMEOUT_SECONDS = 30.0
START_QUERY = ("cache_size", "deployment_id", "number_of_allocations", "threads_per_allocation", "priority",
               "queue_capacity", "timeout", "wait_for")
START_BODY = (*START_QUERY, "model_id", "model_threads", "inference_threads", "adaptive_allocations")
ADAPTIVE_FIELDS = ("enabled", "min_number_of_allocations", "max_number_of_allocations")


def parse_adaptive(body: JsonBody) -> tuple[AdaptiveAllocations | None, frozenset[str]]:
    """`adaptive_allocations` from a body, and which of its fields were given."""
    raw = body.object("adaptive_allocations")
    if raw is None:
        return None, frozenset()
    settings = JsonBody(body.text, raw, "adaptive_allocations_settings")
    settings.check_known(ADAPTIVE_FIELDS)
    adaptive = AdaptiveAllocations(
        enabled=bool(settings.bool("enabled")),
        min_number_of_allocations=settings.int("min_number_of_allocations"),
        max_number_of_allocations=settings.int("max_number_of_allocations"),
    )
    return adaptive, frozenset(raw)


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise illegal_argument(f"Invalid [{name}] value [{value}]; expected one of [{', '.join(allowed)}]")
    return value


#: How each start setting is read from text, and shown back in the conflict message.
_START_SETTINGS: dict[str, tuple[Callable[[str, str], Any], Callable[[Any], str]]] = {
    "deployment_id": (lambda v, n: v, str),
    "number_of_allocations": (parse_int, str),
    "threads_per_allocation": (parse_int, str),
    "queue_capacity": (parse_int, str),
    "cache_size": (parse_byte_size, format_cache_size),
    "priority": (lambda v, n: _choice(v, n, PRIORITIES), str),
    "timeout": (parse_time, format_time_value),
    "wait_for": (lambda v, n: _choice(v, n, WAIT_FOR_STATES), str),
}


def _start_body(body: JsonBody | None, model_id: str) -> dict[str, Any]:
    if body is None:
        return {}
    body.check_known(START_BODY)
    given = body.str("model_id")
    if given is not None and given != model_id:
        raise status_error(
            400,
            f"Inconsistent model_id; '{given}' specified in the body differs from '{model_id}' specified as a URL "
            "argument",
        )
    values: dict[str, Any] = {}
    for name, alias in (("number_of_allocations", "model_threads"), ("threads_per_allocation", "inference_threads")):
        value = body.int(name) if name in body else body.int(alias)
        if value is not None:
            values[name] = value
    if "queue_capacity" in body:
        values["queue_capacity"] = body.int("queue_capacity")
    for name in ("deployment_id", "cache_size", "priority", "timeout", "wait_for"):
        text = body.str(name)
        if text is not None:
            parse, _ = _START_SETTINGS[name]
            try:
                values[name] = parse(text, name)
            except Exception:
                raise body.field_error(name) from None
    values["adaptive_allocations"], _ = parse_adaptive(body)
    return values


def _merge_query(query: Query, values: dict[str, Any]) -> dict[str, Any]:
    """Query settings over body settings; both given and different is a 400."""
    merged = dict(values)
    for name, (parse, show) in _START_SETTINGS.items():
        if not query.has(name) and name != "wait_for":
            continue
        from_query = parse(query.str(name, "started"), name)
        from_body = values.get(name)
        if from_body is not None and from_body != from_query:
            raise illegal_argument(
                f"The parameter {show(from_body)} in the body is different from the parameter {show(from_query)} "
                "in the query"
            )
        merged[name] = from_query
    return merged


@routes.post(DEPLOYMENT + "/_start")
async def start_deployment(request: web.Request) -> web.Response:
    query = Query(request, START_QUERY)
    model_id = request.match_info["model_id"]
    values = _merge_query(query, _start_body(await read_body(request, "start_trained_model_deployment"), model_id))
    start = StartRequest(
        model_id=model_id,
        deployment_id=values.get("deployment_id"),
        number_of_allocations=values.get("number_of_allocations"),
        threads_per_allocation=values.get("threads_per_allocation", 1),
        queue_capacity=values.get("queue_capacity", DEFAULT_QUEUE_CAPACITY),
        priority=values.get("priority", "normal"),
        cache_size=values.get("cache_size"),
        timeout=values.get("timeout", DEFAULT_START_TIMEOUT_SECONDS),
        wait_for=values["wait_for"],
        adaptive_allocations=values.get("adaptive_allocations"),
    )
    cluster = cluster_of(request)
    assignment = cluster.deployments.start(start)
    assignment = await cluster.deployments.wait_for_start(assignment.deployment_id, start.wait_for, start.timeout)
    return render(request, {"assignment": assignment.to_dict(cluster.clock.iso)})


@routes.post(DEPLOYMENT + "/_stop")
async def stop_deployment(request: web.Request) -> web.Response:
    query = Query(request, ("allow_no_match", "force"))
    body = await read_body(request, "stop_trained_model_deployment_request")
    allow_no_match, force = True, False
    if body is not None:
        body.check_known(("id", "model_id", "allow_no_match", "force"))
        allow_no_match = body.bool("allow_no_match") if body.bool("allow_no_match") is not None else True
        force = bool(body.bool("force"))
    allow_no_match = query.bool("allow_no_match", allow_no_match)
    force = query.bool("force", force)
    cluster = cluster_of(request)
    stopped = cluster.deployments.stop(request.match_info["model_id"], force=force, allow_no_match=allow_no_match)
    await cluster.clock.wait_until(cluster.deployments.stopped(stopped), STOP_TIMEOUT_SECONDS)
    return render(request, {"stopped": True})


@routes.post(DEPLOYMENT + "/_update")
async def update_deployment(request: web.Request) -> web.Response:
    query = Query(request, ("number_of_allocations",))
    deployment_id = request.match_info["model_id"]
    if query.has("number_of_allocations"):
        update = UpdateRequest(deployment_id, number_of_allocations=query.int("number_of_allocations"))
    else:
        body = await read_body(request, "update_trained_model_deployment_request", required=True)
        if body is None:
            raise body_required()
        body.check_known(("number_of_allocations", "adaptive_allocations", "model_id"))
        adaptive, fields = parse_adaptive(body)
        update = UpdateRequest(
            deployment_id,
            number_of_allocations=body.int("number_of_allocations"),
            adaptive_allocations=adaptive,
            adaptive_fields=fields,
            reset_adaptive="adaptive_allocations" in body and adaptive is None,
        )
    cluster = cluster_of(request)
    assignment = cluster.deployments.update(update)
    return render(request, {"assignment": assignment.to_dict(cluster.clock.iso)})


@routes.post(DEPLOYMENT + "/cache/_clear")
async def clear_cache(request: web.Request) -> web.Response:
    Query(request)
    cluster = cluster_of(request)
    cluster.serving.sync()
    cluster.deployments.clear_cache(request.match_info["model_id"])
    return render(request, {"cleared": True})

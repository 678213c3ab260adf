"""Trained model statistics, in the shape of Elasticsearch's `_stats` answer.

One entry per deployment (a model with no deployment gets one entry without
`deployment_stats`), while `count` counts models. Traffic counters are zero until the
simulation serves inference; the "only when > 0" fields are therefore left out.
"""

from __future__ import annotations

from typing import Any

import scheduler

from .assignment import FAILED_REASON, Assignment, format_cache_size
from .clock import SimClock
from .models import TrainedModel
from .node_info import node_summary
from .state import ClusterState


def required_native_memory(model: TrainedModel, assignment: Assignment | None) -> int:
    """ES's estimate for the model's allocations (1 when not deployed); 0 for analytics models."""
    if not model.is_pytorch:
        return 0
    allocations = assignment.params.number_of_allocations if assignment else 1
    return scheduler.estimate_memory_bytes(
        model.model_id,
        model.model_bytes,
        allocations,
        model.per_deployment_memory_bytes,
        model.per_allocation_memory_bytes,
    )


def pipeline_count(state: ClusterState, model_id: str) -> int:
    names = [model_id, *state.aliases_of(model_id)]
    return len({p for name in names for p in state.pipelines_referencing(name)})


def model_stats(state: ClusterState, clock: SimClock, models: list[TrainedModel]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for model in models:
        deployments = state.deployments_of(model.model_id)
        for assignment in deployments or [None]:
            entry: dict[str, Any] = {
                "model_id": model.model_id,
                "model_size_stats": {
                    "model_size_bytes": model.model_bytes,
                    "required_native_memory_bytes": required_native_memory(model, assignment),
                },
                "pipeline_count": pipeline_count(state, model.model_id),
                "inference_stats": {
                    "failure_count": 0,
                    "inference_count": 0,
                    "cache_miss_count": 0,
                    "missing_all_fields_count": 0,
                    "timestamp": clock.millis(),
                },
            }
            if assignment is not None:
                entry["deployment_stats"] = deployment_stats(state, clock, assignment)
            entries.append(entry)
    return entries


def deployment_stats(state: ClusterState, clock: SimClock, assignment: Assignment) -> dict[str, Any]:
    p = assignment.params
    failed = assignment.all_routes_failed
    body: dict[str, Any] = {
        "deployment_id": p.deployment_id,
        "model_id": p.model_id,
        "threads_per_allocation": p.threads_per_allocation,
        "number_of_allocations": p.number_of_allocations,
    }
    if assignment.adaptive_allocations is not None:
        body["adaptive_allocations"] = assignment.adaptive_allocations
    body["queue_capacity"] = p.queue_capacity
    body["state"] = "failed" if failed else assignment.state
    reason = FAILED_REASON if failed else assignment.reason
    if reason is not None:
        body["reason"] = reason
    if assignment.state in ("started", "starting"):
        body["allocation_status"] = assignment.allocation_status().to_dict()
    if p.cache_size is not None:
        body["cache_size"] = format_cache_size(p.cache_size)
    body["priority"] = p.priority
    body["start_time"] = clock.millis(assignment.start_time)
    body["peak_throughput_per_minute"] = 0
    body["nodes"] = [route_stats(state, clock, assignment, node_id) for node_id in sorted(assignment.routes)]
    return body


def route_stats(state: ClusterState, clock: SimClock, assignment: Assignment, node_id: str) -> dict[str, Any]:
    route = assignment.routes[node_id]
    routing_state: dict[str, Any] = {"routing_state": route.routing_state}
    if route.reason:
        routing_state["reason"] = route.reason
    body: dict[str, Any] = {"node": {node_id: node_summary(state, node_id)}, "routing_state": routing_state}
    if route.routing_state != "started":
        return {**body, "peak_throughput_per_minute": 0, "throughput_last_minute": 0}
    return {
        **body,
        "inference_count": 0,
        "inference_cache_hit_count": 0,
        "number_of_pending_requests": 0,
        "start_time": clock.millis(assignment.start_time),
        "threads_per_allocation": assignment.params.threads_per_allocation,
        "number_of_allocations": route.current_allocations,
        "peak_throughput_per_minute": 0,
        "throughput_last_minute": 0,
        "inference_cache_hit_count_last_minute": 0,
    }

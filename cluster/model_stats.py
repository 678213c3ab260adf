"""Trained model statistics, in the shape of Elasticsearch's `_stats` answer.

One entry per deployment (a model with no deployment gets one entry without
`deployment_stats`), while `count` counts models. Traffic counters are read from each
started route's inference queue (bring the queues to now first: `Serving.sync`); the
`ingest` section from the ingest counters of the pipelines that name the model.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import scheduler
from nodes.inference_queue import InferenceQueue, RouteStats

from .assignment import FAILED_REASON, Assignment, format_cache_size
from .clock import SimClock
from .inference import LocalStats, local_stats
from .ingest import IngestService
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


def model_pipelines(state: ClusterState, model_id: str) -> set[str]:
    """Pipelines naming the model or one of its aliases."""
    names = [model_id, *state.aliases_of(model_id)]
    return {p for name in names for p in state.pipelines_referencing(name)}


def pipeline_count(state: ClusterState, model_id: str) -> int:
    return len(model_pipelines(state, model_id))


def entry_pipelines(state: ClusterState, model_id: str, assignment: Assignment | None) -> set[str]:
    """The pipelines an entry counts: those naming its deployment id when there are any,
    else those naming the model or an alias (ES's TrainedModelStats builder)."""
    if assignment is not None and assignment.deployment_id != model_id:
        by_deployment = set(state.pipelines_referencing(assignment.deployment_id))
        if by_deployment:
            return by_deployment
    return model_pipelines(state, model_id)


def model_stats(
    state: ClusterState, clock: SimClock, models: list[TrainedModel], ingest: IngestService | None = None
) -> list[dict[str, Any]]:
    """The entries; the `ingest` section needs the cluster's ingest counters (`ingest`)."""
    entries: list[dict[str, Any]] = []
    for model in models:
        deployments = state.deployments_of(model.model_id)
        for assignment in deployments or [None]:
            pipelines = entry_pipelines(state, model.model_id, assignment)
            entry: dict[str, Any] = {
                "model_id": model.model_id,
                "model_size_stats": {
                    "model_size_bytes": model.model_bytes,
                    "required_native_memory_bytes": required_native_memory(model, assignment),
                },
                "pipeline_count": len(pipelines),
            }
            if pipelines and ingest is not None:
                entry["ingest"] = ingest.stats_for(sorted(pipelines))
            entry["inference_stats"] = inference_stats(state, clock, model, assignment)
            if assignment is not None:
                entry["deployment_stats"] = deployment_stats(state, clock, assignment)
            entries.append(entry)
    return entries


def inference_stats(
    state: ClusterState, clock: SimClock, model: TrainedModel, assignment: Assignment | None
) -> dict[str, Any]:
    """A deployment's overall counts (ES's AssignmentStats.getOverallInferenceStats):
    inferences on started routes, failures = errors + timeouts + rejections on all routes;
    the JVM model cache and missing-fields counts stay 0 for a deployment. Without a
    deployment: what the model answered in place (zeros for a model never used)."""
    if assignment is None:
        counts = asdict(local_stats(state).models.get(model.model_id) or LocalStats())
    else:
        counts = asdict(LocalStats())
        for node_id, route in assignment.routes.items():
            queue = _route_queue(state, assignment, node_id)
            if queue is None:
                continue
            s = queue.stats()
            if route.routing_state == "started":
                counts["inference_count"] += s.inference_count
            counts["failure_count"] += s.error_count + s.timeout_count + s.rejected_execution_count
    return {**counts, "timestamp": clock.millis()}


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
    counters = [s for n in sorted(assignment.routes) if (s := _started_route_counters(state, assignment, n))]
    for name in ("error_count", "rejected_execution_count", "timeout_count", "inference_count"):
        total = sum(getattr(s, name) for s in counters)
        if total > 0:
            body[name] = total
    body["peak_throughput_per_minute"] = sum(s.peak_throughput_per_minute for s in counters)
    body["nodes"] = [route_stats(state, clock, assignment, node_id) for node_id in sorted(assignment.routes)]
    return body


def _started_route_counters(state: ClusterState, assignment: Assignment, node_id: str) -> RouteStats | None:
    """The route's queue counters while it is started (others report no traffic)."""
    queue = _route_queue(state, assignment, node_id)
    if queue is None or assignment.routes[node_id].routing_state != "started":
        return None
    return queue.stats()


def _route_queue(state: ClusterState, assignment: Assignment, node_id: str) -> InferenceQueue | None:
    node = state.nodes.get(node_id)
    return node.queues.get(assignment.deployment_id) if node else None


def route_stats(state: ClusterState, clock: SimClock, assignment: Assignment, node_id: str) -> dict[str, Any]:
    route = assignment.routes[node_id]
    routing_state: dict[str, Any] = {"routing_state": route.routing_state}
    if route.reason:
        routing_state["reason"] = route.reason
    body: dict[str, Any] = {"node": {node_id: node_summary(state, node_id)}, "routing_state": routing_state}
    counters = _started_route_counters(state, assignment, node_id)
    if route.routing_state != "started":
        return {**body, "peak_throughput_per_minute": 0, "throughput_last_minute": 0}
    queue = _route_queue(state, assignment, node_id)
    start = queue.start_time if queue is not None else assignment.start_time
    return {**body, **_traffic_fields(clock, counters), "start_time": clock.millis(start),
            "threads_per_allocation": assignment.params.threads_per_allocation,
            "number_of_allocations": route.current_allocations,
            **_minute_fields(counters)}


def _traffic_fields(clock: SimClock, s: RouteStats | None) -> dict[str, Any]:
    """Counts up to `start_time` in the node entry; averages and failures only when > 0."""
    if s is None:
        return {"inference_count": 0, "inference_cache_hit_count": 0, "number_of_pending_requests": 0}
    body: dict[str, Any] = {"inference_count": s.inference_count}
    if s.average_inference_time_ms is not None:
        body["average_inference_time_ms"] = s.average_inference_time_ms
    if s.average_inference_time_ms_excluding_cache_hits is not None:
        body["average_inference_time_ms_excluding_cache_hits"] = s.average_inference_time_ms_excluding_cache_hits
    body["inference_cache_hit_count"] = s.inference_cache_hit_count
    if s.last_access is not None:
        body["last_access"] = clock.millis(s.last_access)
    body["number_of_pending_requests"] = s.number_of_pending_requests
    for name in ("error_count", "rejected_execution_count", "timeout_count"):
        if getattr(s, name) > 0:
            body[name] = getattr(s, name)
    return body


def _minute_fields(s: RouteStats | None) -> dict[str, Any]:
    if s is None:
        return {"peak_throughput_per_minute": 0, "throughput_last_minute": 0, "inference_cache_hit_count_last_minute": 0}
    body: dict[str, Any] = {
        "peak_throughput_per_minute": s.peak_throughput_per_minute,
        "throughput_last_minute": s.throughput_last_minute,
    }
    if s.average_inference_time_ms_last_minute is not None:
        body["average_inference_time_ms_last_minute"] = s.average_inference_time_ms_last_minute
    body["inference_cache_hit_count_last_minute"] = s.inference_cache_hit_count_last_minute
    return body

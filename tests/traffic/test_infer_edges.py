"""Edges of serving and adaptive allocations, as Elasticsearch behaves."""

from __future__ import annotations

import pytest

from cluster.adaptive import AdaptiveScaler, AdaptiveSettings
from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.requests import AdaptiveAllocations
from cluster.settings import ClusterSettings
from cluster.traffic import ConstantRate, Step
from nodes.service_model import InferenceProfile


def cluster_with(ms: float = 1000.0) -> Cluster:
    cluster = Cluster(ClusterSettings(inference_profile=InferenceProfile(ms, distribution="deterministic")), seed=7)
    cluster.add_node("ml-1", processors=8)
    cluster.add_pytorch_model("m", 10_000_000)
    return cluster


async def test_a_stopping_deployment_refuses_with_409() -> None:
    cluster = cluster_with()
    cluster.start_deployment("m", number_of_allocations=1)
    cluster.add_traffic("m", ConstantRate(2.0))  # keeps the queue busy, so the drain takes time
    cluster.advance(5.0)
    cluster.deployments.stop("m")
    with pytest.raises(MlError) as refused:
        await cluster.infer("m", [{"text_field": "x"}])
    assert (refused.value.status, refused.value.reason) == (409, "Trained model [m] is [stopping]")


async def test_a_stopping_route_without_a_process_is_not_allocated_not_a_full_queue() -> None:
    cluster = cluster_with()
    cluster.start_deployment("m", number_of_allocations=1, wait_for="starting")
    node = cluster.node_id("ml-1")
    cluster.remove_node(node)  # the route stops before its process ever started
    assert cluster.assignment("m").routes[node].routing_state == "stopping"
    with pytest.raises(MlError) as refused:
        await cluster.infer("m", [{"text_field": "x"}])
    assert refused.value.status == 409
    assert refused.value.reason == "Trained model deployment [m] is not allocated to any nodes"


def adaptive(cluster: Cluster, low: int, high: int) -> None:
    cluster.start_deployment(
        "m", adaptive_allocations=AdaptiveAllocations(True, low, high), number_of_allocations=None
    )


def test_a_deployment_scaled_to_zero_is_started_and_fully_allocated() -> None:
    cluster = cluster_with(50.0)
    adaptive(cluster, 0, 2)
    cluster.advance(cluster.settings.adaptive_scale_to_zero_seconds + 30.0)
    assignment = cluster.assignment("m")
    assert assignment.params.number_of_allocations == 0 and not assignment.routes
    assert assignment.state == "started"
    status = assignment.allocation_status()
    assert (status.allocation_count, status.target_allocation_count, status.state) == (0, 0, "fully_allocated")
    cluster.advance(600.0)  # ticks go on: nothing to scale without a route
    assert cluster.assignment("m").params.number_of_allocations == 0


def test_an_observed_scale_up_holds_off_scaling_down() -> None:
    scaler = AdaptiveScaler(AdaptiveSettings(1, 4, cooldown_seconds=300.0), 0.0)
    scaler.observe(10.0, 10.0, 0, 0, None)  # idle: one allocation is plenty
    assert scaler.decide(1000.0, 3) == 1
    assert scaler.decide(1000.0, 3, observed_scale_up=True) is None


def test_a_route_started_on_a_new_node_restarts_the_cooldown() -> None:
    cluster = cluster_with(50.0)
    adaptive(cluster, 1, 3)
    t = cluster.now
    cluster.add_traffic("m", Step(((t, 100.0), (t + 120.0, 1.0))))
    cluster.advance(60.0)
    assert cluster.assignment("m").params.number_of_allocations == 3
    scaled_up = next(e.time for e in cluster.log if e.kind == "deployment_updated")
    cluster.advance(t + 200.0 - cluster.now)
    cluster.crash_node(cluster.node_id("ml-1"))
    cluster.add_node("ml-2", processors=8)  # a fresh route starts here
    cluster.advance(scaled_up + cluster.settings.adaptive_cooldown_seconds + 60.0 - cluster.now)
    assert cluster.assignment("m").params.number_of_allocations == 3  # own cooldown over, the new route's not
    cluster.advance(400.0)
    assert cluster.assignment("m").params.number_of_allocations == 1

"""Traffic through the simulated cluster: route queues, stats, adaptive allocations."""

from __future__ import annotations

import math

import pytest

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.model_stats import model_stats
from cluster.requests import AdaptiveAllocations
from cluster.settings import ClusterSettings
from cluster.traffic import ConstantRate, Step
from nodes.service_model import InferenceProfile

MS = 100.0


def cluster_with(profile: InferenceProfile, **settings) -> Cluster:
    cluster = Cluster(ClusterSettings(inference_profile=profile, **settings), seed=7, clock="virtual")
    cluster.add_node("ml-1", processors=8)
    cluster.add_pytorch_model("m", 10_000_000)
    return cluster


def stats(cluster: Cluster) -> dict:
    cluster.serving.sync()
    return model_stats(cluster.state, cluster.clock, [cluster.state.models["m"]])[0]["deployment_stats"]


def test_constant_traffic_stats_equal_hand_computed_values() -> None:
    cluster = cluster_with(InferenceProfile(MS, distribution="deterministic"))
    cluster.start_deployment("m", number_of_allocations=1)
    t0 = math.ceil(cluster.now)  # rate 2/s: arrivals at k/2, one 100 ms inference each
    cluster.advance(t0 - cluster.now)
    route_start = cluster.serving.queue(cluster.node_id("ml-1"), "m").start_time
    cluster.add_traffic("m", ConstantRate(2.0))
    cluster.advance(150.0)
    body = stats(cluster)
    node = body["nodes"][0]
    assert body["inference_count"] == node["inference_count"] == 300
    assert node["average_inference_time_ms"] == pytest.approx(MS)
    assert node["average_inference_time_ms_excluding_cache_hits"] == pytest.approx(MS)
    assert node["number_of_pending_requests"] == 0
    assert node["last_access"] == cluster.clock.millis(t0 + 149.5 + MS / 1000)
    # whole minutes since the route started: the last finished one had 120 requests
    assert node["throughput_last_minute"] == 120
    assert body["peak_throughput_per_minute"] == node["peak_throughput_per_minute"] == 120
    assert node["average_inference_time_ms_last_minute"] == pytest.approx(MS)
    assert node["start_time"] == cluster.clock.millis(route_start)
    assert not {"error_count", "rejected_execution_count", "timeout_count"} & (body.keys() | node.keys())


async def test_infer_takes_its_latency_and_counts_and_caches() -> None:
    cluster = cluster_with(InferenceProfile(MS, distribution="deterministic"))
    cluster.start_deployment("m", number_of_allocations=1)
    before = cluster.now
    await cluster.infer("m", [{"text_field": "a"}])
    assert cluster.now - before == pytest.approx(MS / 1000, abs=1e-5)
    await cluster.infer("m", [{"text_field": "a"}])  # cache hit: answered at once
    node = stats(cluster)["nodes"][0]
    assert node["inference_count"] == 2 and node["inference_cache_hit_count"] == 1
    assert node["average_inference_time_ms"] == pytest.approx(MS / 2)
    assert node["average_inference_time_ms_excluding_cache_hits"] == pytest.approx(MS)


async def test_queue_full_and_timeout_through_infer() -> None:
    cluster = cluster_with(InferenceProfile(1000.0, distribution="deterministic"))
    cluster.start_deployment("m", number_of_allocations=1, queue_capacity=2, cache_size=0)
    cluster.add_traffic("m", ConstantRate(10.0))  # 10 s of work arrive per second
    cluster.advance(5.0)
    with pytest.raises(MlError) as full:
        await cluster.infer("m", [{"text_field": "x"}])
    assert full.value.status == 429 and "queue is full" in full.value.reason
    body = stats(cluster)
    assert body["rejected_execution_count"] == body["nodes"][0]["rejected_execution_count"] > 0


async def test_timeout_is_408_and_counted() -> None:
    cluster = cluster_with(InferenceProfile(1000.0, distribution="deterministic"))
    cluster.start_deployment("m", number_of_allocations=1, queue_capacity=100, cache_size=0)
    cluster.add_traffic("m", Step(((cluster.now, 3.0), (cluster.now + 2.0, 0.0))))
    cluster.advance(1.0)
    with pytest.raises(MlError) as late:
        await cluster.infer("m", [{"text_field": "x"}], timeout=0.5)
    assert late.value.status == 408 and late.value.reason == "timeout [500ms] waiting for inference result"
    assert stats(cluster)["timeout_count"] == 1


def test_graceful_stop_waits_for_pending_work() -> None:
    cluster = cluster_with(InferenceProfile(1000.0, distribution="deterministic"))
    cluster.start_deployment("m", number_of_allocations=1, queue_capacity=100)
    start = cluster.now
    cluster.add_traffic("m", Step(((start, 5.0), (start + 1.0, 0.0))))  # 5 s of work
    cluster.advance(1.0)
    cluster.deployments.stop("m")
    cluster.run_until(cluster.deployments.stopped(["m"]), 60.0)
    stopped_at = cluster.now
    assert stopped_at >= start + 5.0 + cluster.settings.timing.stop_seconds - 1e-9


def adaptive(cluster: Cluster, low: int, high: int) -> None:
    cluster.start_deployment(
        "m", adaptive_allocations=AdaptiveAllocations(True, low, high), number_of_allocations=None
    )


def test_adaptive_follows_a_step_up_and_down_with_bounds_and_cooldown() -> None:
    cluster = cluster_with(InferenceProfile(50.0, distribution="deterministic"))
    adaptive(cluster, 1, 3)
    t = cluster.now
    cluster.add_traffic("m", Step(((t, 100.0), (t + 120.0, 1.0))))  # load 5 busy allocations, then 0.05
    cluster.advance(60.0)
    assert cluster.assignment("m").params.number_of_allocations == 3  # capped by max
    cluster.advance(200.0)  # load dropped at +120, still inside the 5 min cooldown
    assert cluster.assignment("m").params.number_of_allocations == 3
    cluster.advance(200.0)
    assert cluster.assignment("m").params.number_of_allocations == 1  # never below min
    updates = [e for e in cluster.log if e.kind == "deployment_updated"]
    assert [e.fields["number_of_allocations"] for e in updates] == [3, 1]
    assert updates[1].time - updates[0].time >= cluster.settings.adaptive_cooldown_seconds


async def test_scale_to_zero_and_back_on_infer() -> None:
    cluster = cluster_with(InferenceProfile(50.0, distribution="deterministic"))
    adaptive(cluster, 0, 2)
    cluster.advance(cluster.settings.adaptive_scale_to_zero_seconds + 30.0)
    assert cluster.assignment("m").params.number_of_allocations == 0
    with pytest.raises(MlError) as woke:
        await cluster.infer("m", [{"text_field": "x"}])
    assert woke.value.status == 409 and woke.value.reason.endswith("; starting deployment of one allocation")
    assert cluster.assignment("m").params.number_of_allocations == 1
    cluster.run_until(cluster.fully_allocated("m"), 60.0)
    await cluster.infer("m", [{"text_field": "x"}])
    assert stats(cluster)["inference_count"] == 1

"""`_infer` requests in flight together arrive at the same simulated instant and share one
serving window; a request alone is served as before."""

from __future__ import annotations

import asyncio

import pytest

from cluster.cluster import Cluster
from cluster.settings import ClusterSettings
from nodes.service_model import InferenceProfile

SERVICE_SECONDS = 0.020


def cluster_with(allocations: int) -> Cluster:
    profile = InferenceProfile(SERVICE_SECONDS * 1000, distribution="deterministic", parallel_fraction=0.0)
    cluster = Cluster(ClusterSettings(inference_profile=profile), clock="virtual")
    cluster.add_node("ml-1", processors=8)
    cluster.add_pytorch_model("m", 10_000_000)
    cluster.start_deployment("m", number_of_allocations=allocations, cache_size=0)
    return cluster


def docs(text: str) -> list[dict]:
    return [{"text_field": text}]


async def test_concurrent_requests_run_side_by_side_on_two_allocations() -> None:
    cluster = cluster_with(2)
    before = cluster.now
    first, second = await asyncio.gather(cluster.infer("m", docs("one")), cluster.infer("m", docs("two")))
    assert first != second
    assert cluster.now - before == pytest.approx(SERVICE_SECONDS, abs=1e-5)  # not one after the other
    cluster.serving.sync()
    (queue,) = cluster.state.nodes[cluster.node_id("ml-1")].queues.values()
    assert queue.stats().inference_count == 2


async def test_concurrent_requests_queue_behind_each_other_on_one_allocation() -> None:
    cluster = cluster_with(1)
    before = cluster.now
    await asyncio.gather(*(cluster.infer("m", docs(f"doc {i}")) for i in range(3)))
    assert cluster.now - before == pytest.approx(3 * SERVICE_SECONDS, abs=1e-5)


async def test_a_request_alone_answers_after_its_own_service_time() -> None:
    cluster = cluster_with(2)
    for _ in range(2):
        before = cluster.now
        await cluster.infer("m", docs("alone"))
        assert cluster.now - before == pytest.approx(SERVICE_SECONDS, abs=1e-5)

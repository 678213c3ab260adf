"""`_infer` and `_stats` over HTTP against the route queues (virtual clock)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from cluster.cluster import Cluster
from cluster.traffic import ConstantRate

INFER = "/_ml/trained_models/m/_infer"


def deploy(cluster: Cluster, **options) -> None:
    cluster.add_node("ml-1", processors=8)
    cluster.add_pytorch_model("m", 10_000_000)
    cluster.start_deployment("m", number_of_allocations=1, **options)


async def test_queue_full_is_429_and_counted_in_stats(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster, queue_capacity=1, cache_size=0)
    cluster.add_traffic("m", ConstantRate(1000.0))  # 20 ms inferences: 20 times the capacity
    cluster.advance(1.0)
    response = await http.post(INFER, json={"docs": [{"text_field": "hi"}]})
    assert response.status == 429
    error = (await response.json())["error"]
    assert error["type"] == "status_exception"
    assert error["reason"] == "inference process queue is full. Unable to execute command"
    stats = (await (await http.get("/_ml/trained_models/m/_stats")).json())["trained_model_stats"][0]
    deployment = stats["deployment_stats"]
    assert deployment["rejected_execution_count"] == deployment["nodes"][0]["rejected_execution_count"] > 900


async def test_infer_over_http_advances_the_virtual_clock_and_counts(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster)
    before = cluster.now
    response = await http.post(INFER, json={"docs": [{"text_field": "hi"}]})
    assert response.status == 200
    assert cluster.now > before
    stats = (await (await http.get("/_ml/trained_models/m/_stats")).json())["trained_model_stats"][0]
    node = stats["deployment_stats"]["nodes"][0]
    assert stats["deployment_stats"]["inference_count"] == node["inference_count"] == 1
    assert node["average_inference_time_ms"] > 0 and node["last_access"] <= cluster.clock.millis()

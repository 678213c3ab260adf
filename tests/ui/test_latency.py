"""`GET /_sim/latency`: p50/p95/p99 per deployment from the served requests' latencies,
for the whole watch and for the last minute of simulated time."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from api.security.actions import action_of
from cluster.cluster import Cluster
from cluster.traffic import ConstantRate
from nodes.resources import MiB


@pytest.fixture
def cluster() -> Cluster:
    cluster = Cluster(clock="virtual")
    cluster.add_node("ml-1", memory_gb=32, processors=8)
    cluster.add_pytorch_model("m", 100 * MiB)
    cluster.start_deployment("m", number_of_allocations=1)
    return cluster


async def latency_of(http: TestClient) -> dict:
    response = await http.get("/_sim/latency")
    assert response.status == 200
    return await response.json()


async def test_percentiles_of_the_requests_served_since_the_watch_began(cluster: Cluster, http: TestClient) -> None:
    first = await latency_of(http)
    assert first["since"] == cluster.clock.millis()
    idle = first["deployments"]["m"]
    assert idle["total"]["requests"]["offered"] == 0 and idle["total"]["latency_ms"]["p99"] is None
    cluster.add_traffic("m", ConstantRate(20.0))
    cluster.advance(30.0)
    busy = (await latency_of(http))["deployments"]["m"]
    served = busy["total"]["requests"]["completed"]
    assert served == pytest.approx(600, abs=25) and busy["last_minute"]["requests"]["completed"] == served
    p50, p95, p99 = (busy["total"]["latency_ms"][f"p{q}"] for q in (50, 95, 99))
    assert 0 < p50 <= p95 <= p99
    # p99 is a bin edge at or above the slowest-but-one-percent request's latency.
    (stats,) = (await (await http.get("/_ml/trained_models/m/_stats")).json())["trained_model_stats"]
    assert p99 >= stats["deployment_stats"]["nodes"][0]["average_inference_time_ms"] * 0.98
    cluster.remove_traffic("m")
    cluster.advance(120.0)
    quiet = (await latency_of(http))["deployments"]["m"]
    assert quiet["total"]["requests"]["completed"] >= served and quiet["last_minute"]["requests"]["offered"] == 0
    assert quiet["last_minute"]["latency_ms"]["p99"] is None and quiet["total"]["latency_ms"]["p99"] == p99


async def test_it_is_a_monitor_action_and_the_page_starts_the_watch(cluster: Cluster, http: TestClient) -> None:
    assert action_of("GET", "/_sim/latency") == "cluster:monitor/mlsim/latency/get"
    cluster.advance(5.0)
    assert (await http.get("/_sim/ui")).status == 200
    cluster.advance(5.0)
    assert (await latency_of(http))["since"] == cluster.clock.millis() - 5000


async def test_requests_without_a_route_count_in_the_total(cluster: Cluster, http: TestClient) -> None:
    await latency_of(http)
    cluster.add_traffic("m", ConstantRate(10.0))
    (node_id,) = cluster.state.nodes
    assert (await http.post(f"/_sim/nodes/{node_id}/_crash")).status == 200
    cluster.advance(10.0)
    total = (await latency_of(http))["deployments"]["m"]["total"]["requests"]
    assert total["unrouted"] == pytest.approx(100, abs=2) and total["offered"] == total["unrouted"]

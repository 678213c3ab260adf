"""`_infer` and `_stats` over HTTP against the route queues (virtual clock)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from cluster.cluster import Cluster
from cluster.requests import StartRequest
from cluster.settings import ClusterSettings
from cluster.traffic import ConstantRate
from nodes.service_model import InferenceProfile

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


async def test_infer_in_the_realtime_clock_waits_out_its_latency() -> None:
    """Served by the app, whose realtime driver moves simulated time while the request waits."""
    latency = 200.0  # simulated ms; at speed 1000 a fifth of a wall millisecond
    realtime = Cluster(ClusterSettings(inference_profile=InferenceProfile(latency, distribution="deterministic")),
                       clock="realtime", speed=1000.0)
    realtime.add_node("ml-1", processors=8)
    realtime.add_pytorch_model("m", 10_000_000)
    realtime.deployments.start(StartRequest(model_id="m", number_of_allocations=1))
    realtime.advance(30.0)  # before the driver runs, time moves only on request
    assert realtime.assignment("m").state == "started"
    client = TestClient(TestServer(create_app(realtime)))
    await client.start_server()
    try:
        before, wall = realtime.now, time.monotonic()
        response = await asyncio.wait_for(client.post(INFER, json={"docs": [{"text_field": "hi"}]}), 10.0)
        assert response.status == 200
        assert len((await response.json())["inference_results"]) == 1
        assert realtime.now - before >= latency / 1000
        assert time.monotonic() - wall >= latency / 1000 / realtime.clock.speed  # waited, did not jump
        stats = await (await client.get("/_ml/trained_models/m/_stats")).json()
        node = stats["trained_model_stats"][0]["deployment_stats"]["nodes"][0]
        assert node["inference_count"] == 1
        assert node["average_inference_time_ms"] == pytest.approx(latency)
    finally:
        await client.close()


async def test_sim_traffic_attaches_a_profile_counted_from_now(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster)
    csv = "t\n0.5\n1.0\n1.5\n"  # three requests, half a second apart, from the call on
    response = await http.post("/_sim/traffic/m", json={"kind": "replay", "csv": csv, "column": "t"})
    assert response.status == 200
    body = await response.json()
    assert body["acknowledged"] is True and body["deployment_id"] == "m" and body["from"] == cluster.now
    await http.post("/_sim/clock/_advance", json={"seconds": "10s"})
    stats = (await (await http.get("/_ml/trained_models/m/_stats")).json())["trained_model_stats"][0]
    assert stats["deployment_stats"]["inference_count"] == 3
    response = await http.post("/_sim/traffic/m", json={"kind": "poisson", "rate": 50})
    assert response.status == 200
    await http.post("/_sim/clock/_advance", json={"seconds": 60})
    stats = (await (await http.get("/_ml/trained_models/m/_stats")).json())["trained_model_stats"][0]
    assert 2_500 < stats["deployment_stats"]["inference_count"] < 3_500


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"kind": "burst", "rate": 5}, "[kind] must be one of ['constant', 'poisson', 'step', 'diurnal', 'replay'], got [burst]"),
        ({"kind": "poisson", "rate": -1}, "rate [-1.0] must be a finite non-negative number"),
        ({"kind": "poisson", "rate": "fast"}, "[rate] must hold finite numbers, got [fast]"),
        ({"kind": "poisson"}, "[rate] is required"),
        ({"kind": "constant", "rate": 1, "burst": 2}, "unknown field [burst] for a [constant] profile"),
        ({"kind": "step", "steps": [[10, 1], [5, 2]]}, "[steps] must be a non-empty list of (time, rate) with increasing times"),
        ({"kind": "diurnal", "mean_rate": 5, "amplitude": 2}, "[amplitude] must be in [0, 1]"),
        ({"kind": "replay", "times": [2, 1]}, "[times] must be sorted"),
        ({"kind": "replay", "csv": "t\nsoon\n", "column": "t"}, "line 2: [soon] is not a number of seconds"),
        ({"kind": "replay"}, "a [replay] profile needs exactly one of [times] and [csv]"),
    ],
)
async def test_sim_traffic_refuses_bad_profiles_and_changes_nothing(cluster: Cluster, http: TestClient, body, reason) -> None:
    deploy(cluster)
    before = (cluster.now, cluster.log.next_seq)
    response = await http.post("/_sim/traffic/m", json=body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["type"], error["reason"]) == ("illegal_argument_exception", reason)
    assert (cluster.now, cluster.log.next_seq) == before and not cluster.serving.has_traffic


async def test_sim_traffic_needs_a_deployment_and_a_body(cluster: Cluster, http: TestClient) -> None:
    deploy(cluster)
    missing = await http.post("/_sim/traffic/nope", json={"kind": "poisson", "rate": 1})
    assert missing.status == 404
    assert (await missing.json())["error"]["reason"] == "Could not find trained model deployment [nope]"
    assert (await http.post("/_sim/traffic/m")).status == 400
    assert not cluster.serving.has_traffic

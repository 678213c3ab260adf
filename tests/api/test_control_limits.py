"""The control plane is bounded and never stalls the loop: advance and traffic limits with
400s that name them, DELETE of a deployment's traffic, and other requests answered while a
long advance runs."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from aiohttp.test_utils import TestClient

from cluster.clock import MAX_ADVANCE_SECONDS, MAX_SPEED
from cluster.cluster import Cluster
from cluster.demo import build_demo
from cluster.opensearch.demo import build_opensearch_demo
from cluster import traffic
from cluster.traffic import MAX_RATE, MAX_REPLAY_TIMES

from .test_es_traffic import deploy

ADVANCE = "/_sim/clock/_advance"
#: Simulated days the stall test advances (30 in the README's measurement).
STALL_DAYS = float(os.environ.get("MLSIM_STALL_DAYS", "3"))


async def reason_of(response) -> tuple[str, str]:
    error = (await response.json())["error"]
    return error["type"], error["reason"]


@pytest.mark.parametrize("seconds", [1e308, MAX_ADVANCE_SECONDS + 1, "400d"])
async def test_an_advance_over_a_year_is_refused_naming_the_limit(http: TestClient, cluster: Cluster, seconds) -> None:
    response = await http.post(ADVANCE, json={"seconds": seconds})
    assert response.status == 400
    kind, reason = await reason_of(response)
    assert kind == "illegal_argument_exception"
    assert reason.startswith(f"[seconds] must be at most [{MAX_ADVANCE_SECONDS}] (365 days) in one advance")
    assert cluster.now == 0


async def test_an_advance_of_exactly_a_year_runs(http: TestClient, cluster: Cluster) -> None:
    response = await http.post(ADVANCE, json={"seconds": MAX_ADVANCE_SECONDS})
    assert response.status == 200 and cluster.now == MAX_ADVANCE_SECONDS


def test_realtime_speed_is_bounded() -> None:
    with pytest.raises(ValueError, match=r"at most \[100000\]"):
        Cluster(clock="realtime", speed=MAX_SPEED * 10)


async def test_a_traffic_rate_over_the_limit_is_refused_and_nothing_changes(http: TestClient, cluster: Cluster) -> None:
    deploy(cluster)
    response = await http.post("/_sim/traffic/m", json={"kind": "poisson", "rate": 1e9})
    assert response.status == 400
    assert await reason_of(response) == (
        "illegal_argument_exception",
        f"the deployment's traffic would peak at [1e+09] requests per second; the limit is [{MAX_RATE:g}] per deployment",
    )
    assert not cluster.serving.has_traffic
    assert (await http.get("/_ml/trained_models/m/_stats")).status == 200


async def test_the_rate_limit_counts_every_profile_on_the_deployment(http: TestClient, cluster: Cluster) -> None:
    deploy(cluster)
    half = {"kind": "diurnal", "mean_rate": MAX_RATE / 4, "amplitude": 1.0}  # peaks at half the limit
    assert (await http.post("/_sim/traffic/m", json=half)).status == 200
    assert (await http.post("/_sim/traffic/m", json=half)).status == 200
    response = await http.post("/_sim/traffic/m", json={"kind": "step", "steps": [[0, 0], [60, 1]]})
    assert response.status == 400 and "the limit is [100000]" in (await reason_of(response))[1]


def test_the_replay_limit_is_a_million_timestamps() -> None:
    assert MAX_REPLAY_TIMES == 1_000_000


async def test_a_replay_over_the_limit_is_refused(http: TestClient, cluster: Cluster, monkeypatch) -> None:
    monkeypatch.setattr(traffic, "MAX_REPLAY_TIMES", 1_000)  # the check, on a body quick to send
    deploy(cluster)
    response = await http.post("/_sim/traffic/m", json={"kind": "replay", "times": [0] * 1_001})
    assert response.status == 400
    assert (await reason_of(response))[1] == "a replay holds at most [1000] timestamps, got [1001]"
    csv = "t\n" + "0\n" * 1_001
    response = await http.post("/_sim/traffic/m", json={"kind": "replay", "csv": csv, "column": "t"})
    assert response.status == 400 and "at most [1000] timestamps, got [1001]" in (await reason_of(response))[1]
    assert not cluster.serving.has_traffic
    ok = await http.post("/_sim/traffic/m", json={"kind": "replay", "times": [0] * 1_000})
    assert ok.status == 200


async def test_delete_traffic_stops_it(http: TestClient, cluster: Cluster) -> None:
    deploy(cluster)
    await http.post("/_sim/traffic/m", json={"kind": "constant", "rate": 10})
    await http.post("/_sim/traffic/m", json={"kind": "poisson", "rate": 5})
    await http.post(ADVANCE, json={"seconds": 10})
    response = await http.delete("/_sim/traffic/m")
    assert response.status == 200
    assert await response.json() == {"acknowledged": True, "deployment_id": "m", "removed_profiles": 2}
    counted = (await (await http.get("/_ml/trained_models/m/_stats")).json())["trained_model_stats"][0]
    await http.post(ADVANCE, json={"seconds": 60})
    later = (await (await http.get("/_ml/trained_models/m/_stats")).json())["trained_model_stats"][0]
    assert counted["deployment_stats"]["inference_count"] >= 100
    assert later["deployment_stats"]["inference_count"] == counted["deployment_stats"]["inference_count"]
    again = await http.delete("/_sim/traffic/m")
    assert (await again.json())["removed_profiles"] == 0


async def test_delete_traffic_of_an_unknown_deployment_is_404(http: TestClient, cluster: Cluster) -> None:
    response = await http.delete("/_sim/traffic/nope")
    assert response.status == 404
    assert await reason_of(response) == ("resource_not_found_exception", "Could not find trained model deployment [nope]")


# -- the loop during a long advance -------------------------------------------------------


@pytest.fixture
def demo() -> Cluster:
    cluster = Cluster(clock="virtual")
    build_demo(cluster)
    build_opensearch_demo(cluster.ml_commons)
    return cluster


@pytest.fixture
def cluster(request) -> Cluster:
    """The demo world for the stall test (its sync-up ticks make a long advance heavy),
    a bare cluster otherwise."""
    if "stall" in request.node.name:
        return request.getfixturevalue("demo")
    return Cluster(clock="virtual")


async def test_gets_are_answered_while_a_long_advance_stalls_nothing(http: TestClient, cluster: Cluster) -> None:
    seconds = STALL_DAYS * 86_400
    start = cluster.now
    advance = asyncio.create_task(http.post(ADVANCE, json={"seconds": seconds}))
    latencies: list[float] = []
    times_seen: list[float] = []
    while not advance.done():
        started = time.perf_counter()
        response = await http.get("/_sim/clock")
        latencies.append(time.perf_counter() - started)
        times_seen.append((await response.json())["now"])
    response = await advance
    assert response.status == 200 and (await response.json())["now"] == start + seconds == cluster.now
    assert len(latencies) >= 3, "GETs were answered while the advance ran"
    assert start < times_seen[1] < start + seconds, "they saw time in the middle of the advance"
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    median = latencies[len(latencies) // 2]
    print(f"\n{STALL_DAYS:g}-day advance: {len(latencies)} GETs answered meanwhile, median {median * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")

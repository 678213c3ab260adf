"""`GET /_autoscaling/capacity` through the official client, against values computed by hand
from the ML decider's rules (cluster/README.md "Autoscaling").

Hand arithmetic, auto machine-memory percent, sizes in MiB:
- a deployment's memory is 240 + 2 × model (one allocation, default cache);
- the decider wants native = memory + 30 (per-node code overhead) on one node;
- node size for native n: n + JVM + 200, the JVM the largest 4 MiB multiple of 2/3 of
  (n + 200) unless the next lower multiple is already the heap of that smaller node
  (heap = 40 % of node size rounded down to 4 MiB below 16 GiB).
"""

from __future__ import annotations

import pytest
from elasticsearch import AsyncElasticsearch

from cluster.cluster import Cluster
from cluster.requests import StartRequest
from cluster.settings import ClusterSettings
from nodes.resources import GiB
from scheduler.memory import MiB

from .conftest import ML_ROLES, add_model, auto_cluster, client

pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.exceptions.GeneralAvailabilityWarning")

POLICY = {"roles": ML_ROLES, "deciders": {"ml": {"down_scale_delay": "1h"}}}


def start(cluster: Cluster, model_id: str, allocations: int = 1, threads: int = 1, deployment_id: str | None = None):
    request = StartRequest(
        model_id=model_id, deployment_id=deployment_id or model_id, number_of_allocations=allocations,
        threads_per_allocation=threads, wait_for="starting", timeout=1,
    )
    return cluster.deployments.start(request)


async def capacity(es: AsyncElasticsearch) -> dict:
    return (await es.autoscaling.get_autoscaling_capacity()).body["policies"]["ml"]


def resources(node_memory: int, node_cpu: float, total_memory: int, total_cpu: float) -> dict:
    return {"node": {"memory": node_memory, "processors": node_cpu}, "total": {"memory": total_memory, "processors": total_cpu}}


async def test_no_ml_nodes_and_one_waiting_deployment() -> None:
    cluster = auto_cluster(max_lazy_ml_nodes=1)
    add_model(cluster, "e5", 500)
    assert start(cluster, "e5").routes == {}  # waits for a node
    # memory 240 + 2*500 = 1240; native 1270; (1270+200)*2/3 = 980 -> 980, lower 976 is the
    # heap of a 1270+200+976 = 2446 MiB node (40 % = 978.4 -> 976), so JVM 976: node 2446 MiB
    expected = resources(2446 * MiB, 1.0, 2446 * MiB, 1.0)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy=POLICY)
        body = await capacity(es)
    assert body["required_capacity"] == expected
    assert body["current_capacity"] == {
        "node": {"storage": 0, "memory": 0, "processors": 0.0}, "total": {"storage": 0, "memory": 0, "processors": 0.0}
    }
    assert body["current_nodes"] == []
    ml = body["deciders"]["ml"]
    assert ml["required_capacity"] == expected
    assert ml["reason_summary"] == (
        "[memory_decider] requesting scale up as number of jobs in queues exceeded configured limit and there are "
        "no machine learning nodes; [processor_decider] requesting scale up as there are unsatisfied deployments"
    )
    details = ml["reason_details"]
    assert details["waiting_models"] == ["e5"]
    assert details["configuration"] == {"down_scale_delay": "1h"}
    assert details["perceived_current_capacity"] == resources(0, 0.0, 0, 0.0)
    assert details["reason"] == ml["reason_summary"]


async def test_no_ml_nodes_percent_mode_is_ceil_of_native_over_percent() -> None:
    cluster = Cluster(ClusterSettings(max_lazy_ml_nodes=1), clock="virtual")
    add_model(cluster, "e5", 500)
    start(cluster, "e5")
    # xpack.ml.max_machine_memory_percent 30: ceil(100/30 * 1270 MiB)
    node = -(-1270 * MiB * 100 // 30)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy=POLICY)
        assert (await capacity(es))["required_capacity"]["node"]["memory"] == node


async def test_a_deployment_too_big_for_the_current_node_size() -> None:
    cluster = auto_cluster()
    cluster.add_node("ml-1", memory_gb=4, processors=2)
    add_model(cluster, "big", 1500)
    assert start(cluster, "big").routes == {}  # 3240 MiB > the node's 2260 - 30
    # 4 GiB node: heap 1636, ML memory 4096 - 1636 - 200 = 2260, excluding overhead 2230.
    # current scale (2230, 2230) less the most free memory (2230) plus the waiting 3240:
    # tier 3240, node 3240 -> native 3270; (3270+200)*2/3 -> 2312, lower 2308 is the heap of
    # a 3470 + 2308 = 5778 MiB node (2311.2 -> 2308): node = tier = 5778 MiB
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy=POLICY)
        body = await capacity(es)
    assert body["required_capacity"] == resources(5778 * MiB, 1.0, 5778 * MiB, 1.0)
    assert body["current_capacity"] == {
        "node": {"storage": 0, "memory": 4 * GiB, "processors": 2.0},
        "total": {"storage": 0, "memory": 4 * GiB, "processors": 2.0},
    }
    assert body["current_nodes"] == [{"name": "ml-1"}]
    details = body["deciders"]["ml"]["reason_details"]
    # perceived: native 2230 + 30 with the node's own heap 1636 + 200 = 4096 MiB
    assert details["perceived_current_capacity"] == resources(4 * GiB, 2.0, 4 * GiB, 2.0)
    assert details["waiting_models"] == ["big"]
    assert body["deciders"]["ml"]["reason_summary"].startswith(
        "[memory_decider] requesting scale up as number of jobs in queues exceeded configured limit or there is "
        "at least one trained model waiting for assignment and current capacity is not large enough"
    )


async def test_several_deployments_needing_more_total_processors() -> None:
    cluster = auto_cluster()
    cluster.add_node("ml-1", memory_gb=16, processors=4)
    for model_id in ("a", "b", "c"):
        add_model(cluster, model_id, 100)
    start(cluster, "a", allocations=2)
    start(cluster, "b", threads=2)
    assert start(cluster, "c", allocations=2).routes == {}  # the 4 cores are taken
    assert cluster.run_until(cluster.fully_allocated("a", "b"), 600)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy=POLICY)
        body = await capacity(es)
    # memory: everything fits, so the current 16 GiB; processors: the largest
    # threads_per_allocation (2) per node, 2×1 + 1×2 + 2×1 = 6 for the tier
    assert body["required_capacity"] == resources(16 * GiB, 2.0, 16 * GiB, 6.0)
    assert body["deciders"]["ml"]["reason_summary"] == (
        "[memory_decider] Passing currently perceived capacity as there are [0] model snapshot upgrades, "
        "[0] analytics and [0] anomaly detection jobs in the queue, [1] trained models not fully-allocated, but "
        "the number in the queue is less than the configured maximum allowed or the queued jobs will eventually "
        "be assignable at the current size.; [processor_decider] requesting scale up as there are unsatisfied "
        "deployments"
    )


async def test_scale_down_after_the_delay() -> None:
    cluster = auto_cluster()
    cluster.add_node("ml-1", memory_gb=16, processors=4)
    add_model(cluster, "small", 200)
    start(cluster, "small")
    cluster.run_until(cluster.fully_allocated("small"), 600)
    detected_ms = cluster.clock.millis()
    detected = cluster.clock.iso()[:23] + "Z"
    current = resources(16 * GiB, 4.0, 16 * GiB, 4.0)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy=POLICY)
        first = await capacity(es)
        cluster.advance(1800)
        half = await capacity(es)
        cluster.advance(1800)
        due = await capacity(es)
    waiting = (
        "Passing currently perceived capacity as down scale delay has not been satisfied; configured delay [1h] "
        f"last detected scale down event [{detected}]. Will request scale down in approximately [{{}}ms]"
    )
    assert first["required_capacity"] == current
    assert first["deciders"]["ml"]["reason_summary"] == (
        f"[memory_decider] {waiting.format(3_600_000)}; [processor_decider] {waiting.format(3_600_000)}"
    )
    assert half["required_capacity"] == current
    assert f"[{3_600_000 - 1_800_000}ms]" in half["deciders"]["ml"]["reason_summary"]
    assert cluster.clock.millis() - detected_ms == 3_600_000
    # memory 240 + 400 = 640 is both the tier's need and the largest job: native 670,
    # (670+200)*2/3 = 580, lower 576 is the heap of a 870 + 576 = 1446 MiB node (578.4 -> 576)
    assert due["required_capacity"] == resources(1446 * MiB, 1.0, 1446 * MiB, 1.0)
    assert due["deciders"]["ml"]["reason_summary"] == (
        "[memory_decider] Requesting scale down as tier and/or node size could be smaller; "
        "[processor_decider] requesting scale down as tier and/or node size could be smaller"
    )


async def test_scale_to_zero_after_the_delay_when_nothing_is_deployed() -> None:
    cluster = auto_cluster()
    cluster.add_node("ml-1", memory_gb=8, processors=2)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(
            name="ml", policy={"roles": ML_ROLES, "deciders": {"ml": {"down_scale_delay": "10m"}}}
        )
        first = await capacity(es)
        cluster.advance(600)
        due = await capacity(es)
    assert first["required_capacity"]["node"]["memory"] == 8 * GiB
    assert "configured delay [10m]" in first["deciders"]["ml"]["reason_summary"]
    zero = {"storage": 0, "memory": 0, "processors": 0.0}
    assert due["required_capacity"] == {"node": zero, "total": zero}
    assert due["deciders"]["ml"]["reason_details"]["required_capacity"] == {"node": zero, "total": zero}
    assert due["deciders"]["ml"]["reason_summary"] == "Requesting scale down as tier and/or node size could be smaller"


async def test_a_waiting_deployment_resets_the_down_scale_timer() -> None:
    cluster = auto_cluster()
    cluster.add_node("ml-1", memory_gb=16, processors=4)
    add_model(cluster, "small", 200)
    add_model(cluster, "huge", 6000)
    start(cluster, "small")
    cluster.run_until(cluster.fully_allocated("small"), 600)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy=POLICY)
        await capacity(es)  # scale down detected now
        cluster.advance(3000)
        start(cluster, "huge")
        up = await capacity(es)
        await es.ml.stop_trained_model_deployment(model_id="huge")
        cluster.advance(1200)
        after = await capacity(es)
    assert "requesting scale up" in up["deciders"]["ml"]["reason_summary"]
    # the delay counts again from the first check after the scale up, not from the first one
    assert "[3600000ms]" in after["deciders"]["ml"]["reason_summary"]


async def test_other_ml_jobs_on_a_node_count_as_an_assigned_job() -> None:
    cluster = auto_cluster()
    cluster.add_node("ml-1", memory_gb=16, processors=4, other_ml_memory_bytes=3 * GiB)
    async with client(cluster) as es:
        await es.autoscaling.put_autoscaling_policy(name="ml", policy=POLICY)
        first = await capacity(es)
        cluster.advance(3600)
        due = await capacity(es)
    # not "no ML work" (that would be a scale to zero): the job keeps the tier, delay first
    assert "down scale delay has not been satisfied" in first["deciders"]["ml"]["reason_summary"]
    # the job (3072 MiB) is the tier's need and the largest job: native 3102,
    # (3102+200)*2/3 = 2201.3 -> 2200, lower 2196 is the heap of a 5498 MiB node: 5498 MiB
    assert due["required_capacity"] == resources(5498 * MiB, 0.0, 5498 * MiB, 0.0)

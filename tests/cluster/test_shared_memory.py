"""Elasticsearch deployments and OpenSearch ml-commons models share each node's model memory."""

from __future__ import annotations

import json

import pytest

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.requests import StartRequest
from nodes.resources import GiB
from scheduler.memory import MiB
from tests.opensearch.deploy_support import BREAKER, LOAD_SECONDS, MODEL_MEMORY, local_model, model, task


@pytest.fixture
def one_node() -> tuple[Cluster, str]:
    cluster = Cluster(clock="virtual")
    return cluster, cluster.add_node("ml-1", memory_gb=16)


def test_an_ml_commons_model_shrinks_what_elasticsearch_may_place(one_node):
    cluster, node = one_node
    pool = cluster.state.model_memory_pool(node)
    local_model(cluster, "big", size=3_000_000_000)  # 3.6 GB estimate of a 4.77 GiB pool
    cluster.ml_commons.deployer.deploy("big")
    assert cluster.state.usage(node).free_memory == pool - 3_600_000_000  # held from the start of the load
    (plan_node,) = cluster.state.plan_nodes()
    assert plan_node.memory_bytes == pool - 3_600_000_000

    cluster.add_pytorch_model("es-model", 1 * GiB)  # needs 240 MiB + 2 GiB
    with pytest.raises(MlError) as refused:
        cluster.start_deployment("es-model")
    assert (refused.value.status, refused.value.reason) == (
        429, "Could not start deployment because no ML nodes with sufficient capacity were found",
    )
    assert "es-model" not in cluster.state.assignments

    cluster.advance(40)  # loaded (3 GB at 100 MiB/s)
    cluster.ml_commons.deployer.undeploy(["big"])
    assert cluster.state.usage(node).free_memory == pool - 3_600_000_000  # until the node process stops
    cluster.advance(0.5)
    assert cluster.state.usage(node).free_memory == pool
    assignment = cluster.start_deployment("es-model")
    assert assignment.routes[node].routing_state == "started"


def test_elasticsearch_deployments_trip_the_native_memory_breaker(one_node):
    cluster, node = one_node
    cluster.ml_commons.settings.jvm_heap_memory_threshold = 100  # off: the heap breaker would trip first
    cluster.add_pytorch_model("es-model", 2 * GiB)  # 240 MiB + 4 GiB of 4.77 GiB
    cluster.start_deployment("es-model")
    local_model(cluster, "embedder")

    answer = cluster.ml_commons.deployer.deploy("embedder")
    assert answer["status"] == "CREATED"
    done = task(cluster, answer["task_id"])
    assert (done["state"], json.loads(done["error"])) == ("FAILED", {node: BREAKER})
    assert model(cluster, "embedder")["model_state"] == "DEPLOY_FAILED"
    assert cluster.ml_commons.deployer.memory_on(node) == 0
    assert cluster.ml_commons.stats.node_counter(node, "ml_circuit_breaker_trigger_count") == 1

    cluster.deployments.stop("es-model")
    cluster.advance(1)
    answer = cluster.ml_commons.deployer.deploy("embedder")
    cluster.advance(LOAD_SECONDS)
    assert task(cluster, answer["task_id"])["state"] == "COMPLETED"
    assert cluster.ml_commons.deployer.memory_on(node) == MODEL_MEMORY


def test_the_breaker_threshold_is_a_share_of_the_pool(one_node):
    cluster, node = one_node
    pool = cluster.state.model_memory_pool(node)
    size = int(pool * 0.8 / 1.2)  # an estimate of 80 % of the pool
    local_model(cluster, "m", size=size)
    cluster.ml_commons.settings.native_memory_threshold = 75
    assert task(cluster, cluster.ml_commons.deployer.deploy("m")["task_id"])["state"] == "FAILED"
    cluster.ml_commons.settings.native_memory_threshold = 90
    answer = cluster.ml_commons.deployer.deploy("m")
    assert task(cluster, answer["task_id"])["state"] == "RUNNING"


def test_memory_returns_to_elasticsearch_when_a_load_fails(one_node):
    cluster, node = one_node
    cluster.state.nodes[node].inject_load_failure("corrupt model")
    local_model(cluster, "m")
    answer = cluster.ml_commons.deployer.deploy("m")
    assert cluster.ml_commons.deployer.memory_on(node) == MODEL_MEMORY
    cluster.advance(LOAD_SECONDS)
    assert json.loads(task(cluster, answer["task_id"])["error"]) == {node: "corrupt model"}
    assert cluster.state.deployment_memory(node) == cluster.state.model_memory_pool(node)


def test_a_waiting_elasticsearch_start_is_placed_when_ml_commons_frees_memory():
    from cluster.settings import ClusterSettings

    cluster = Cluster(ClusterSettings(max_lazy_ml_nodes=5), clock="virtual")
    node = cluster.add_node("ml-1", memory_gb=16)
    local_model(cluster, "big", size=3_000_000_000)
    cluster.ml_commons.deployer.deploy("big")
    cluster.advance(40)
    cluster.add_pytorch_model("es-model", 1 * GiB)
    assignment = cluster.deployments.start(StartRequest("es-model"))
    assert assignment.routes == {}  # waits for capacity (a lazy node could come)

    cluster.ml_commons.deployer.undeploy(["big"])
    cluster.advance(1)
    assert cluster.assignment("es-model").routes[node].routing_state in ("starting", "started")


def test_ml_commons_routes_never_reach_the_master_or_open_a_queue(one_node):
    cluster, node = one_node
    local_model(cluster, "m")
    cluster.ml_commons.deployer.deploy("m")
    cluster.advance(LOAD_SECONDS)
    assert cluster.state.assignments == {}
    assert cluster.state.nodes[node].queues == {}
    assert not [e for e in cluster.log if e.kind.startswith(("routing_state", "route_"))]


def test_a_cluster_without_ml_commons_models_keeps_no_endless_events():
    cluster = Cluster(seed=3)
    cluster.add_node("ml-1")
    cluster.add_pytorch_model("es-model", 100 * MiB)
    cluster.start_deployment("es-model")
    cluster.env.run()  # returns: nothing is scheduled for ever
    assert not [e for e in cluster.log if e.kind.startswith("os_")]

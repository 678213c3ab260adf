"""The profile and stats APIs over what deploys, undeploys and predicts left on the nodes."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from cluster.cluster import Cluster

from .deploy_support import BREAKER, LOAD_SECONDS, MODEL_MEMORY, local_model, remote_model


@pytest.fixture
def nodes(cluster: Cluster) -> list[str]:
    return list(cluster.state.nodes)


@pytest.fixture
def deployed(cluster: Cluster, nodes: list[str]) -> str:
    """m1 loaded on ml-1 only (a custom plan), so ml-2 knows it from the routing table alone."""
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1", [nodes[0]])
    cluster.advance(LOAD_SECONDS)
    return "m1"


# -- profile ---------------------------------------------------------------------------


async def test_node_view_shows_each_nodes_cache(cluster, client, nodes, deployed):
    body = await client.plugins.ml.get_profile_models()
    worker = body["nodes"][nodes[0]]["models"]["m1"]
    assert worker["model_state"] == "DEPLOYED"
    assert worker["predictor"].startswith("org.opensearch.ml.engine.algorithms.text_embedding.")
    assert (worker["target_worker_nodes"], worker["worker_nodes"]) == ([nodes[0]], [nodes[0]])
    assert worker["memory_size_estimation_cpu"] == worker["memory_size_estimation_gpu"] == MODEL_MEMORY
    assert "predict_request_stats" not in worker
    assert body["nodes"][nodes[1]] == {"models": {"m1": {"worker_nodes": [nodes[0]]}}}


async def test_predict_request_stats_cover_the_last_requests_of_each_node(cluster, client, nodes, deployed):
    for latency in (10.0, 20.0, 30.0, 40.0):
        cluster.ml_commons.stats.record_request(nodes[0], "m1", "TEXT_EMBEDDING", "predict", latency, False)
    cluster.ml_commons.stats.record_request(nodes[0], "m1", "TEXT_EMBEDDING", "predict", 99.0, True)
    body = await client.plugins.ml.get_profile_models(model_id="m1")
    assert body["nodes"][nodes[0]]["models"]["m1"]["predict_request_stats"] == pytest.approx(
        {"count": 4, "max": 40.0, "min": 10.0, "average": 25.0, "p50": 25.0, "p90": 37.0, "p99": 39.7}
    )
    for latency in range(200):
        cluster.ml_commons.stats.record_request(nodes[0], "m1", "TEXT_EMBEDDING", "predict", latency, False)
    stats = (await client.plugins.ml.get_profile_models(model_id="m1"))["nodes"][nodes[0]]["models"]["m1"]
    assert (stats["predict_request_stats"]["count"], stats["predict_request_stats"]["min"]) == (100, 100.0)


async def test_model_view_groups_nodes_under_each_model(client, nodes, deployed):
    body = await client.plugins.ml.get_profile_models(params={"view": "model"})
    entry = body["models"]["m1"]
    assert (entry["target_worker_nodes"], entry["worker_nodes"]) == ([nodes[0]], [nodes[0]])
    assert entry["nodes"][nodes[1]] == {}
    assert entry["nodes"][nodes[0]]["model_state"] == "DEPLOYED"
    assert "worker_nodes" not in entry["nodes"][nodes[0]]


async def test_a_loading_node_holds_its_deploy_task(cluster, http: TestClient, nodes):
    local_model(cluster, "m1")
    task_id = cluster.ml_commons.deployer.deploy("m1")["task_id"]
    body = await (await http.get("/_plugins/_ml/profile")).json()
    for node_id in nodes:
        assert body["nodes"][node_id]["models"]["m1"] == {"model_state": "DEPLOYING", "target_worker_nodes": nodes}
        assert body["nodes"][node_id]["tasks"][task_id]["state"] == "RUNNING"
    tasks = await (await http.get(f"/_plugins/_ml/profile/tasks/{task_id}")).json()
    assert set(tasks["nodes"][nodes[0]]) == {"tasks"}
    by_model = await (await http.get("/_plugins/_ml/profile/tasks", params={"view": "model"})).json()
    assert list(by_model["models"]["m1"]["tasks"]) == [task_id]
    cluster.advance(LOAD_SECONDS)
    assert await (await http.get("/_plugins/_ml/profile/tasks")).json() == {}


async def test_a_body_picks_models_and_nodes(cluster, http, nodes, deployed):
    remote_model(cluster, "r1")
    cluster.ml_commons.deployer.deploy("r1")
    response = await http.get(
        "/_plugins/_ml/profile/models/r1", json={"model_ids": ["m1"], "node_ids": [nodes[1]]}
    )
    assert await response.json() == {"nodes": {nodes[1]: {"models": {"m1": {"worker_nodes": [nodes[0]]}}}}}
    response = await http.get("/_plugins/_ml/profile", json={"return_all_models": "true", "node_ids": [nodes[0]]})
    assert set((await response.json())["nodes"][nodes[0]]["models"]) == {"m1", "r1"}
    response = await http.get("/_plugins/_ml/profile", json={"model_ids": "m1"})
    body = await response.json()
    assert (response.status, body["error"]["type"]) == (400, "parsing_exception")


async def test_profile_of_nothing_is_empty(cluster, http, deployed):
    assert await (await http.get("/_plugins/_ml/profile/models/ghost")).json() == {}
    assert await (await http.get("/_plugins/_ml/profile", params={"view": "other"})).json() == {}
    response = await http.get("/_plugins/_ml/profile", params={"verbose": "true"})
    assert response.status == 400


async def test_undeploy_empties_the_profile(cluster, client, deployed):
    await client.plugins.ml.undeploy_model(model_id="m1")
    assert await client.plugins.ml.get_profile_models() == {}


# -- stats -----------------------------------------------------------------------------


async def test_stats_count_requests_per_node_algorithm_and_model(cluster, client, nodes, deployed):
    cluster.ml_commons.stats.record_request(nodes[0], "m1", "TEXT_EMBEDDING", "predict", 5.0, False)
    cluster.ml_commons.stats.record_request(nodes[0], "m1", "TEXT_EMBEDDING", "predict", 5.0, True)
    body = await client.plugins.ml.get_stats()
    assert {k: v for k, v in body.items() if k != "nodes"} == {
        "ml_model_index_status": "green", "ml_connector_index_status": "non-existent",
        "ml_config_index_status": "green", "ml_task_index_status": "green",
        "ml_controller_index_status": "non-existent", "ml_model_count": 1, "ml_connector_count": 0,
    }
    worker = body["nodes"][nodes[0]]
    assert (worker["ml_request_count"], worker["ml_failure_count"], worker["ml_deployed_model_count"]) == (3, 1, 1)
    assert worker["ml_executing_task_count"] == 0
    assert 0 < worker["ml_jvm_heap_usage"] < 100
    assert worker["algorithms"] == {
        "text_embedding": {"deploy": {"ml_action_request_count": 1},
                           "predict": {"ml_action_request_count": 2, "ml_action_failure_count": 1}},
    }
    assert worker["models"]["m1"]["predict"] == {"ml_action_request_count": 2, "ml_action_failure_count": 1}
    assert body["nodes"][nodes[1]]["ml_request_count"] == 0


async def test_stats_by_name_and_node(cluster, client, http, nodes, deployed):
    assert await client.plugins.ml.get_stats(stat="ml_model_count") == {"ml_model_count": 1}
    body = await client.plugins.ml.get_stats(node_id=nodes[0], stat="ML_DEPLOYED_MODEL_COUNT,ml_model_count")
    assert body == {
        "ml_model_count": 1,
        "nodes": {nodes[0]: {"ml_deployed_model_count": 1, "algorithms": {}, "models": {}}},
    }
    by_name = await (await http.get("/_plugins/_ml/ml-2/stats/ml_request_count")).json()
    assert list(by_name["nodes"]) == [nodes[1]]
    response = await http.get("/_plugins/_ml/stats/ml_nothing")
    body = await response.json()
    assert (response.status, body["error"]["reason"]) == (400, "Wrong ML cluster level stat")


async def test_breaker_trips_are_counted_on_their_node(cluster, client, nodes):
    cluster.ml_commons.settings.native_memory_threshold = 0
    local_model(cluster, "m1")
    task_id = cluster.ml_commons.deployer.deploy("m1")["task_id"]
    assert cluster.ml_commons.tasks.get(task_id)["error"].count(BREAKER) == 2
    body = await client.plugins.ml.get_stats(stat="ml_circuit_breaker_trigger_count,ml_failure_count")
    for node_id in nodes:
        stats = body["nodes"][node_id]
        assert (stats["ml_circuit_breaker_trigger_count"], stats["ml_failure_count"]) == (1, 1)

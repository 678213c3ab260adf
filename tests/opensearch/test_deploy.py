"""Deploy and undeploy of ml-commons models: tasks, model states, node loads, errors."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from cluster.cluster import Cluster
from cluster.errors import MlError

from .deploy_support import LOAD_SECONDS, MODEL_MEMORY, local_model, model, remote_model, task
from .ml_helpers import MINILM, raw_error


@pytest.fixture
def nodes(cluster: Cluster) -> list[str]:
    return list(cluster.state.nodes)


# -- deploy ---------------------------------------------------------------------------


async def test_local_deploy_loads_on_every_node_in_simulated_time(cluster, client: AsyncOpenSearch, nodes):
    local_model(cluster, "m1")
    answer = await client.plugins.ml.deploy_model(model_id="m1")
    assert answer == {"task_id": answer["task_id"], "task_type": "DEPLOY_MODEL", "status": "CREATED"}
    running = task(cluster, answer["task_id"])
    assert (running["state"], running["worker_node"], running["function_name"]) == ("RUNNING", nodes, "TEXT_EMBEDDING")
    doc = model(cluster, "m1")
    assert doc["model_state"] == "DEPLOYING"
    assert (doc["planning_worker_nodes"], doc["planning_worker_node_count"], doc["deploy_to_all_nodes"]) == (
        nodes, 2, True,
    )
    assert cluster.ml_commons.workers.nodes("m1") == []

    cluster.advance(LOAD_SECONDS - 0.01)
    assert cluster.ml_commons.workers.nodes("m1") == []
    cluster.advance(0.01)
    assert cluster.ml_commons.workers.nodes("m1") == sorted(nodes)
    done = task(cluster, answer["task_id"])
    assert done["state"] == "COMPLETED" and "error" not in done
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["current_worker_node_count"]) == ("DEPLOYED", 2)
    assert doc["last_deployed_time"] == cluster.clock.millis() == doc["last_updated_time"]
    assert [cluster.ml_commons.deployer.memory_on(n) for n in nodes] == [MODEL_MEMORY, MODEL_MEMORY]


async def test_sim_nodes_show_the_memory_ml_commons_models_hold(cluster, http: TestClient, nodes):
    async def shown() -> dict[str, dict]:
        return {node["id"]: node for node in (await (await http.get("/_sim/nodes")).json())["nodes"]}

    before = await shown()
    assert {n: before[n]["ml_commons_memory"] for n in nodes} == {n: 0 for n in nodes}
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    after = await shown()
    for node_id in nodes:
        assert after[node_id]["ml_commons_memory"] == MODEL_MEMORY
        assert after[node_id]["deployment_memory"] == before[node_id]["deployment_memory"] - MODEL_MEMORY


async def test_a_registered_pretrained_model_deploys_end_to_end(cluster, client: AsyncOpenSearch, nodes):
    registered = await client.plugins.ml.register_model(
        body={"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}
    )
    await cluster.clock.wait_until(lambda: task(cluster, registered["task_id"])["state"] == "COMPLETED", 60)
    model_id = (await client.plugins.ml.get_task(task_id=registered["task_id"]))["model_id"]
    deploy = await client.plugins.ml.deploy_model(model_id=model_id)
    await cluster.clock.wait_until(lambda: task(cluster, deploy["task_id"])["state"] != "RUNNING", 60)
    done = await client.plugins.ml.get_task(task_id=deploy["task_id"])
    assert (done["task_type"], done["state"], done["model_id"]) == ("DEPLOY_MODEL", "COMPLETED", model_id)
    got = await client.plugins.ml.get_model(model_id=model_id)
    assert (got["model_state"], got["current_worker_node_count"]) == ("DEPLOYED", 2)


async def test_legacy_load_path_deploys(cluster, http: TestClient):
    local_model(cluster, "m1")
    response = await http.post("/_plugins/_ml/models/m1/_load")
    assert response.status == 200
    assert (await response.json())["status"] == "CREATED"


async def test_remote_deploy_completes_at_once_on_every_node_without_memory(cluster, client, nodes):
    remote_model(cluster, "r1")
    answer = await client.plugins.ml.deploy_model(model_id="r1")
    assert (answer["task_type"], answer["status"]) == ("DEPLOY_MODEL", "COMPLETED")
    assert task(cluster, answer["task_id"])["state"] == "COMPLETED"
    doc = model(cluster, "r1")
    assert (doc["model_state"], doc["current_worker_node_count"], doc["planning_worker_nodes"]) == (
        "DEPLOYED", 2, nodes,
    )
    assert cluster.ml_commons.workers.nodes("r1") == sorted(nodes)
    assert [cluster.ml_commons.deployer.memory_on(n) for n in nodes] == [0, 0]


async def test_one_failed_node_makes_a_partial_deploy(cluster, nodes):
    local_model(cluster, "m1")
    cluster.state.nodes[nodes[1]].inject_load_failure("out of disk")
    answer = cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    done = task(cluster, answer["task_id"])
    assert done["state"] == "COMPLETED_WITH_ERROR"
    assert done["error"] == json.dumps({nodes[1]: "out of disk"}, separators=(",", ":"))
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["current_worker_node_count"]) == ("PARTIALLY_DEPLOYED", 1)
    assert cluster.ml_commons.workers.nodes("m1") == [nodes[0]]
    assert cluster.ml_commons.stats.node_counter(nodes[1], "ml_failure_count") == 1


async def test_every_node_failing_fails_the_deploy(cluster, nodes):
    local_model(cluster, "m1")
    cluster.ml_commons.settings.max_model_on_node = 0
    answer = cluster.ml_commons.deployer.deploy("m1")
    done = task(cluster, answer["task_id"])
    assert done["state"] == "FAILED"
    assert json.loads(done["error"]) == {n: "Exceed max local model per node limit" for n in nodes}
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["current_worker_node_count"]) == ("DEPLOY_FAILED", 0)
    assert [cluster.ml_commons.stats.node_counter(n, "ml_failure_count") for n in nodes] == [0, 0]


async def test_max_model_on_node_counts_local_deployed_models_only(cluster, nodes):
    cluster.ml_commons.settings.max_model_on_node = 1
    remote_model(cluster, "r1")
    local_model(cluster, "a")
    local_model(cluster, "b")
    cluster.ml_commons.deployer.deploy("r1")
    cluster.ml_commons.deployer.deploy("a")
    cluster.advance(LOAD_SECONDS)
    assert model(cluster, "a")["model_state"] == "DEPLOYED"
    refused = cluster.ml_commons.deployer.deploy("b")
    assert json.loads(task(cluster, refused["task_id"])["error"]) == {
        n: "Exceed max local model per node limit" for n in nodes
    }


async def test_a_second_deploy_while_loading_is_a_duplicate_task(cluster, nodes):
    local_model(cluster, "m1")
    first = cluster.ml_commons.deployer.deploy("m1")
    second = cluster.ml_commons.deployer.deploy("m1")
    assert json.loads(task(cluster, second["task_id"])["error"]) == {n: "Duplicate deploy model task" for n in nodes}
    assert task(cluster, second["task_id"])["state"] == "FAILED"
    assert model(cluster, "m1")["model_state"] == "DEPLOY_FAILED"
    cluster.advance(LOAD_SECONDS)
    assert task(cluster, first["task_id"])["state"] == "COMPLETED"
    assert model(cluster, "m1")["model_state"] == "DEPLOYED"


async def test_redeploying_a_deployed_model_completes_at_once(cluster, nodes):
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    again = cluster.ml_commons.deployer.deploy("m1")
    assert task(cluster, again["task_id"])["state"] == "COMPLETED"
    assert [cluster.ml_commons.deployer.memory_on(n) for n in nodes] == [MODEL_MEMORY, MODEL_MEMORY]


async def test_a_registering_model_fails_on_every_node(cluster, nodes):
    local_model(cluster, "m1", model_state="REGISTERING")
    answer = cluster.ml_commons.deployer.deploy("m1")
    done = task(cluster, answer["task_id"])
    assert (done["state"], json.loads(done["error"])) == ("FAILED", {n: "Failed to deploy model" for n in nodes})
    assert model(cluster, "m1")["model_state"] == "DEPLOY_FAILED"


async def test_deploy_to_named_nodes_needs_the_custom_plan_setting(cluster, http, nodes):
    local_model(cluster, "m1")
    response = await http.post("/_plugins/_ml/models/m1/_deploy", json={"node_ids": [nodes[0]]})
    assert await raw_error(response) == (400, "illegal_argument_exception", "Don't allow custom deployment plan")
    assert model(cluster, "m1")["model_state"] == "REGISTERED"
    assert cluster.ml_commons.store[".plugins-ml-task"].docs == {}

    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    response = await http.post("/_plugins/_ml/models/m1/_deploy", json={"node_ids": ["nobody", nodes[1]]})
    assert response.status == 200
    assert task(cluster, (await response.json())["task_id"])["worker_node"] == [nodes[1]]  # unknown id dropped
    doc = model(cluster, "m1")
    assert (doc["planning_worker_nodes"], doc["deploy_to_all_nodes"]) == ([nodes[1]], False)

    response = await http.post("/_plugins/_ml/models/m1/_deploy", json={"node_ids": ["nobody"]})
    assert await raw_error(response) == (400, "illegal_argument_exception", "no eligible node found")


async def test_named_nodes_must_include_the_current_workers(cluster, http, nodes):
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1", [nodes[0]])
    cluster.advance(LOAD_SECONDS)
    response = await http.post("/_plugins/_ml/models/m1/_deploy", json={"node_ids": [nodes[1]]})
    assert await raw_error(response) == (
        400, "illegal_argument_exception",
        f"Model already deployed to these nodes: [{nodes[0]}], but they are not included in target node ids. "
        "Undeploy model from these nodes if don't need them any more.Undeploy from old nodes before try to "
        "deploy model on new nodes. Or include all old nodes on your target nodes.",
    )


async def test_deploy_errors_on_bad_input(cluster, http, client):
    with pytest.raises(NotFoundError) as missing:
        await client.plugins.ml.deploy_model(model_id="nope")
    assert missing.value.info["error"]["reason"] == "Failed to find model"
    assert missing.value.info["error"]["type"] == "status_exception"

    local_model(cluster, "m1")
    response = await http.post("/_plugins/_ml/models/m1/_deploy", json={"node_ids": "ml-1"})
    assert await raw_error(response) == (
        400, "parsing_exception",
        "Failed to parse object: expecting token of type [START_ARRAY] but found [VALUE_STRING]",
    )
    assert model(cluster, "m1")["model_state"] == "REGISTERED"


async def test_remote_models_need_remote_inference(cluster):
    remote_model(cluster, "r1")
    cluster.ml_commons.settings.remote_inference_enabled = False
    with pytest.raises(MlError) as refused:
        cluster.ml_commons.deployer.deploy("r1")
    assert (refused.value.status, refused.value.error_type) == (400, "illegal_state_exception")
    assert model(cluster, "r1")["model_state"] == "REGISTERED"


# -- undeploy -------------------------------------------------------------------------


async def test_undeploy_stops_every_node_and_frees_memory_when_stopped(cluster, client, nodes):
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    answer = await client.plugins.ml.undeploy_model(model_id="m1")
    assert answer == {n: {"stats": {"m1": "undeployed"}} for n in nodes}
    doc = model(cluster, "m1")
    assert (doc["model_state"], doc["planning_worker_nodes"], doc["planning_worker_node_count"]) == (
        "UNDEPLOYED", [], 0,
    )
    assert doc["current_worker_node_count"] == 0
    assert cluster.ml_commons.workers.nodes("m1") == []
    assert cluster.ml_commons.deployer.memory_on(nodes[0]) == MODEL_MEMORY  # the process is stopping
    cluster.advance(0.5)
    assert cluster.ml_commons.deployer.memory_on(nodes[0]) == 0
    assert cluster.ml_commons.stats.model_stats(nodes[0])["m1"]["undeploy"] == {"ml_action_request_count": 1}


async def test_undeploy_of_some_nodes_shrinks_the_plan(cluster, http, nodes):
    cluster.ml_commons.settings.allow_custom_deployment_plan = True
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    response = await http.post("/_plugins/_ml/models/m1/_undeploy", json={"node_ids": [nodes[0]]})
    assert await response.json() == {nodes[0]: {"stats": {"m1": "undeployed"}}}
    doc = model(cluster, "m1")
    assert doc["model_state"] == "DEPLOYED"
    assert (doc["deploy_to_all_nodes"], doc["planning_worker_nodes"], doc["current_worker_node_count"]) == (
        False, [nodes[1]], 1,
    )


async def test_undeploy_many_models_at_once(cluster, http, nodes):
    local_model(cluster, "a")
    remote_model(cluster, "r")
    cluster.ml_commons.deployer.deploy("a")
    cluster.ml_commons.deployer.deploy("r")
    cluster.advance(LOAD_SECONDS)
    response = await http.post("/_plugins/_ml/models/_undeploy", json={"model_ids": ["a", "r", "ghost"]})
    assert await response.json() == {
        n: {"stats": {"a": "undeployed", "r": "undeployed", "ghost": "not_found"}} for n in nodes
    }
    assert (model(cluster, "a")["model_state"], model(cluster, "r")["model_state"]) == ("UNDEPLOYED", "UNDEPLOYED")


async def test_undeploying_a_model_no_node_has_still_marks_it_undeployed(cluster, client, nodes):
    local_model(cluster, "m1", model_state="DEPLOY_FAILED")
    answer = await client.plugins.ml.undeploy_model(model_id="m1")
    assert answer == {n: {"stats": {"m1": "not_found"}} for n in nodes}
    assert model(cluster, "m1")["model_state"] == "UNDEPLOYED"


async def test_undeploy_errors(cluster, http, nodes):
    response = await http.post("/_plugins/_ml/models/_undeploy")
    assert await raw_error(response) == (400, "illegal_argument_exception", "Must set specific model ids to undeploy")
    response = await http.post("/_plugins/_ml/models/nope/_undeploy")
    assert await raw_error(response) == (404, "status_exception", "Failed to find model")
    local_model(cluster, "m1")
    response = await http.post("/_plugins/_ml/models/m1/_undeploy", json={"node_ids": [nodes[0]]})
    assert await raw_error(response) == (400, "illegal_argument_exception", "Don't allow custom deployment plan")
    assert model(cluster, "m1")["model_state"] == "REGISTERED"


async def test_legacy_unload_path_undeploys(cluster, http, nodes):
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    response = await http.post("/_plugins/_ml/models/m1/_unload")
    assert await response.json() == {n: {"stats": {"m1": "undeployed"}} for n in nodes}


async def test_excluded_nodes_get_nothing(cluster, nodes):
    cluster.ml_commons.settings.exclude_node_names = "ml-2, other"
    local_model(cluster, "m1")
    answer = cluster.ml_commons.deployer.deploy("m1")
    assert task(cluster, answer["task_id"])["worker_node"] == [nodes[0]]
    cluster.ml_commons.settings.exclude_node_names = "ml-1,ml-2"
    with pytest.raises(MlError) as refused:
        cluster.ml_commons.deployer.deploy("m1")
    assert refused.value.reason == "no eligible node found"


async def test_undeploy_on_unknown_nodes_answers_no_node_and_marks_undeployed(cluster, nodes):
    local_model(cluster, "m1")
    cluster.ml_commons.deployer.deploy("m1")
    cluster.advance(LOAD_SECONDS)
    assert cluster.ml_commons.deployer.undeploy(["m1"], ["gone"]) == {}
    assert model(cluster, "m1")["model_state"] == "UNDEPLOYED"  # ml-commons' bulk write when no node answered
    assert cluster.ml_commons.workers.nodes("m1") == sorted(nodes)

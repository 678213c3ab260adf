"""`POST /models/{id}/_batch_predict`: a BATCH_PREDICTION task on a remote model whose
`remote_job` is what the connector's BATCH_PREDICT action answered."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.opensearch.batch_jobs import job_state
from cluster.opensearch.settings import update_cluster_settings

from .ml_helpers import OPENAI_CONNECTOR, raw_error

BATCH_CONNECTOR: dict[str, Any] = {
    **OPENAI_CONNECTOR,
    "parameters": {**OPENAI_CONNECTOR["parameters"],
                   "mlsim_response": json.dumps({"id": "batch_abc123", "status": "validating"})},
    "actions": [
        *OPENAI_CONNECTOR["actions"],
        {"action_type": "batch_predict", "method": "POST", "url": "https://api.openai.com/v1/batches",
         "request_body": '{ "input_file_id": "${parameters.input_file_id}", "endpoint": "/v1/embeddings" }'},
    ],
}


async def remote_model(client: AsyncOpenSearch, connector: dict[str, Any]) -> str:
    body = {"name": "batch", "function_name": "remote", "connector": connector}
    return (await client.plugins.ml.register_model(body=body, params={"deploy": "true"}))["model_id"]


async def test_batch_predict_creates_a_task_with_the_remote_job(client: AsyncOpenSearch, cluster: Cluster,
                                                                http: TestClient) -> None:
    model_id = await remote_model(client, BATCH_CONNECTOR)
    cluster.advance(2)
    response = await http.post(f"/_plugins/_ml/models/{model_id}/_batch_predict",
                               json={"parameters": {"input_file_id": "file-1"}})
    answer = await response.json()
    assert response.status == 200
    assert answer == {"task_id": answer["task_id"], "status": "CREATED",
                      "remote_job": {"id": "batch_abc123", "status": "validating", "dlq": None}}
    task = await client.plugins.ml.get_task(task_id=answer["task_id"])
    assert (task["task_type"], task["function_name"], task["state"], task["model_id"], task["is_async"]) == (
        "BATCH_PREDICTION", "REMOTE", "CREATED", model_id, False)
    assert task["remote_job"] == answer["remote_job"]


async def test_batch_predict_refusals(client: AsyncOpenSearch, cluster: Cluster, http: TestClient) -> None:
    without_action = await remote_model(client, OPENAI_CONNECTOR)
    cluster.advance(2)
    response = await http.post(f"/_plugins/_ml/models/{without_action}/_batch_predict", json={"parameters": {}})
    assert await raw_error(response) == (400, "illegal_argument_exception", "no BATCH_PREDICT action found")
    await client.cluster.put_settings(body={"transient": {"plugins.ml_commons.offline_batch_inference_enabled": False}})
    response = await http.post(f"/_plugins/_ml/models/{without_action}/_batch_predict", json={"parameters": {}})
    assert await raw_error(response) == (
        400, "illegal_state_exception", 'Offline Batch Inference is currently disabled. To enable it, update the '
                                        'setting "plugins.ml_commons.offline_batch_inference_enabled" to true.')
    response = await http.post("/_plugins/_ml/models/missing/_batch_predict", json={"parameters": {}})
    assert (await raw_error(response))[0] == 404


async def test_get_task_asks_the_job_status(client: AsyncOpenSearch, cluster: Cluster, http: TestClient) -> None:
    """The connector's BATCH_PREDICT_STATUS action is called on GET; its answer joins the
    remote job and `remote_job.status_regex.completed` turns the task COMPLETED."""
    rules = [{"if_matches": "batch_status", "response": '{"status": "completed", "output_file_id": "file-9"}'},
             {"response": '{"id": "batch_abc123", "status": "validating"}'}]
    connector = {**BATCH_CONNECTOR,
                 "parameters": {**OPENAI_CONNECTOR["parameters"], "mlsim_response_rules": json.dumps(rules)},
                 "actions": [*BATCH_CONNECTOR["actions"],
                             {"action_type": "batch_predict_status", "method": "POST",
                              "url": "https://api.openai.com/v1/batches/${parameters.id}",
                              "request_body": '{"batch_status": "${parameters.id}"}'}]}
    model_id = await remote_model(client, connector)
    cluster.advance(2)
    response = await http.post(f"/_plugins/_ml/models/{model_id}/_batch_predict",
                               json={"parameters": {"input_file_id": "file-1"}})
    task_id = (await response.json())["task_id"]
    assert cluster.ml_commons.tasks.get(task_id)["state"] == "CREATED"
    task = await client.plugins.ml.get_task(task_id=task_id)
    assert task["state"] == "COMPLETED"
    assert task["remote_job"] == {"id": "batch_abc123", "status": "completed", "output_file_id": "file-9", "dlq": None}
    await client.cluster.put_settings(body={"transient": {"plugins.ml_commons.offline_batch_inference_enabled": False}})
    response = await http.get(f"/_plugins/_ml/tasks/{task_id}")
    assert (await raw_error(response))[:2] == (400, "illegal_state_exception")


async def test_cancel_calls_the_cancel_action(client: AsyncOpenSearch, cluster: Cluster, http: TestClient) -> None:
    connector = {**BATCH_CONNECTOR, "actions": [
        *BATCH_CONNECTOR["actions"],
        {"action_type": "cancel_batch_predict", "method": "POST",
         "url": "https://api.openai.com/v1/batches/${parameters.id}/cancel"}]}
    model_id = await remote_model(client, connector)
    cluster.advance(2)
    response = await http.post(f"/_plugins/_ml/models/{model_id}/_batch_predict",
                               json={"parameters": {"input_file_id": "file-1"}})
    task_id = (await response.json())["task_id"]
    response = await http.post(f"/_plugins/_ml/tasks/{task_id}/_cancel")
    assert (response.status, await response.json()) == (200, {"status": "OK"})
    deploy_task = cluster.ml_commons.tasks.create("DEPLOY_MODEL", "REMOTE", model_id, [])
    response = await http.post(f"/_plugins/_ml/tasks/{deploy_task}/_cancel")
    assert await raw_error(response) == (400, "illegal_argument_exception",
                                         "The task ID you provided does not have any associated batch job")
    response = await http.post("/_plugins/_ml/tasks/nope/_cancel")
    assert await raw_error(response) == (404, "status_exception", "Fail to find task")


def test_job_state_follows_the_status_settings(cluster: Cluster) -> None:
    settings = cluster.ml_commons.settings
    assert job_state({"status": "in_progress"}, settings) is None
    assert job_state({"TransformJobStatus": "Completed"}, settings) == "COMPLETED"
    assert job_state({"status": "cancelling"}, settings) == "CANCELLING"
    update_cluster_settings(settings, {"plugins.ml_commons.remote_job.status_field": "state,phase",
                                       "plugins.ml_commons.remote_job.status_regex.failed": "(broken)"}, {})
    assert job_state({"status": "completed"}, settings) is None
    assert job_state({"state": "running", "phase": "BROKEN"}, settings) == "FAILED"

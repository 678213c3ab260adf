"""Model register (local: simulated download; remote: at once), get, search and delete."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, AuthorizationException, NotFoundError, RequestError

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.opensearch.documents import MODEL_GROUP_INDEX, MODEL_INDEX, TASK_INDEX

from .ml_helpers import (
    MINILM, MINILM_BYTES, OPENAI_CONNECTOR, allow_registering_via_url, error_of, raw_error, register_remote,
    set_model_state,
)

ML = "/_plugins/_ml"
BANDWIDTH = 100_000_000  # MlCommonsSettings.register_bandwidth_bytes_per_second
PRETRAINED = {"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}
CUSTOM = {
    "name": "my-e5", "version": "1.0.0", "model_format": "ONNX", "function_name": "TEXT_EMBEDDING",
    "url": "https://example.com/e5-small.zip", "model_content_size_in_bytes": 250_000_000,
    "model_config": {"model_type": "bert", "embedding_dimension": 384, "framework_type": "huggingface_transformers"},
}


async def models_in_state(client: AsyncOpenSearch, state: str) -> list[str]:
    found = await client.plugins.ml.search_models(body={"query": {"term": {"model_state": state}}})
    return [hit["_id"] for hit in found["hits"]["hits"]]


async def test_local_register_takes_the_download_time(client: AsyncOpenSearch, cluster: Cluster) -> None:
    response = await client.plugins.ml.register_model(body=PRETRAINED)
    assert response.keys() == {"task_id", "status"} and response["status"] == "CREATED"
    task = await client.plugins.ml.get_task(task_id=response["task_id"])
    assert (task["state"], task["task_type"], task["function_name"], task["is_async"]) == (
        "RUNNING", "REGISTER_MODEL", "TEXT_EMBEDDING", True)
    [model_id] = await models_in_state(client, "REGISTERING")

    cluster.advance(MINILM_BYTES / BANDWIDTH - 0.01)
    assert await models_in_state(client, "REGISTERING") == [model_id]
    cluster.advance(0.02)
    task = await client.plugins.ml.get_task(task_id=response["task_id"])
    assert (task["state"], task["model_id"]) == ("COMPLETED", model_id)
    model = await client.plugins.ml.get_model(model_id=model_id)
    assert model["model_state"] == "REGISTERED"
    assert (model["model_content_size_in_bytes"], model["total_chunks"]) == (MINILM_BYTES, 10)
    assert model["last_registered_time"] == task["last_update_time"] == cluster.clock.millis(MINILM_BYTES / BANDWIDTH)
    assert (model["name"], model["algorithm"], model["model_format"], model["model_version"]) == (
        MINILM, "TEXT_EMBEDDING", "TORCH_SCRIPT", "1")
    assert model["model_config"]["embedding_dimension"] == 384
    assert model["model_config"]["additional_config"] == {"space_type": "l2"}
    assert len(model["model_content_hash_value"]) == 64
    group = await client.plugins.ml.get_model_group(model_group_id=model["model_group_id"])
    assert (group["name"], group["latest_version"]) == (MINILM, 1)


async def test_url_model_uses_the_given_size_and_config(client: AsyncOpenSearch, cluster: Cluster) -> None:
    await allow_registering_via_url(client)
    task_id = (await client.plugins.ml.register_model(body=CUSTOM))["task_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.tasks.get(task_id)["state"] == "COMPLETED", timeout=10)
    assert cluster.now == pytest.approx(2.5)
    model = await client.plugins.ml.get_model(model_id=cluster.ml_commons.tasks.get(task_id)["model_id"])
    # only what was sent: no pooling_mode, normalize_result or additional_config added
    assert model["model_config"] == {"model_type": "bert", "embedding_dimension": 384,
                                     "framework_type": "HUGGINGFACE_TRANSFORMERS"}
    assert (model["total_chunks"], model["model_format"]) == (25, "ONNX")


@pytest.mark.parametrize(("body", "reason"), [
    ({"model_format": "TORCH_SCRIPT"}, "model name is null"),
    ({"name": "m"}, "model format is null"),
    ({"name": "m", "model_format": "TORCH_SCRIPT", "url": "https://example.com/m.zip"}, "model config is null"),
    ({"name": "m", "model_format": "PICKLE"}, "Wrong model format"),
    ({"name": "m", "model_format": "ONNX", "function_name": "magic"}, "Wrong function name"),
    ({**CUSTOM, "model_config": {"model_type": "bert", "framework_type": "sentence_transformers"}},
     "embedding dimension is null"),
    ({**CUSTOM, "url": "s3://bucket/model.zip"}, "URL can't match trusted url regex"),
    ({"name": "chat", "function_name": "remote"},
     "You must provide connector content when creating a remote model without connector id!"),
    ({"name": "chat", "function_name": "remote", "connector": {**OPENAI_CONNECTOR, "actions": []}},
     "Connector endpoint is required when creating a remote model without connector id!"),
])
async def test_register_checks(client: AsyncOpenSearch, body: dict, reason: str) -> None:
    await allow_registering_via_url(client)
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.register_model(body=body)
    assert error_of(caught.value) == (400, "illegal_argument_exception", reason)
    assert (await client.plugins.ml.search_tasks(body={"query": {"match_all": {}}}))["hits"]["hits"] == []
    assert (await client.plugins.ml.search_models(body={"query": {"match_all": {}}}))["hits"]["hits"] == []


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("rate_limiter", {"limit": "-1"}, ("parse_exception", "Limit field must be a positive number.")),
    ("rate_limiter", {"limit": "four", "unit": "MINUTES"}, ("parse_exception", "Limit field must be a positive number.")),
    ("rate_limiter", {"unit": "WEEKS"}, ("illegal_argument_exception",
                                         "No enum constant java.util.concurrent.TimeUnit.WEEKS")),
    ("rate_limiter", {"limit": None}, ("parse_exception", "Can't get text on a VALUE_NULL at 1:28")),
    ("rate_limiter", "4/MINUTES", ("parsing_exception", "Failed to parse object: expecting token of type "
                                                        "[START_OBJECT] but found [VALUE_STRING]")),
    ("guardrails", {"type": "keywords"}, ("illegal_argument_exception",
                                          "The type of guardrails is required, can not be null.")),
    ("deploy_setting", {"model_ttl_minutes": "soon"}, ("number_format_exception", 'For input string: "soon"')),
    ("deploy_setting", {"is_auto_deploy_enabled": "yes"}, (
        "illegal_argument_exception", "Failed to parse value [yes] as only [true] or [false] are allowed.")),
])
async def test_register_and_update_read_shared_fields_alike(client: AsyncOpenSearch, http: TestClient, field: str,
                                                           value: object, expected: tuple[str, str]) -> None:
    """ml-commons reads these fields of both bodies with the same parsers (`MLRateLimiter`,
    `Guardrails`, `MLDeploySetting`), so both refuse alike."""
    model_id = await register_remote(client)
    register = await http.post(f"{ML}/models/_register", json={field: value, **PRETRAINED})
    update = await http.put(f"{ML}/models/{model_id}", json={field: value})
    assert await raw_error(register) == await raw_error(update) == (400, *expected)
    found = await client.plugins.ml.search_models(body={"query": {"match_all": {}}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == [model_id]


async def test_register_and_update_store_shared_fields_alike(client: AsyncOpenSearch, cluster: Cluster) -> None:
    fields = {
        "guardrails": {"input_guardrail": {"regex": ["a.*"], "other": 1}},
        "deploy_setting": {"is_auto_deploy_enabled": "false", "model_ttl_minutes": "5"},
        "interface": {"input": {"type": "object"}, "output": None, "other": "dropped"},
    }
    registered = await register_remote(client, **fields)
    updated = await register_remote(client, name="other")
    await client.plugins.ml.update_model(model_id=updated, body=fields)
    index = cluster.ml_commons.store[MODEL_INDEX]
    assert [{key: index.get(model_id)[key] for key in fields} for model_id in (registered, updated)] == [{
        "guardrails": {"type": "local_regex", "input_guardrail": {"regex": ["a.*"]}},
        "deploy_setting": {"is_auto_deploy_enabled": False, "model_ttl_minutes": 5},
        "interface": {"input": '{"type":"object"}', "output": None},
    }] * 2


async def test_url_registration_needs_the_setting(client: AsyncOpenSearch, cluster: Cluster) -> None:
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.register_model(body=CUSTOM)
    assert error_of(caught.value) == (
        400, "illegal_argument_exception", "To upload custom model user needs to enable allow_registering_model_via_url "
                                           "settings. Otherwise please use OpenSearch pre-trained models.")
    assert not cluster.ml_commons.store[MODEL_GROUP_INDEX].docs and not cluster.ml_commons.store[TASK_INDEX].docs
    metrics = {**CUSTOM, "function_name": "METRICS_CORRELATION", "model_config": {"model_type": "mcorr"}}
    assert (await client.plugins.ml.register_model(body=metrics))["status"] == "CREATED"  # exempt
    await allow_registering_via_url(client)
    assert (await client.plugins.ml.register_model(body=CUSTOM))["status"] == "CREATED"


async def test_unknown_group_and_connector(client: AsyncOpenSearch) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.register_model(body={**PRETRAINED, "model_group_id": "nope"})
    assert error_of(caught.value) == (404, "status_exception", "Model group not found")
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.register_model(body={"name": "c", "function_name": "remote", "connector_id": "nope"})
    assert error_of(caught.value)[2] == "Failed to find connector"  # no connector index yet


async def test_pretrained_name_not_in_the_list_fails_the_task(client: AsyncOpenSearch) -> None:
    task_id = (await client.plugins.ml.register_model(body={**PRETRAINED, "name": "huggingface/unknown"}))["task_id"]
    task = await client.plugins.ml.get_task(task_id=task_id)
    assert (task["state"], task["error"]) == (
        "FAILED", "This model is not in the pre-trained model list, please check your parameters.")
    assert "model_id" not in task


async def test_remote_register_is_synchronous(client: AsyncOpenSearch, cluster: Cluster) -> None:
    response = await client.plugins.ml.register_model(
        body={"name": "chat", "function_name": "remote", "connector": OPENAI_CONNECTOR, "description": "gpt",
              "rate_limiter": {"limit": "4", "unit": "MINUTES"}, "interface": {"input": {"type": "object"}}})
    assert response.keys() == {"task_id", "status", "model_id"} and response["status"] == "CREATED"
    task = await client.plugins.ml.get_task(task_id=response["task_id"])
    assert (task["state"], task["model_id"], task["is_async"]) == ("COMPLETED", response["model_id"], False)
    model = await client.plugins.ml.get_model(model_id=response["model_id"])
    assert (model["algorithm"], model["model_state"], model["model_version"]) == ("REMOTE", "REGISTERED", "1")
    assert model["rate_limiter"] == {"limit": "4", "unit": "MINUTES"}
    assert model["interface"] == {"input": '{"type":"object"}'}
    assert "credential" not in model["connector"] and model["connector"]["protocol"] == "http"
    stored = cluster.ml_commons.store[MODEL_INDEX].get(response["model_id"])
    assert stored["connector"]["credential"] == {"openAI_key": "sk-secret"}
    found = await client.plugins.ml.search_models(body={"query": {"match": {"description": "GPT"}}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == [response["model_id"]]
    assert "credential" not in found["hits"]["hits"][0]["_source"]["connector"]
    assert cluster.ml_commons.models.is_remote(stored)


async def test_remote_inference_disabled_answers_alike_everywhere(
        client: AsyncOpenSearch, http: TestClient, cluster: Cluster) -> None:
    connector_id = (await client.plugins.ml.create_connector(body=OPENAI_CONNECTOR))["connector_id"]
    model_id = await register_remote(client)
    await client.cluster.put_settings(body={"persistent": {"plugins.ml_commons.remote_inference.enabled": False}})
    refusals = [
        await http.post(f"{ML}/connectors/_create", json=OPENAI_CONNECTOR),
        await http.put(f"{ML}/connectors/{connector_id}", json={"description": "new"}),
        await http.post(f"{ML}/models/_register",
                        json={"name": "chat", "function_name": "remote", "connector": OPENAI_CONNECTOR}),
        await http.post(f"{ML}/models/{model_id}/_deploy"),
    ]
    expected = (400, "illegal_state_exception", 'Remote Inference is currently disabled. To enable it, update the '
                                                'setting "plugins.ml_commons.remote_inference_enabled" to true.')
    assert [await raw_error(response) for response in refusals] == [expected] * 4
    assert (await client.plugins.ml.get_model(model_id=model_id))["model_state"] == "REGISTERED"
    assert len(cluster.ml_commons.store[MODEL_INDEX].docs) == 1


async def test_get_and_delete(client: AsyncOpenSearch, cluster: Cluster, http: TestClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.get_model(model_id="nope")
    assert error_of(caught.value) == (404, "status_exception", "Fail to find model")  # no model index yet
    model_id = await register_remote(client)
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.get_model(model_id="nope")
    assert error_of(caught.value) == (404, "status_exception", "Failed to find model with the provided model id: nope")
    set_model_state(cluster, model_id, "DEPLOYED")
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.delete_model(model_id=model_id)
    assert error_of(caught.value) == (400, "status_exception", "Model cannot be deleted in deploying or deployed "
                                                               "state. Try undeploy model first then delete")
    set_model_state(cluster, model_id, "UNDEPLOYED")
    deleted = await client.plugins.ml.delete_model(model_id=model_id)
    assert (deleted["_index"], deleted["_id"], deleted["result"]) == (".plugins-ml-model", model_id, "deleted")
    response = await http.delete(f"{ML}/models/{model_id}")
    assert await raw_error(response) == (404, "status_exception", "Failed to find model")


async def test_safe_delete_refuses_models_ingest_pipelines_use(client: AsyncOpenSearch, http: TestClient) -> None:
    model_id, other = await register_remote(client), await register_remote(client, name="other")
    processor = {"text_embedding": {"model_id": model_id, "field_map": {"text": "embedding"}}}
    await client.ingest.put_pipeline(id="embed", body={"processors": [processor]})
    await client.ingest.put_pipeline(id="nested", body={"processors": [{"foreach": {"field": "x", "processor": processor}}]})
    await client.ingest.put_pipeline(id="mention", body={"description": model_id, "processors": []})
    await client.cluster.put_settings(body={"persistent": {"plugins.ml_commons.safe_delete_model": True}})
    response = await http.delete(f"{ML}/models/{model_id}")
    assert await raw_error(response) == (409, "status_exception", "2 ingest pipelines are still using this model, "
                                                                  "please delete or update the pipelines first: "
                                                                  "[embed, nested]")
    assert (await client.plugins.ml.get_model(model_id=model_id))["name"] == "chat"
    assert (await client.plugins.ml.delete_model(model_id=other))["result"] == "deleted"
    await client.cluster.put_settings(body={"persistent": {"plugins.ml_commons.safe_delete_model": False}})
    assert (await client.plugins.ml.delete_model(model_id=model_id))["result"] == "deleted"


async def test_hidden_models_are_not_shown(client: AsyncOpenSearch, cluster: Cluster) -> None:
    shown, hidden = await register_remote(client, name="shown"), await register_remote(client, name="hidden")
    cluster.ml_commons.store[MODEL_INDEX].update(hidden, {"is_hidden": True})
    found = await client.plugins.ml.search_models(body={"query": {"match_all": {}}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == [shown]
    with pytest.raises(AuthorizationException) as caught:
        await client.plugins.ml.get_model(model_id=hidden)
    assert error_of(caught.value) == (403, "status_exception",
                                      "User doesn't have privilege to perform this operation on this model")


async def test_round_robin_and_running_task_limit(client: AsyncOpenSearch, cluster: Cluster) -> None:
    cluster.ml_commons.settings.max_register_model_tasks_per_node = 1
    await allow_registering_via_url(client)
    tasks = [(await client.plugins.ml.register_model(body=CUSTOM))["task_id"] for _ in range(3)]
    states = [await client.plugins.ml.get_task(task_id=t) for t in tasks]
    assert states[0]["worker_node"] != states[1]["worker_node"] == [states[1]["worker_node"][0]]
    assert states[2]["worker_node"] == states[0]["worker_node"]
    assert [s["state"] for s in states] == ["RUNNING", "RUNNING", "FAILED"]
    assert states[2]["error"] == "exceed max running task limit"


async def test_model_deleted_while_downloading_fails_the_task(client: AsyncOpenSearch, cluster: Cluster) -> None:
    await allow_registering_via_url(client)
    task_id = (await client.plugins.ml.register_model(body=CUSTOM))["task_id"]
    [model_id] = await models_in_state(client, "REGISTERING")
    await client.plugins.ml.delete_model(model_id=model_id)
    cluster.advance(3)
    task = await client.plugins.ml.get_task(task_id=task_id)
    assert (task["state"], task["error"]) == ("FAILED", f"[{model_id}]: document missing")


def test_no_ml_node_refuses_local_models() -> None:
    cluster = Cluster(clock="virtual")
    with pytest.raises(MlError) as caught:
        cluster.ml_commons.models.register(PRETRAINED)
    assert caught.value.reason.startswith("No eligible node found to execute this request.")


async def test_register_with_deploy(client: AsyncOpenSearch, cluster: Cluster) -> None:
    response = await client.plugins.ml.register_model(body=PRETRAINED, params={"deploy": "true"})
    cluster.run_until(lambda: cluster.ml_commons.tasks.get(response["task_id"])["state"] == "COMPLETED", timeout=5)
    model_id = cluster.ml_commons.tasks.get(response["task_id"])["model_id"]
    assert cluster.run_until(
        lambda: cluster.ml_commons.store[MODEL_INDEX].get(model_id)["model_state"] == "DEPLOYED", timeout=120)


async def test_a_failed_deploy_after_register_leaves_the_model_registered(client: AsyncOpenSearch,
                                                                         cluster: Cluster) -> None:
    cluster.ml_commons.settings.exclude_node_names = "ml-1,ml-2"  # nowhere to deploy
    response = await client.plugins.ml.register_model(
        body={"name": "chat", "function_name": "remote", "connector": OPENAI_CONNECTOR}, params={"deploy": "true"})
    assert (await client.plugins.ml.get_model(model_id=response["model_id"]))["model_state"] == "REGISTERED"
    assert [e.kind for e in cluster.log.since(0)].count("os_deploy_after_register_failed") == 1

"""Predict: the order of ml-commons' refusals, local embeddings, remote answers, simulated time."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.opensearch.documents import MODEL_INDEX

from .deploy_support import serve

PROMPT_BODY = '{"model": "${parameters.model}", "prompt": "${parameters.prompt}", "max_tokens": ${parameters.max_tokens}}'
MINILM = "huggingface/sentence-transformers/all-MiniLM-L6-v2"


def connector(request_body: str = PROMPT_BODY, **parameters: str) -> dict[str, Any]:
    """An http connector (as sent to the API and as stored) whose PREDICT action sends
    `request_body` to an endpoint mlsim simulates."""
    return {
        "name": "simulated",
        "description": "an endpoint mlsim answers",
        "version": "1",
        "protocol": "http",
        "parameters": {"model": "gpt-sim", "max_tokens": "7", **parameters},
        "credential": {"key": "sk-test"},
        "actions": [
            {"action_type": "PREDICT", "method": "POST", "url": "https://api.openai.com/v1/completions", "request_body": request_body}
        ],
    }


async def register_remote(client: AsyncOpenSearch, body_connector: dict[str, Any] | None = None, **fields: Any) -> str:
    """Register (with an inline connector unless `connector_id` is given) and deploy a
    remote model through the API; its id."""
    body = {"name": "chat", "function_name": "remote", **fields}
    if "connector_id" not in fields:
        body["connector"] = body_connector or connector()
    model_id = (await client.plugins.ml.register_model(body=body))["model_id"]
    await client.plugins.ml.deploy_model(model_id=model_id)
    return model_id


async def register_minilm(cluster: Cluster, client: AsyncOpenSearch) -> str:
    """Register the pretrained MiniLM and deploy it on every node, in simulated time."""
    ml = cluster.ml_commons
    registered = await client.plugins.ml.register_model(
        body={"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}
    )
    await cluster.clock.wait_until(lambda: ml.tasks.get(registered["task_id"])["state"] == "COMPLETED", 600)
    model_id = ml.tasks.get(registered["task_id"])["model_id"]
    await client.plugins.ml.deploy_model(model_id=model_id)
    await cluster.clock.wait_until(lambda: len(ml.workers.nodes(model_id)) == len(cluster.state.nodes), 600)
    return model_id


def add_model(cluster: Cluster, model_id: str, deployed_on: tuple[str, ...] | None = None, **fields: Any) -> None:
    """A model document written straight into the store, for states the APIs reach only
    slowly (partial deployments, hidden models); served by `deployed_on` node names
    (default: every node)."""
    ml = cluster.ml_commons
    doc = {"name": model_id, "model_state": "DEPLOYED", "is_enabled": True, **fields}
    ml.store[MODEL_INDEX].index(model_id, doc)
    names = [node.name for node in cluster.state.nodes.values()] if deployed_on is None else deployed_on
    serve(cluster, model_id, [cluster.node_id(name) for name in names])


def add_remote(cluster: Cluster, model_id: str = "remote-1", deployed_on: tuple[str, ...] | None = None, **fields: Any) -> None:
    add_model(cluster, model_id, deployed_on, algorithm="REMOTE", **{"connector": connector(), **fields})


def add_embedding(cluster: Cluster, model_id: str = "embed-1", deployed_on: tuple[str, ...] | None = None, **fields: Any) -> None:
    config = {"model_type": "bert", "embedding_dimension": 8, "framework_type": "sentence_transformers"}
    add_model(cluster, model_id, deployed_on, algorithm="TEXT_EMBEDDING", model_config=config, **fields)


async def predict(http: TestClient, model_id: str, body: dict[str, Any], path: str | None = None) -> tuple[int, dict[str, Any]]:
    response = await http.post(path or f"/_plugins/_ml/models/{model_id}/_predict", json=body)
    return response.status, await response.json()


def error_of(body: dict[str, Any]) -> tuple[str, str]:
    return body["error"]["type"], body["error"]["reason"]


def data_as_map(body: dict[str, Any]) -> dict[str, Any]:
    return body["inference_results"][0]["output"][0]["dataAsMap"]


def predict_counts(cluster: Cluster, node_name: str, model_id: str) -> tuple[int, int]:
    """(requests, failures) of predict for the model as the node's stats count them."""
    counts = cluster.ml_commons.stats.model_stats(cluster.node_id(node_name)).get(model_id, {}).get("predict", {})
    return counts.get("ml_action_request_count", 0), counts.get("ml_action_failure_count", 0)


# -- remote answers -------------------------------------------------------------------


async def test_remote_model_echoes_the_rendered_payload(client: AsyncOpenSearch) -> None:
    model_id = await register_remote(client)
    answer = await client.plugins.ml.predict_model(model_id=model_id, body={"parameters": {"prompt": 'Say "hi"'}})
    assert answer == {
        "inference_results": [
            {
                "output": [{"name": "response", "dataAsMap": {"model": "gpt-sim", "prompt": 'Say "hi"', "max_tokens": 7.0}}],
                "status_code": 200,
            }
        ]
    }


async def test_algorithm_path_answers_like_the_model_path(client: AsyncOpenSearch) -> None:
    model_id = await register_remote(client)
    answer = await client.plugins.ml.predict(algorithm_name="remote", model_id=model_id, body={"parameters": {"prompt": "x"}})
    assert data_as_map(answer)["prompt"] == "x"


async def test_remote_answer_takes_the_simulated_latency(cluster: Cluster, http: TestClient) -> None:
    cluster.ml_commons.settings.remote_latency_seconds = 1.5
    add_remote(cluster)
    before = cluster.env.now
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert status == 200
    assert cluster.env.now == pytest.approx(before + 1.5)


async def test_request_parameters_override_the_connectors(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster)
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "x", "model": "other", "max_tokens": 3}})
    assert status == 200
    assert data_as_map(body) == {"model": "other", "prompt": "x", "max_tokens": 3.0}


# -- local answers ----------------------------------------------------------------------


async def test_text_embedding_answers_one_vector_per_text(cluster: Cluster, client: AsyncOpenSearch) -> None:
    model_id = await register_minilm(cluster, client)
    answer = await client.plugins.ml.predict_model(model_id=model_id, body={"text_docs": ["hello", "world"]})
    results = answer["inference_results"]
    assert len(results) == 2
    for result in results:
        (output,) = result["output"]
        assert (output["name"], output["data_type"], output["shape"]) == ("sentence_embedding", "FLOAT32", [384])
        assert len(output["data"]) == 384
        assert math.sqrt(sum(v * v for v in output["data"])) == pytest.approx(1.0, abs=1e-5)  # MiniLM normalizes
    assert results[0]["output"][0]["data"] != results[1]["output"][0]["data"]


async def test_embeddings_are_deterministic_and_normalized_on_request(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster, "plain")
    config = {"model_type": "bert", "embedding_dimension": 16, "framework_type": "sentence_transformers", "normalize_result": True}
    add_model(cluster, "unit", algorithm="TEXT_EMBEDDING", model_config=config)
    _, first = await predict(http, "plain", {"text_docs": ["same text"]})
    _, again = await predict(http, "plain", {"text_docs": ["same text"]})
    assert first == again
    _, unit = await predict(http, "unit", {"text_docs": ["same text"]})
    vector = unit["inference_results"][0]["output"][0]["data"]
    assert len(vector) == 16
    assert math.sqrt(sum(v * v for v in vector)) == pytest.approx(1.0, abs=1e-5)
    plain = first["inference_results"][0]["output"][0]["data"]
    assert math.sqrt(sum(v * v for v in plain)) != pytest.approx(1.0, abs=1e-3)


async def test_local_predict_takes_the_inference_profile_time_per_text(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster)
    per_text = cluster.state.settings.inference_profile.mean_seconds(1)
    before = cluster.env.now
    status, _ = await predict(http, "embed-1", {"text_docs": ["a", "b", "c"]})
    assert status == 200
    assert cluster.env.now == pytest.approx(before + 3 * per_text)


# -- refusals, in ml-commons' order -------------------------------------------------------


async def test_unknown_model_is_not_found(http: TestClient) -> None:
    status, body = await predict(http, "nope", {"text_docs": ["x"]})
    assert (status, error_of(body)) == (404, ("status_exception", "Failed to find model"))


async def test_disabled_model_is_forbidden_even_when_not_deployed(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster, deployed_on=(), is_enabled=False)
    status, body = await predict(http, "embed-1", {"text_docs": ["x"]})
    assert (status, error_of(body)) == (403, ("status_exception", "Model is disabled."))


async def test_empty_text_docs_are_refused_before_the_enable_flag(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster, is_enabled=False)
    status, body = await predict(http, "embed-1", {"text_docs": []})
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", "empty docs"))


async def test_unknown_algorithm_in_the_path_is_refused(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster)
    status, body = await predict(http, "remote-1", {}, path="/_plugins/_ml/_predict/nonsense/remote-1")
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", "Wrong function name"))


async def test_body_fields_of_the_wrong_kind_are_parse_errors(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster)
    add_remote(cluster)
    status, body = await predict(http, "embed-1", {"text_docs": "hello"})
    assert (status, error_of(body)) == (
        400,
        ("parsing_exception", "Failed to parse object: expecting token of type [START_ARRAY] but found [VALUE_STRING]"),
    )
    status, body = await predict(http, "remote-1", {"parameters": ["prompt"]})
    assert (status, error_of(body)) == (
        400,
        ("parsing_exception", "Failed to parse object: expecting token of type [START_OBJECT] but found [START_ARRAY]"),
    )


async def test_local_model_not_deployed(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster, deployed_on=())
    status, body = await predict(http, "embed-1", {"text_docs": ["x"]})
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", "Model not ready yet. Please deploy the model first."))


async def test_remote_model_not_deployed_with_auto_deploy_off_for_the_model(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, deployed_on=(), deploy_setting={"is_auto_deploy_enabled": False})
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    reason = "Auto deployment disabled for this model, please deploy model first Model ID: remote-1"
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", reason))


async def test_hidden_model_message_does_not_name_the_model(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, deployed_on=(), deploy_setting={"is_auto_deploy_enabled": False}, is_hidden=True)
    _, body = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert error_of(body)[1] == "Auto deployment disabled for this model, please deploy model first"


async def test_remote_model_not_deployed_with_auto_deploy_off_in_the_cluster(cluster: Cluster, http: TestClient) -> None:
    cluster.ml_commons.settings.model_auto_deploy_enable = False
    add_remote(cluster, deployed_on=())
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", "Model not ready yet. Please deploy the model first."))


async def test_remote_inference_disabled(cluster: Cluster, http: TestClient) -> None:
    cluster.ml_commons.settings.remote_inference_enabled = False
    add_remote(cluster)
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert status == 400  # as register, connectors and deploy answer it
    assert error_of(body) == (
        "illegal_state_exception",
        'Remote Inference is currently disabled. To enable it, update the setting "plugins.ml_commons.remote_inference_enabled" to true.',
    )


async def test_missing_body_is_a_parse_error(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster)
    response = await http.post("/_plugins/_ml/models/remote-1/_predict")
    assert response.status == 400
    assert error_of(await response.json()) == ("parse_exception", "request body is required")


async def raw_predict(http: TestClient, path: str, data: str) -> tuple[int, tuple[str, str]]:
    response = await http.post(path, data=data, headers={"Content-Type": "application/json"})
    return response.status, error_of(await response.json())


async def test_bodies_are_read_with_the_opensearch_parser(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster)
    path = "/_plugins/_ml/models/remote-1/_predict"
    status, (kind, _) = await raw_predict(http, path, '{"parameters": ')
    assert (status, kind) == (400, "json_parse_exception")
    expecting = "Failed to parse object: expecting token of type [START_OBJECT] but found"
    assert await raw_predict(http, path, "[1]") == (400, ("parsing_exception", f"{expecting} [START_ARRAY]"))
    assert await raw_predict(http, path, "  ") == (400, ("parsing_exception", f"{expecting} [null]"))


async def test_the_model_is_fetched_before_the_body_unless_the_path_names_the_algorithm(http: TestClient) -> None:
    assert await raw_predict(http, "/_plugins/_ml/models/nope/_predict", "{") == (
        404, ("status_exception", "Failed to find model")
    )
    status, (kind, _) = await raw_predict(http, "/_plugins/_ml/_predict/remote/nope", "{")
    assert (status, kind) == (400, "json_parse_exception")
    assert await raw_predict(http, "/_plugins/_ml/_predict/nonsense/nope", "{}") == (
        400, ("illegal_argument_exception", "Wrong function name")
    )


async def test_remote_inference_off_is_refused_before_the_body_is_read(cluster: Cluster, http: TestClient) -> None:
    cluster.ml_commons.settings.remote_inference_enabled = False
    add_remote(cluster)
    status, (kind, _) = await raw_predict(http, "/_plugins/_ml/models/remote-1/_predict", "{")
    assert (status, kind) == (400, "illegal_state_exception")


async def test_unfilled_placeholder_is_refused_and_nothing_elapses(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster)
    before = cluster.env.now
    status, body = await predict(http, "remote-1", {"parameters": {}})
    assert (status, error_of(body)) == (
        400,
        ("illegal_argument_exception", "Some parameter placeholder not filled in payload: prompt"),
    )
    assert cluster.env.now == before


async def test_payload_that_is_not_json_is_refused(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, connector=connector('{"n": ${parameters.n}}'))
    status, body = await predict(http, "remote-1", {"parameters": {}})
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", 'Invalid payload: {"n": ${parameters.n}}'))


async def test_skip_validating_missing_parameters(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, connector=connector('{"p": "${parameters.prompt}"}', skip_validating_missing_parameters="true"))
    status, body = await predict(http, "remote-1", {"parameters": {}})
    assert status == 200
    assert data_as_map(body) == {"p": "${parameters.prompt}"}


# -- routing and counting ------------------------------------------------------------------


async def test_requests_go_round_robin_over_the_workers(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster)
    seen = []
    for _ in range(4):
        await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
        seen.append((predict_counts(cluster, "ml-1", "remote-1")[0], predict_counts(cluster, "ml-2", "remote-1")[0]))
    assert seen == [(1, 0), (1, 1), (2, 1), (2, 2)]
    stats = cluster.ml_commons.stats.predict_request_stats(cluster.node_id("ml-1"), "remote-1")
    assert (stats["count"], stats["average"]) == (2, pytest.approx(200.0))


async def test_refusals_before_the_worker_are_not_counted(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster, deployed_on=())
    await predict(http, "embed-1", {"text_docs": ["x"]})
    add_remote(cluster, deployed_on=("ml-1",))
    await predict(http, "remote-1", {"parameters": {}})  # refused on the worker: counted, not a failure
    assert predict_counts(cluster, "ml-1", "embed-1") == (0, 0)
    assert predict_counts(cluster, "ml-1", "remote-1") == (1, 0)


async def test_rate_limited_remote_request_counts_as_a_failure(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, deployed_on=("ml-1",), rate_limiter={"limit": "1", "unit": "MINUTES"})
    first, _ = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    second, body = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert (first, second) == (200, 429)
    assert error_of(body) == ("status_exception", "Request is throttled at model level.")
    assert predict_counts(cluster, "ml-1", "remote-1") == (2, 1)


async def test_local_rate_limit_is_checked_on_the_receiving_node_before_routing(cluster: Cluster, http: TestClient) -> None:
    # every request arrives on ml-1, whose bucket holds limit / workers = 1 token
    add_embedding(cluster, rate_limiter={"limit": "2", "unit": "MINUTES"})
    statuses = [(await predict(http, "embed-1", {"text_docs": ["x"]}))[0] for _ in range(2)]
    assert statuses == [200, 429]
    cluster.clock.advance(60)
    assert (await predict(http, "embed-1", {"text_docs": ["x"]}))[0] == 200


async def test_local_model_not_served_by_the_receiving_node_is_throttled_on_its_workers(
    cluster: Cluster, http: TestClient
) -> None:
    add_embedding(cluster, deployed_on=("ml-2",), rate_limiter={"limit": "1", "unit": "MINUTES"})
    statuses = [(await predict(http, "embed-1", {"text_docs": ["x"]}))[0] for _ in range(3)]
    assert statuses == [200, 429, 429]
    assert predict_counts(cluster, "ml-2", "embed-1") == (1, 0)  # refused before it ran


async def test_forwarded_local_request_spends_a_token_on_both_nodes(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster, rate_limiter={"limit": "4", "unit": "MINUTES"})  # 2 tokens per node
    statuses = [(await predict(http, "embed-1", {"text_docs": ["x"]}))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]  # ml-1 paid for all three, ml-2 for the forwarded one
    cluster.clock.advance(30)  # one token back on each node
    assert (await predict(http, "embed-1", {"text_docs": ["x"]}))[0] == 200


async def test_user_level_limit_uses_the_basic_auth_user(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, deployed_on=("ml-1",))
    controller = await http.post(
        "/_plugins/_ml/controllers/remote-1", json={"user_rate_limiter": {"alice": {"limit": "1", "unit": "MINUTES"}}}
    )
    assert controller.status == 200
    alice = {"Authorization": "Basic YWxpY2U6c2VjcmV0"}  # alice:secret
    body = json.dumps({"parameters": {"prompt": "x"}})
    path = "/_plugins/_ml/models/remote-1/_predict"
    headers = {**alice, "Content-Type": "application/json"}
    first = await http.post(path, data=body, headers=headers)
    second = await http.post(path, data=body, headers=headers)
    anonymous = await http.post(path, data=body, headers={"Content-Type": "application/json"})
    assert (first.status, second.status, anonymous.status) == (200, 429, 200)
    assert error_of(await second.json())[1].startswith("Request is throttled at user level.")


# -- auto-deploy ------------------------------------------------------------------------------


async def test_remote_model_is_deployed_by_its_first_predict(cluster: Cluster, client: AsyncOpenSearch) -> None:
    body = {"name": "chat", "function_name": "remote", "connector": connector()}
    model_id = (await client.plugins.ml.register_model(body=body))["model_id"]
    assert cluster.ml_commons.workers.nodes(model_id) == []
    answer = await client.plugins.ml.predict_model(model_id=model_id, body={"parameters": {"prompt": "x"}})
    assert data_as_map(answer)["prompt"] == "x"
    assert cluster.ml_commons.workers.nodes(model_id) == sorted(cluster.state.nodes)
    assert (await client.plugins.ml.get_model(model_id=model_id))["model_state"] == "DEPLOYED"


async def test_remote_model_serving_on_fewer_nodes_than_planned_is_redeployed(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, deployed_on=("ml-1",), planning_worker_nodes=sorted(cluster.state.nodes))
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "x"}})
    assert status == 200
    assert cluster.ml_commons.workers.nodes("remote-1") == sorted(cluster.state.nodes)


async def test_local_model_serving_on_fewer_nodes_than_planned_keeps_serving(cluster: Cluster, http: TestClient) -> None:
    add_embedding(cluster, deployed_on=("ml-2",), planning_worker_nodes=sorted(cluster.state.nodes))
    status, _ = await predict(http, "embed-1", {"text_docs": ["x"]})
    assert status == 200
    assert cluster.ml_commons.workers.nodes("embed-1") == [cluster.node_id("ml-2")]


async def test_auto_deploy_without_eligible_nodes() -> None:
    empty = Cluster(clock="virtual")
    add_remote(empty, deployed_on=(), model_state="REGISTERED")
    with pytest.raises(MlError) as raised:
        await empty.ml_commons.predictor.predict("remote-1", {"parameters": {"prompt": "x"}})
    assert (raised.value.status, raised.value.reason) == (400, "no eligible node to run predict request")
    assert any(e.kind == "os_auto_deploy_failed" for e in empty.log)


async def test_realtime_clock_waits_without_blocking_the_loop() -> None:
    import asyncio

    realtime = Cluster(clock="realtime", speed=100.0)
    realtime.add_node("ml-1")
    add_remote(realtime)
    driver = asyncio.create_task(realtime.clock.drive_realtime())
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    try:
        answer = await asyncio.wait_for(realtime.ml_commons.predictor.predict("remote-1", {"parameters": {"prompt": "x"}}), 5)
    finally:
        driver.cancel()
        ticker.cancel()
    assert data_as_map(answer)["prompt"] == "x"
    assert realtime.env.now >= realtime.ml_commons.settings.remote_latency_seconds
    assert ticks > 1

"""Connectors end to end: create with ml-commons' checks, get and search without credentials,
update refused while deployed models use the connector, delete refused while models use it."""

from __future__ import annotations

import copy

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, ConflictError, NotFoundError, RequestError

from cluster.cluster import Cluster
from cluster.errors import MlError
from cluster.opensearch.documents import CONNECTOR_INDEX

from .ml_helpers import OPENAI_CONNECTOR, error_of, raw_error, set_model_state

ML = "/_plugins/_ml"
AWS_CONNECTOR = {
    "name": "bedrock", "version": "1", "protocol": "aws_sigv4",
    "parameters": {"region": "us-east-1", "service_name": "bedrock"},
    "credential": {"access_key": "AK", "secret_key": "SK"},
    "actions": [{"action_type": "PREDICT", "method": "POST",
                 "url": "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke"}],
    "client_config": {"max_connection": 5},
}


def without(body: dict, *keys: str) -> dict:
    return {key: value for key, value in body.items() if key not in keys}


async def test_create_and_get_without_credential(client: AsyncOpenSearch, cluster: Cluster) -> None:
    connector_id = (await client.plugins.ml.create_connector(body=OPENAI_CONNECTOR))["connector_id"]
    got = await client.plugins.ml.get_connector(connector_id=connector_id)
    now = cluster.clock.millis()
    assert got == {
        "name": "OpenAI chat", "version": "1", "description": "chat completions", "protocol": "http",
        "parameters": {"endpoint": "api.openai.com", "model": "gpt-4o-mini", "temperature": "0"},
        "actions": [{**OPENAI_CONNECTOR["actions"][0], "action_type": "PREDICT"}],
        "created_time": now, "last_updated_time": now,
    }
    stored = cluster.ml_commons.connectors.get(connector_id)
    assert stored["credential"] == {"openAI_key": "sk-secret"}


async def test_aws_connector_gets_client_config_defaults(client: AsyncOpenSearch) -> None:
    connector_id = (await client.plugins.ml.create_connector(body=AWS_CONNECTOR))["connector_id"]
    got = await client.plugins.ml.get_connector(connector_id=connector_id)
    assert got["client_config"] == {"max_connection": 5, "connection_timeout": 1000, "read_timeout": 10000,
                                    "retry_backoff_millis": 200, "retry_timeout_seconds": 30, "max_retry_times": 0,
                                    "retry_backoff_policy": "constant"}


@pytest.mark.parametrize(("body", "reason"), [
    (without(OPENAI_CONNECTOR, "name"), "Connector name is null"),
    (without(OPENAI_CONNECTOR, "version"), "Connector version is null"),
    (without(OPENAI_CONNECTOR, "protocol"), "Connector protocol is null"),
    (without(OPENAI_CONNECTOR, "credential"), "Connector credential is null or empty list"),
    ({**OPENAI_CONNECTOR, "protocol": "grpc"},
     "Unsupported connector protocol. Please use one of [aws_sigv4, http, google_cloud, mcp_sse, mcp_streamable_http]"),
    ({**AWS_CONNECTOR, "credential": {"access_key": "AK"}}, "Missing credential"),
    ({**AWS_CONNECTOR, "parameters": {"service_name": "bedrock"}}, "Missing region"),
    ({**OPENAI_CONNECTOR, "actions": [{"action_type": "predict", "method": "POST"}]}, "url can't be null"),
    ({**OPENAI_CONNECTOR, "actions": [{"action_type": "train", "method": "POST", "url": "https://x"}]},
     "No enum constant org.opensearch.ml.common.connector.ConnectorAction.ActionType.TRAIN"),
    ({**OPENAI_CONNECTOR, "access_mode": "public"},
     "You cannot specify model access control parameters because the Security plugin or model access control is "
     "disabled on your cluster."),
])
async def test_create_checks(client: AsyncOpenSearch, body: dict, reason: str) -> None:
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.create_connector(body=body)
    assert error_of(caught.value) == (400, "illegal_argument_exception", reason)
    found = await client.plugins.ml.search_connectors(body={"query": {"match_all": {}}})
    assert found["hits"]["total"]["value"] == 0


async def test_wrong_kinds_and_empty_body(http: TestClient, cluster: Cluster) -> None:
    bad_action = copy.deepcopy(OPENAI_CONNECTOR)
    bad_action["actions"][0]["request_body"] = {"messages": []}
    response = await http.post(f"{ML}/connectors/_create", json=bad_action)
    assert await raw_error(response) == (400, "parse_exception", "Can't get text on a START_OBJECT")
    response = await http.post(f"{ML}/connectors/_create", json={**OPENAI_CONNECTOR, "actions": {"a": 1}})
    assert await raw_error(response) == (400, "parsing_exception", "Failed to parse object: expecting token of type "
                                                                   "[START_ARRAY] but found [START_OBJECT]")
    response = await http.post(f"{ML}/connectors/_create")
    # 500 in OpenSearch: a deviation
    assert await raw_error(response) == (400, "i_o_exception", "Create Connector request has empty body")
    cluster.ml_commons.settings.remote_inference_enabled = False
    response = await http.post(f"{ML}/connectors/_create", json=OPENAI_CONNECTOR)
    status, _, reason = await raw_error(response)
    assert status == 400 and reason.startswith("Remote Inference is currently disabled.")
    assert not cluster.ml_commons.store[CONNECTOR_INDEX].docs


async def test_search_strips_credentials(client: AsyncOpenSearch) -> None:
    await client.plugins.ml.create_connector(body=OPENAI_CONNECTOR)
    await client.plugins.ml.create_connector(body=AWS_CONNECTOR)
    found = await client.plugins.ml.search_connectors(body={"query": {"term": {"protocol": "aws_sigv4"}}})
    assert [hit["_source"]["name"] for hit in found["hits"]["hits"]] == ["bedrock"]
    everything = await client.plugins.ml.search_connectors(body={"query": {"match_all": {}}})
    assert all("credential" not in hit["_source"] for hit in everything["hits"]["hits"])


async def test_missing_connector(client: AsyncOpenSearch, http: TestClient) -> None:
    """Before the first connector the index does not exist: ml-commons' shorter wording, and a
    delete is 404; afterwards a missing one is named, and its delete answers 200 `not_found`."""
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.get_connector(connector_id="nope")
    assert error_of(caught.value) == (404, "status_exception", "Failed to find connector")
    response = await http.delete(f"{ML}/connectors/nope")
    assert await raw_error(response) == (404, "status_exception", "Failed to find connector")
    await client.plugins.ml.create_connector(body=OPENAI_CONNECTOR)
    with pytest.raises(NotFoundError) as caught:
        await client.plugins.ml.get_connector(connector_id="nope")
    assert error_of(caught.value) == (
        404, "status_exception", "Failed to find connector with the provided connector id: nope")
    deleted = await client.plugins.ml.delete_connector(connector_id="nope")
    assert (deleted["_id"], deleted["result"]) == ("nope", "not_found")


async def test_update_is_refused_while_deployed_models_use_it(client: AsyncOpenSearch, cluster: Cluster) -> None:
    connector_id = (await client.plugins.ml.create_connector(body=OPENAI_CONNECTOR))["connector_id"]
    model_id = (await client.plugins.ml.register_model(
        body={"name": "chat", "function_name": "remote", "connector_id": connector_id}))["model_id"]
    cluster.advance(2)
    updated = await client.plugins.ml.update_connector(
        connector_id=connector_id, body={"description": "new", "credential": {"openAI_key": "sk-rotated"}})
    assert (updated["_index"], updated["_id"], updated["result"], updated["_version"]) == (
        ".plugins-ml-connector", connector_id, "updated", 2)
    got = await client.plugins.ml.get_connector(connector_id=connector_id)
    assert got["description"] == "new" and got["last_updated_time"] == cluster.clock.millis()
    assert cluster.ml_commons.connectors.get(connector_id)["credential"] == {"openAI_key": "sk-rotated"}

    set_model_state(cluster, model_id, "DEPLOYED")
    with pytest.raises(RequestError) as caught:
        await client.plugins.ml.update_connector(connector_id=connector_id, body={"description": "again"})
    assert error_of(caught.value) == (
        400, "status_exception",
        f"1 models are still using this connector, please undeploy the models first: [{model_id}]")


async def test_delete_is_refused_while_models_use_it(client: AsyncOpenSearch, http: TestClient) -> None:
    connector_id = (await client.plugins.ml.create_connector(body=OPENAI_CONNECTOR))["connector_id"]
    model_id = (await client.plugins.ml.register_model(
        body={"name": "chat", "function_name": "remote", "connector_id": connector_id}))["model_id"]
    with pytest.raises(ConflictError) as caught:
        await client.plugins.ml.delete_connector(connector_id=connector_id)
    assert error_of(caught.value)[2] == (
        f"1 models are still using this connector, please delete or update the models first: [{model_id}]")
    await client.plugins.ml.delete_model(model_id=model_id)
    deleted = await client.plugins.ml.delete_connector(connector_id=connector_id)
    assert deleted["result"] == "deleted"
    again = await http.delete(f"{ML}/connectors/{connector_id}")
    assert again.status == 200 and (await again.json())["result"] == "not_found"


async def test_validate_is_the_inline_form(cluster: Cluster) -> None:
    connectors = cluster.ml_commons.connectors
    inline = connectors.validate({"protocol": "http", "actions": OPENAI_CONNECTOR["actions"]})
    assert inline == {"protocol": "http", "actions": [{**OPENAI_CONNECTOR["actions"][0], "action_type": "PREDICT"}]}
    with pytest.raises(MlError, match="connector protocol is null"):
        connectors.validate({"name": "no protocol"})

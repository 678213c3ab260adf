"""A model's `interface`: the predict input and answer checked against its JSON schemas."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, TransportError

from cluster.cluster import Cluster

from .test_predict import add_embedding, add_remote, data_as_map, error_of, predict, register_remote

INPUT_PREFIX = (
    "Error validating input schema, if you think this is expected, please update your 'input' field "
    "in the 'interface' field for this model: "
)
OUTPUT_PREFIX = (
    "Error validating output schema, if you think this is expected, please update your 'output' field "
    "in the 'interface' field for this model: "
)

PROMPT_INPUT = json.dumps(
    {
        "type": "object",
        "properties": {
            "parameters": {
                "type": "object",
                "properties": {"prompt": {"type": "string"}, "max_tokens": {"type": "integer"}},
                "required": ["prompt"],
            }
        },
        "required": ["parameters"],
    }
)

TEXT_OUTPUT = json.dumps(
    {
        "type": "object",
        "properties": {
            "inference_results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "output": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "dataAsMap": {
                                        "type": "object",
                                        "properties": {"text": {"type": "string"}},
                                        "required": ["text"],
                                    },
                                },
                            },
                        },
                        "status_code": {"type": "integer"},
                    },
                },
            }
        },
    }
)


async def test_input_schema_refuses_a_missing_parameter(client: AsyncOpenSearch) -> None:
    model_id = await register_remote(client, interface={"input": PROMPT_INPUT})
    with pytest.raises(TransportError) as raised:
        await client.plugins.ml.predict_model(model_id=model_id, body={"parameters": {"question": "q"}})
    assert raised.value.status_code == 400
    assert raised.value.info["error"]["type"] == "status_exception"
    assert raised.value.info["error"]["reason"] == (
        INPUT_PREFIX
        + "Validation failed: [$.parameters: required property 'prompt' not found] for instance: "
        + '{"algorithm":"REMOTE","parameters":{"question":"q"}} with schema: '
        + PROMPT_INPUT
    )


async def test_input_schema_sees_parameters_in_their_json_types(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, interface={"input": PROMPT_INPUT})
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "hi", "max_tokens": 5}})
    assert status == 200
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "hi", "max_tokens": "many"}})
    assert status == 400
    assert "$.parameters.max_tokens: string found, integer expected" in error_of(body)[1]


async def test_input_instance_holds_the_parameters_as_sent(cluster: Cluster, http: TestClient) -> None:
    schema = json.dumps({"properties": {"parameters": {"properties": {"prompt": {"type": "string", "pattern": '^say "'}}}}})
    add_remote(cluster, interface={"input": schema})
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": 'say "hi"'}})
    assert status == 200  # validated before the connector escapes the quotes


async def test_input_is_checked_before_routing(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, deployed_on=(), interface={"input": PROMPT_INPUT}, deploy_setting={"is_auto_deploy_enabled": False})
    status, body = await predict(http, "remote-1", {"parameters": {}})
    assert status == 400
    assert error_of(body)[1].startswith(INPUT_PREFIX)


async def test_output_schema_refuses_an_answer_without_the_field(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, interface={"output": TEXT_OUTPUT})
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "hi"}})
    assert status == 400
    reason = error_of(body)[1]
    assert reason.startswith(OUTPUT_PREFIX + "Validation failed: [$.inference_results[0].output[0].dataAsMap: required property 'text' not found]")


async def test_output_schema_accepts_a_matching_answer(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, interface={"output": TEXT_OUTPUT})
    from .test_predict import connector

    add_remote(cluster, "remote-2", connector=connector(mlsim_response='{"text": "ok"}'), interface={"output": TEXT_OUTPUT})
    status, body = await predict(http, "remote-2", {"parameters": {"prompt": "hi"}})
    assert (status, data_as_map(body)) == (200, {"text": "ok"})


async def test_output_is_checked_after_the_simulated_call(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, interface={"output": TEXT_OUTPUT})
    before = cluster.env.now
    await predict(http, "remote-1", {"parameters": {"prompt": "hi"}})
    assert cluster.env.now > before


async def test_local_model_input_is_its_text_docs(cluster: Cluster, http: TestClient) -> None:
    schema = json.dumps({"type": "object", "properties": {"text_docs": {"type": "array", "maxItems": 1}}})
    add_embedding(cluster, interface={"input": schema})
    status, _ = await predict(http, "embed-1", {"text_docs": ["one"]})
    assert status == 200
    status, body = await predict(http, "embed-1", {"text_docs": ["one", "two"]})
    assert status == 400
    assert error_of(body)[1] == (
        INPUT_PREFIX
        + "Validation failed: [$.text_docs: expected at most 1 items but found 2] for instance: "
        + '{"algorithm":"TEXT_EMBEDDING","text_docs":["one","two"],"return_bytes":false,"return_number":true}'
        + " with schema: "
        + schema
    )


async def test_schema_that_is_not_json_refuses_every_request(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, interface={"input": "{not json"})
    status, body = await predict(http, "remote-1", {"parameters": {"prompt": "hi"}})
    assert status == 400
    assert error_of(body)[1].startswith(INPUT_PREFIX + "invalid schema")


async def test_empty_interface_checks_nothing(cluster: Cluster, http: TestClient) -> None:
    add_remote(cluster, interface={"input": "", "output": None})
    status, _ = await predict(http, "remote-1", {"parameters": {"prompt": "hi"}})
    assert status == 200

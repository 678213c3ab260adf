"""The update model API (`PUT /_plugins/_ml/models/{model_id}`): the documentation's examples
verbatim (official client and raw HTTP), what each field does to the stored model, and each
of ml-commons' refusals with its exact body, in the order ml-commons checks them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster
from cluster.opensearch.documents import MODEL_GROUP_INDEX, MODEL_INDEX

# The update-model documentation page's requests, byte for byte.
DISABLE = ('MzcIJX8BA7mbufL6DOwl', r'''{
    "is_enabled": false
}''')

RATE_LIMIT = ('T_S-cY0BKCJ3ot9qr0aP', r'''{
  "rate_limiter": {
    "limit": "4",
    "unit": "MINUTES"
  }
}''')

LOCAL_REGEX_GUARDRAILS = ('MzcIJX8BA7mbufL6DOwl', r'''{
  "guardrails": {
    "type": "local_regex",
    "input_guardrail": {
      "stop_words": [
        {
          "index_name": "updated_stop_words_input",
          "source_fields": ["updated_title"]
        }
      ],
      "regex": ["updated_regex1", "updated_regex2"]
    },
    "output_guardrail": {
      "stop_words": [
        {
          "index_name": "updated_stop_words_output",
          "source_fields": ["updated_title"]
        }
      ],
      "regex": ["updated_regex1", "updated_regex2"]
    }
  }
}''')

MODEL_GUARDRAILS = ('9uGdCJABjaMXYrp14YRj', r'''{
  "guardrails": {
    "type": "model",
    "input_guardrail": {
      "model_id": "V-G1CJABjaMXYrp1QoUC",
      "response_validation_regex": "^\\s*[Aa]ccept\\s*$"
    },
    "output_guardrail": {
      "model_id": "V-G1CJABjaMXYrp1QoUC",
      "response_validation_regex": "^\\s*[Aa]ccept\\s*$"
    }
  }
}''')

OUTPUT_INTERFACE = ('IMcNB5UB7judm8f45nXo', r'''{
    "interface": {
        "output": "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"inference_results\": {\n      \"type\": \"array\",\n      \"items\": {\n        \"type\": \"object\",\n        \"properties\": {\n          \"output\": {\n            \"type\": \"array\",\n            \"items\": {\n              \"type\": \"object\",\n              \"properties\": {\n                \"name\": {\n                  \"type\": \"string\"\n                },\n                \"dataAsMap\": {\n                  \"type\": \"object\",\n                  \"properties\": {\n                    \"id\": {\n                      \"type\": \"number\"\n                    },\n                    \"prompt\": {\n                      \"type\": \"object\",\n                      \"properties\": {\n                        \"text\": {\n                          \"type\": \"string\"\n                        },\n                        \"tokens\": {\n                          \"type\": \"array\",\n                          \"items\": {\n                            \"type\": \"object\",\n                            \"properties\": {\n                              \"generatedToken\": {\n                                \"type\": \"object\",\n                                \"properties\": {\n                                  \"token\": {\n                                    \"type\": \"string\"\n                                  },\n                                  \"logprob\": {\n                                    \"type\": \"number\"\n                                  },\n                                  \"raw_logprob\": {\n                                    \"type\": \"number\"\n                                  }\n                                }\n                              },\n                              \"textRange\": {\n                                \"type\": \"object\",\n                                \"properties\": {\n                                  \"start\": {\n                                    \"type\": \"number\"\n                                  },\n                                  \"end\": {\n                                    \"type\": \"number\"\n                                  }\n                                }\n                              }\n                            }\n                          }\n                        }\n                      }\n                    },\n                    \"completions\": {\n                      \"type\": \"array\",\n                      \"items\": {\n                        \"type\": \"object\",\n                        \"properties\": {\n                          \"data\": {\n                            \"type\": \"object\",\n                            \"properties\": {\n                              \"text\": {\n                                \"type\": \"string\"\n                              },\n                              \"tokens\": {\n                                \"type\": \"array\",\n                                \"items\": {\n                                  \"type\": \"object\",\n                                  \"properties\": {\n                                    \"generatedToken\": {\n                                      \"type\": \"object\",\n                                      \"properties\": {\n                                        \"token\": {\n                                          \"type\": \"string\"\n                                        },\n                                        \"logprob\": {\n                                          \"type\": \"number\"\n                                        },\n                                        \"raw_logprob\": {\n                                          \"type\": \"number\"\n                                        }\n                                      }\n                                    },\n                                    \"textRange\": {\n                                      \"type\": \"object\",\n                                      \"properties\": {\n                                        \"start\": {\n                                          \"type\": \"number\"\n                                        },\n                                        \"end\": {\n                                          \"type\": \"number\"\n                                        }\n                                      }\n                                    }\n                                  }\n                                }\n                              }\n                            }\n                          },\n                          \"finishReason\": {\n                            \"type\": \"object\",\n                            \"properties\": {\n                              \"reason\": {\n                                \"type\": \"string\"\n                              },\n                              \"length\": {\n                                \"type\": \"number\"\n                              }\n                            }\n                          }\n                        }\n                      }\n                    }\n                  }\n                }\n              }\n            }\n          },\n          \"status_code\": {\n            \"type\": \"integer\"\n          }\n        }\n      }\n    }\n  }\n}"
    }
}''')

NULL_INTERFACE = ('IMcNB5UB7judm8f45nXo', r'''{
  "interface": {
    "input": null,
    "output": null
  }
}''')

SEED_RESPONSE_KEYS = ["_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term"]

CONNECTOR = {
    "name": "inline",
    "protocol": "http",
    "parameters": {"endpoint": "api.openai.com", "model": "gpt-3.5-turbo"},
    "credential": {"openAI_key": "secret"},
    "actions": [{"action_type": "PREDICT", "method": "POST", "url": "https://api.openai.com/v1/chat/completions"}],
}


def put_model(cluster: Cluster, model_id: str, **fields: Any) -> dict[str, Any]:
    """A model document as ml-commons stores one (register is another part's job)."""
    doc = {
        "name": "all-MiniLM-L6-v2",
        "model_group_id": "group-1",
        "algorithm": "TEXT_EMBEDDING",
        "model_version": "1",
        "model_state": "REGISTERED",
        "is_enabled": True,
        **fields,
    }
    return cluster.ml_commons.store[MODEL_INDEX].index(model_id, doc)


def stored(cluster: Cluster, model_id: str) -> dict[str, Any]:
    return cluster.ml_commons.store[MODEL_INDEX].get(model_id)


def version(cluster: Cluster, model_id: str) -> int:
    return cluster.ml_commons.store[MODEL_INDEX].docs[model_id].version


def error(status: int, error_type: str, reason: str) -> dict[str, Any]:
    cause = {"type": error_type, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def seed_models(cluster: Cluster) -> None:
    put_model(cluster, "MzcIJX8BA7mbufL6DOwl", model_state="DEPLOYED")
    put_model(cluster, "T_S-cY0BKCJ3ot9qr0aP")
    put_model(cluster, "9uGdCJABjaMXYrp14YRj", algorithm="REMOTE", connector=CONNECTOR)
    put_model(cluster, "IMcNB5UB7judm8f45nXo", algorithm="REMOTE", connector_id="conn-1")


SEEDS = [DISABLE, RATE_LIMIT, LOCAL_REGEX_GUARDRAILS, MODEL_GUARDRAILS, OUTPUT_INTERFACE, NULL_INTERFACE]


@pytest.mark.parametrize("model_id, text", SEEDS)
async def test_documentation_examples_through_the_client(
    cluster: Cluster, client: AsyncOpenSearch, model_id: str, text: str
) -> None:
    seed_models(cluster)
    answer = await client.plugins.ml.update_model(model_id=model_id, body=json.loads(text))
    assert list(answer) == SEED_RESPONSE_KEYS
    assert answer["_index"] == ".plugins-ml-model" and answer["_id"] == model_id
    assert answer["result"] == "updated" and answer["_version"] == 2
    assert answer["_shards"] == {"total": 1, "successful": 1, "failed": 0}


@pytest.mark.parametrize("model_id, text", SEEDS)
async def test_documentation_examples_as_raw_http(cluster: Cluster, http: TestClient, model_id: str, text: str) -> None:
    seed_models(cluster)
    response = await http.put(f"/_plugins/_ml/models/{model_id}", data=text, headers={"Content-Type": "application/json"})
    assert response.status == 200
    answer = await response.json()
    assert answer["result"] == "updated" and answer["_id"] == model_id and answer["_primary_term"] == 1


async def test_each_update_bumps_version_and_sequence_number(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    first = await client.plugins.ml.update_model(model_id="MzcIJX8BA7mbufL6DOwl", body={"description": "a"})
    second = await client.plugins.ml.update_model(model_id="MzcIJX8BA7mbufL6DOwl", body={"description": "b"})
    assert (first["_version"], second["_version"]) == (2, 3)
    assert second["_seq_no"] > first["_seq_no"]


async def test_disable_is_stored_with_the_update_time(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    cluster.advance(42)
    model_id, text = DISABLE
    await client.plugins.ml.update_model(model_id=model_id, body=json.loads(text))
    doc = stored(cluster, model_id)
    assert doc["is_enabled"] is False
    assert doc["last_updated_time"] == cluster.clock.millis()
    assert doc["model_state"] == "DEPLOYED"  # updated in place: no undeploy


async def test_rate_limiter_merges_field_by_field_and_cannot_be_removed(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    model_id, text = RATE_LIMIT
    await client.plugins.ml.update_model(model_id=model_id, body=json.loads(text))
    assert stored(cluster, model_id)["rate_limiter"] == {"limit": "4", "unit": "MINUTES"}
    await client.plugins.ml.update_model(model_id=model_id, body={"rate_limiter": {"unit": "SECONDS"}})
    assert stored(cluster, model_id)["rate_limiter"] == {"limit": "4", "unit": "SECONDS"}
    await client.plugins.ml.update_model(model_id=model_id, body={"rate_limiter": {}})
    assert stored(cluster, model_id)["rate_limiter"] == {"limit": "4", "unit": "SECONDS"}
    await client.plugins.ml.update_model(model_id=model_id, body={"rate_limiter": {"limit": 10}})
    assert stored(cluster, model_id)["rate_limiter"] == {"limit": "10", "unit": "SECONDS"}


async def test_guardrails_are_stored_in_their_document_form(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    for model_id, text in (LOCAL_REGEX_GUARDRAILS, MODEL_GUARDRAILS):
        await client.plugins.ml.update_model(model_id=model_id, body=json.loads(text))
        assert stored(cluster, model_id)["guardrails"] == json.loads(text)["guardrails"]
    await client.plugins.ml.update_model(
        model_id="T_S-cY0BKCJ3ot9qr0aP", body={"guardrails": {"input_guardrail": {"regex": ["a.*"], "other": 1}}}
    )
    assert stored(cluster, "T_S-cY0BKCJ3ot9qr0aP")["guardrails"] == {
        "type": "local_regex",  # the default type
        "input_guardrail": {"regex": ["a.*"]},
    }


async def test_interface_keeps_input_and_output_as_schema_strings(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    model_id, text = OUTPUT_INTERFACE
    await client.plugins.ml.update_model(model_id=model_id, body=json.loads(text))
    assert stored(cluster, model_id)["interface"] == {"output": json.loads(text)["interface"]["output"]}
    await client.plugins.ml.update_model(
        model_id=model_id, body={"interface": {"input": {"type": "object"}, "other": "dropped"}}
    )
    interface = stored(cluster, model_id)["interface"]
    assert interface["input"] == '{"type":"object"}' and "other" not in interface
    await client.plugins.ml.update_model(model_id=model_id, body={"interface": None})
    assert stored(cluster, model_id)["interface"] == interface  # a null interface changes nothing
    model_id, text = NULL_INTERFACE
    await client.plugins.ml.update_model(model_id=model_id, body=json.loads(text))
    assert stored(cluster, model_id)["interface"] == {"input": None, "output": None}  # no schema validated


async def test_unknown_fields_are_skipped_and_the_url_names_the_model(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    await client.plugins.ml.update_model(
        model_id="T_S-cY0BKCJ3ot9qr0aP",
        body={"model_id": "other", "name": "renamed", "whatever": {"x": [1]}, "model_version": "99"},
    )
    doc = stored(cluster, "T_S-cY0BKCJ3ot9qr0aP")
    assert doc["name"] == "renamed" and doc["model_version"] == "1"
    assert "whatever" not in doc and "model_id" not in doc
    assert stored(cluster, "MzcIJX8BA7mbufL6DOwl")["name"] == "all-MiniLM-L6-v2"


async def test_model_config_and_deploy_setting(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    body = {
        "model_config": {"model_type": "bert", "embedding_dimension": "384", "framework_type": "sentence_transformers"},
        "deploy_setting": {"is_auto_deploy_enabled": "false", "model_ttl_minutes": 5},
    }
    await client.plugins.ml.update_model(model_id="T_S-cY0BKCJ3ot9qr0aP", body=body)
    doc = stored(cluster, "T_S-cY0BKCJ3ot9qr0aP")
    assert doc["model_config"] == {"model_type": "bert", "embedding_dimension": 384, "framework_type": "SENTENCE_TRANSFORMERS"}
    assert doc["deploy_setting"] == {"is_auto_deploy_enabled": False, "model_ttl_minutes": 5}


async def test_inline_connector_is_merged_and_checked(cluster: Cluster, client: AsyncOpenSearch, http: TestClient) -> None:
    seed_models(cluster)
    await client.plugins.ml.update_model(
        model_id="9uGdCJABjaMXYrp14YRj", body={"connector": {"description": "rotated", "credential": {"openAI_key": "new"}}}
    )
    connector = stored(cluster, "9uGdCJABjaMXYrp14YRj")["connector"]
    assert connector["description"] == "rotated" and connector["credential"] == {"openAI_key": "new"}
    assert connector["actions"] == CONNECTOR["actions"] and connector["protocol"] == "http"
    before = version(cluster, "9uGdCJABjaMXYrp14YRj")
    response = await http.put("/_plugins/_ml/models/9uGdCJABjaMXYrp14YRj", json={"connector": {"protocol": "ftp"}})
    assert response.status == 400
    assert version(cluster, "9uGdCJABjaMXYrp14YRj") == before


async def test_relinking_to_another_group_takes_its_next_version(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    cluster.ml_commons.store[MODEL_GROUP_INDEX].index("group-2", {"name": "other", "latest_version": 3})
    await client.plugins.ml.update_model(model_id="T_S-cY0BKCJ3ot9qr0aP", body={"model_group_id": "group-2"})
    doc = stored(cluster, "T_S-cY0BKCJ3ot9qr0aP")
    assert (doc["model_group_id"], doc["model_version"]) == ("group-2", "4")
    assert cluster.ml_commons.store[MODEL_GROUP_INDEX].get("group-2")["latest_version"] == 4
    # naming the group the model is already in is no re-link
    await client.plugins.ml.update_model(model_id="T_S-cY0BKCJ3ot9qr0aP", body={"model_group_id": "group-2"})
    assert stored(cluster, "T_S-cY0BKCJ3ot9qr0aP")["model_version"] == "4"


async def test_python_api_takes_a_dict(cluster: Cluster) -> None:
    seed_models(cluster)
    answer = cluster.ml_commons.updates.update("T_S-cY0BKCJ3ot9qr0aP", {"description": "from python"})
    assert answer["result"] == "updated"
    assert stored(cluster, "T_S-cY0BKCJ3ot9qr0aP")["description"] == "from python"


# -- refusals, in ml-commons' order; each leaves the model as it was -------------------------

REMOTE_TEXT_EMBEDDING = {"model_config": {"model_type": "text_embedding"}}


@pytest.mark.parametrize(
    "model_id, body, status, error_type, reason",
    [
        ("T_S-cY0BKCJ3ot9qr0aP", "", 400, "parse_exception", "Update model request has empty body"),
        (
            "IMcNB5UB7judm8f45nXo", '{"connector_id": "c", "connector": {"name": "x"}}', 400, "status_exception",
            "Model cannot have both stand-alone connector and internal connector. Please check your update input body.",
        ),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"name":null}', 400, "parse_exception", "Can't get text on a VALUE_NULL at 1:9"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{\n  "description": {"a": 1}\n}', 400, "parse_exception",
         "Can't get text on a START_OBJECT at 2:18"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"rate_limiter": {"limit": null}}', 400, "parse_exception",
         "Can't get text on a VALUE_NULL at 1:28"),
        ("missing", '{"name": "x"}', 404, "status_exception",
         "Failed to find model to update with the provided model id: missing"),
        ("deploying", '{"name": "x"}', 409, "status_exception",
         "Model is deploying. Please wait for the model to complete deployment. model ID deploying"),
        ("kmeans", '{"name": "x"}', 403, "status_exception", "The function category KMEANS is not supported at this time."),
        ("hidden", '{"name": "x"}', 403, "status_exception",
         "User doesn't have privilege to perform this operation on this model"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"model_config": {"model_type": "bert"}}', 400, "status_exception",
         "Embedding dimension is null"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"model_config": {"embedding_dimension": 384}}', 400, "status_exception",
         "Framework type is null"),
        ("IMcNB5UB7judm8f45nXo", json.dumps(REMOTE_TEXT_EMBEDDING), 400, "status_exception",
         "Embedding dimension must be provided for remote text embedding model"),
        ("IMcNB5UB7judm8f45nXo",
         '{"model_config": {"model_type": "text_embedding", "embedding_dimension": 8}}', 400, "status_exception",
         "Framework type must be provided for remote text embedding model"),
        ("IMcNB5UB7judm8f45nXo",
         '{"model_config": {"model_type": "TEXT_EMBEDDING", "embedding_dimension": 8, '
         '"framework_type": "huggingface_transformers"}}', 400, "status_exception",
         "Space type must be provided in additional_config for remote text embedding model"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"connector_id": "c"}', 400, "status_exception",
         "Trying to update the connector or connector_id field on a local model."),
        ("IMcNB5UB7judm8f45nXo", '{"connector": {"description": "x"}}', 400, "status_exception",
         "Cannot update connector settings for this model. The model was created with a connector_id and does not "
         "have an inline connector."),
        ("9uGdCJABjaMXYrp14YRj", '{"connector_id": "c"}', 400, "status_exception",
         "This remote does not have a connector_id field, maybe it uses an internal connector."),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"model_group_id": "nowhere"}', 404, "status_exception",
         "Failed to find the model group with the provided model group id in the update model input, "
         "MODEL_GROUP_ID: nowhere"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"rate_limiter": {"limit": "-1"}}', 400, "parse_exception",
         "Limit field must be a positive number."),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"rate_limiter": {"limit": "four"}}', 400, "parse_exception",
         "Limit field must be a positive number."),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"rate_limiter": {"unit": "WEEKS"}}', 400, "illegal_argument_exception",
         "No enum constant java.util.concurrent.TimeUnit.WEEKS"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"rate_limiter": "4/MINUTES"}', 400, "parsing_exception",
         "Failed to parse object: expecting token of type [START_OBJECT] but found [VALUE_STRING]"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"guardrails": {"type": "regex"}}', 400, "illegal_argument_exception",
         "The type of guardrails is required, can not be null."),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"is_enabled": "no"}', 400, "illegal_argument_exception",
         "Failed to parse value [no] as only [true] or [false] are allowed."),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"is_enabled": null}', 400, "json_parse_exception",
         "Current token (VALUE_NULL) not of boolean type\n at [Source: REDACTED "
         "(`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 20]"),
        ("T_S-cY0BKCJ3ot9qr0aP", '["is_enabled"]', 400, "parsing_exception",
         "Failed to parse object: expecting token of type [START_OBJECT] but found [START_ARRAY]"),
        ("T_S-cY0BKCJ3ot9qr0aP", '{"model_config": {"framework_type": "onnx"}}', 400, "illegal_argument_exception",
         "Wrong framework type"),
    ],
)
async def test_refusals(
    cluster: Cluster, http: TestClient, model_id: str, body: str, status: int, error_type: str, reason: str
) -> None:
    seed_models(cluster)
    put_model(cluster, "deploying", model_state="DEPLOYING")
    put_model(cluster, "kmeans", algorithm="KMEANS")
    put_model(cluster, "hidden", is_hidden=True)
    before = {m: d.version for m, d in cluster.ml_commons.store[MODEL_INDEX].docs.items()}
    response = await http.put(f"/_plugins/_ml/models/{model_id}", data=body, headers={"Content-Type": "application/json"})
    assert (response.status, await response.json()) == (status, error(status, error_type, reason))
    assert {m: d.version for m, d in cluster.ml_commons.store[MODEL_INDEX].docs.items()} == before


async def test_malformed_json_is_jacksons_parse_error(cluster: Cluster, http: TestClient) -> None:
    seed_models(cluster)
    response = await http.put("/_plugins/_ml/models/T_S-cY0BKCJ3ot9qr0aP", data="{name: 1}", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"]["type"] == "json_parse_exception"


async def test_first_parse_error_in_body_order_wins(cluster: Cluster, http: TestClient) -> None:
    seed_models(cluster)
    body = '{"name": null, "connector_id": "a", "connector": {}}'
    response = await http.put("/_plugins/_ml/models/IMcNB5UB7judm8f45nXo", data=body, headers={"Content-Type": "application/json"})
    assert (await response.json())["error"]["reason"] == "Can't get text on a VALUE_NULL at 1:10"


async def test_an_empty_connector_id_is_no_connector_change(cluster: Cluster, client: AsyncOpenSearch) -> None:
    seed_models(cluster)
    answer = await client.plugins.ml.update_model(model_id="T_S-cY0BKCJ3ot9qr0aP", body={"connector_id": ""})
    assert answer["result"] == "updated"

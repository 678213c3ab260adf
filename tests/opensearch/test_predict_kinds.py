"""Predict of local QUESTION_ANSWERING, SPARSE_ENCODING, SPARSE_TOKENIZE and TEXT_SIMILARITY
models: deterministic answers shaped as ml-commons' translators return them, and the input
checks of their data sets."""

from __future__ import annotations

import base64
import struct

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, RequestError

from cluster.cluster import Cluster

from .test_predict import add_model, error_of, predict

SPARSE = "amazon/neural-sparse/opensearch-neural-sparse-encoding-doc-v3-distill"


async def test_pretrained_sparse_encoder_registered_deployed_and_predicting(client: AsyncOpenSearch,
                                                                             cluster: Cluster) -> None:
    body = {"name": SPARSE, "version": "1.0.0", "model_format": "TORCH_SCRIPT", "function_name": "SPARSE_ENCODING"}
    task_id = (await client.plugins.ml.register_model(body=body, params={"deploy": "true"}))["task_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.tasks.get(task_id)["state"] == "COMPLETED", timeout=60)
    model_id = cluster.ml_commons.tasks.get(task_id)["model_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.models.index.get(model_id)["model_state"] == "DEPLOYED",
                             timeout=120)
    answer = await client.plugins.ml.predict_model(model_id=model_id, body={"text_docs": ["Hello world, hello!"]})
    [result] = answer["inference_results"]
    [tensor] = result["output"]
    assert tensor["name"] == "output" and list(tensor["dataAsMap"]) == ["response"]
    [weights] = tensor["dataAsMap"]["response"]
    assert list(weights) == ["hello", "world"]
    assert all(0.1 <= weight < 3.0 for weight in weights.values())
    again = await client.plugins.ml.predict_model(model_id=model_id, body={"text_docs": ["Hello world, hello!"]})
    assert again == answer


async def test_sparse_tokenizer_weighs_every_token_one(cluster: Cluster, http: TestClient) -> None:
    add_model(cluster, "tok", algorithm="SPARSE_TOKENIZE")
    status, body = await predict(http, "tok", {"text_docs": ["a cat", "The cat sat"]})
    assert status == 200
    assert body == {"inference_results": [
        {"output": [{"dataAsMap": {"response": [{"a": 1.0, "cat": 1.0}]}}]},
        {"output": [{"dataAsMap": {"response": [{"the": 1.0, "cat": 1.0, "sat": 1.0}]}}]},
    ]}


async def test_text_similarity_scores_each_text_against_the_query(cluster: Cluster, http: TestClient) -> None:
    add_model(cluster, "cross", algorithm="TEXT_SIMILARITY")
    body = {"query_text": "today is sunny", "text_docs": ["today is sunny", "how are you"]}
    status, answer = await predict(http, "cross", body)
    assert status == 200
    tensors = [result["output"] for result in answer["inference_results"]]
    assert [[(t["name"], t["data_type"], t["shape"]) for t in output] for output in tensors] == [
        [("similarity", "FLOAT32", [1])]] * 2
    same, other = (output[0]["data"][0] for output in tensors)
    for output in tensors:
        buffer = output[0]["byte_buffer"]
        assert buffer["order"] == "LITTLE_ENDIAN"
        assert struct.unpack("<f", base64.b64decode(buffer["array"]))[0] == pytest.approx(output[0]["data"][0])
    assert same > 4.0 > -4.0 > other
    assert (await predict(http, "cross", body))[1] == answer


async def test_text_similarity_input_checks(cluster: Cluster, http: TestClient) -> None:
    add_model(cluster, "cross", algorithm="TEXT_SIMILARITY")
    status, body = await predict(http, "cross", {"query_text": "q", "text_docs": []})
    assert (status, error_of(body)) == (400, ("illegal_argument_exception", "No text documents were provided"))
    status, body = await predict(http, "cross", {"text_docs": ["x"]})
    assert (status, error_of(body)) == (400, ("null_pointer_exception", "query_text is null"))


async def test_question_answering_picks_the_best_matching_sentence(cluster: Cluster, http: TestClient) -> None:
    add_model(cluster, "qa", algorithm="QUESTION_ANSWERING")
    body = {"question": "Where do I live?", "context": "My name is Clara. I live in Berkeley. It rains."}
    status, answer = await predict(http, "qa", body)
    assert (status, answer) == (200, {"inference_results": [{"output": [{"result": "I live in Berkeley."}]}]})
    status, answer = await predict(http, "qa", {"context": "x"})
    assert (status, error_of(answer)) == (400, ("illegal_argument_exception", "Question is not provided"))
    status, answer = await predict(http, "qa", {"question": "x"})
    assert (status, error_of(answer)) == (400, ("illegal_argument_exception", "Context is not provided"))


async def test_predict_stream_is_refused_with_a_reason(cluster: Cluster, client: AsyncOpenSearch,
                                                       http: TestClient) -> None:
    add_model(cluster, "tok", algorithm="SPARSE_TOKENIZE")
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.predict_model_stream(model_id="tok", body={"text_docs": ["a"]})
    assert (raised.value.status_code, raised.value.error, raised.value.info["error"]["reason"]) == (
        400, "illegal_state_exception",
        'Streaming is currently disabled. To enable it, update the setting "plugins.ml_commons.stream_enabled" to true.')
    await http.put("/_cluster/settings", json={"transient": {"plugins.ml_commons.stream_enabled": True}})
    response = await http.post("/_plugins/_ml/models/tok/_predict/stream", json={"text_docs": ["a"]})
    status, (error_type, reason) = response.status, error_of(await response.json())
    assert (status, error_type) == (400, "illegal_state_exception") and "does not simulate streaming" in reason


async def test_sparse_token_id_format(cluster: Cluster, http: TestClient) -> None:
    add_model(cluster, "sparse", algorithm="SPARSE_ENCODING")
    _, words = await predict(http, "sparse", {"text_docs": ["cat sat"]})
    status, ids = await predict(http, "sparse", {"text_docs": ["cat sat"],
                                                 "parameters": {"sparse_embedding_format": "token_id"}})
    assert status == 200
    [word_weights] = words["inference_results"][0]["output"][0]["dataAsMap"]["response"]
    [id_weights] = ids["inference_results"][0]["output"][0]["dataAsMap"]["response"]
    assert all(key.isdigit() and 0 <= int(key) < 30522 for key in id_weights)
    assert sorted(id_weights.values()) == sorted(word_weights.values())
    status, body = await predict(http, "sparse", {"text_docs": ["x"], "parameters": {"sparse_embedding_format": "b"}})
    assert (status, error_of(body)[0]) == (400, "illegal_argument_exception")

"""Registering a local model by uploading its file in chunks (`_register_meta`, `upload_chunk`)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, TransportError

from cluster.cluster import Cluster
from cluster.opensearch.documents import MODEL_INDEX

from .ml_helpers import error_of, raw_error

BASE = "/_plugins/_ml/models"
CONFIG = {"model_type": "bert", "embedding_dimension": 384, "framework_type": "sentence_transformers"}
META: dict[str, Any] = {
    "name": "my-minilm", "version": "1.0.0", "model_format": "TORCH_SCRIPT", "description": "uploaded",
    "model_content_hash_value": "9376c2ebd7c83f99ec2526323786c348d2382e6d86576f750c89ea544d6bbb14",
    "model_content_size_in_bytes": 25_000_000, "total_chunks": 3, "model_config": CONFIG,
}
#: OpenSearch refuses a body of a content type it does not know (406), so chunks go as JSON.
JSON = {"Content-Type": "application/json"}
LOCAL_FILE = "plugins.ml_commons.allow_registering_model_via_local_file"
DISABLED = ("To upload custom model from local file, user needs to enable allow_registering_model_via_local_file "
            "settings. Otherwise please use opensearch pre-trained models")


async def allow_local_file(client: AsyncOpenSearch) -> None:
    await client.cluster.put_settings(body={"persistent": {LOCAL_FILE: True}})


def stored(cluster: Cluster, doc_id: str) -> dict[str, Any] | None:
    return cluster.ml_commons.store[MODEL_INDEX].get(doc_id)


async def test_meta_then_chunks_register_a_model_that_deploys_and_predicts(cluster, client: AsyncOpenSearch):
    await allow_local_file(client)
    answer = await client.plugins.ml.register_model_meta(body=META)
    model_id = answer["model_id"]
    assert answer == {"model_id": model_id, "status": "CREATED"}
    got = await client.plugins.ml.get_model(model_id=model_id)
    assert (got["model_state"], got["total_chunks"], got["model_version"], got["description"]) == (
        "REGISTERING", 3, "1", "uploaded")
    group = await client.plugins.ml.get_model_group(model_group_id=got["model_group_id"])
    assert (group["name"], group["latest_version"]) == ("my-minilm", 1)

    for number in range(3):
        sent = await client.plugins.ml.upload_chunk(model_id=model_id, chunk_number=number, body=b"\x00\x01" * 100)
        assert sent == {"status": "Uploaded"}
        state = (await client.plugins.ml.get_model(model_id=model_id))["model_state"]
        assert state == ("REGISTERED" if number == 2 else "REGISTERING")
    chunk = stored(cluster, f"{model_id}_1")
    assert chunk == {"algorithm": "TEXT_EMBEDDING", "model_group_id": got["model_group_id"], "model_version": "1",
                     "model_format": "TORCH_SCRIPT", "model_id": model_id, "chunk_number": 1, "total_chunks": 3}
    registered = await client.plugins.ml.get_model(model_id=model_id)
    # ml-commons re-indexes the model from a few of its fields when the last chunk arrives
    assert "description" not in registered
    assert (registered["model_content_size_in_bytes"], registered["model_config"]["framework_type"]) == (
        25_000_000, "SENTENCE_TRANSFORMERS")

    deploy = await client.plugins.ml.deploy_model(model_id=model_id)
    await cluster.clock.wait_until(lambda: cluster.ml_commons.tasks.get(deploy["task_id"])["state"] != "RUNNING", 60)
    assert (await client.plugins.ml.get_model(model_id=model_id))["model_state"] == "DEPLOYED"
    predicted = await client.plugins.ml.predict_model(model_id=model_id, body={"text_docs": ["hello"]})
    assert len(predicted["inference_results"][0]["output"][0]["data"]) == 384


async def test_legacy_paths_and_chunk_documents_are_searchable(cluster, client: AsyncOpenSearch):
    await allow_local_file(client)
    model_id = (await client.plugins.ml.create_model_meta(body={**META, "total_chunks": 2}))["model_id"]
    await client.plugins.ml.chunk_model(model_id=model_id, chunk_number=1, body=b"x")
    # the last-numbered chunk registers the model, whatever came before (as ml-commons)
    assert stored(cluster, model_id)["model_state"] == "REGISTERED"
    hits = await client.plugins.ml.search_models(body={"query": {"term": {"chunk_number": 1}}})
    assert [hit["_id"] for hit in hits["hits"]["hits"]] == [f"{model_id}_1"]


async def test_meta_joins_the_named_group_and_bumps_its_version(cluster, client: AsyncOpenSearch):
    await allow_local_file(client)
    group_id = (await client.plugins.ml.register_model_group(body={"name": "team"}))["model_group_id"]
    first = (await client.plugins.ml.register_model_meta(body={**META, "model_group_id": group_id}))["model_id"]
    second = (await client.plugins.ml.register_model_meta(body={**META, "model_group_id": group_id}))["model_id"]
    assert [stored(cluster, m)["model_version"] for m in (first, second)] == ["1", "2"]
    assert {stored(cluster, m)["model_group_id"] for m in (first, second)} == {group_id}


@pytest.mark.parametrize("missing, reason", [
    ("name", "model name is null"),
    ("model_format", "model format is null"),
    ("model_content_hash_value", "model content hash value is null"),
    ("model_config", "model config is null"),
    ("total_chunks", "total chunks field is null"),
])
async def test_meta_checks_its_required_fields(cluster, client: AsyncOpenSearch, missing: str, reason: str):
    await allow_local_file(client)
    before = len(cluster.ml_commons.store[MODEL_INDEX].docs)
    with pytest.raises(TransportError) as raised:
        await client.plugins.ml.register_model_meta(body={k: v for k, v in META.items() if k != missing})
    assert error_of(raised.value) == (400, "illegal_argument_exception", reason)
    assert len(cluster.ml_commons.store[MODEL_INDEX].docs) == before


async def test_sparse_models_need_no_config(cluster, client: AsyncOpenSearch):
    await allow_local_file(client)
    body = {k: v for k, v in META.items() if k != "model_config"}
    answer = await client.plugins.ml.register_model_meta(body={**body, "function_name": "SPARSE_ENCODING"})
    assert stored(cluster, answer["model_id"])["algorithm"] == "SPARSE_ENCODING"


async def test_both_steps_need_the_local_file_setting(cluster, client: AsyncOpenSearch, http: TestClient):
    with pytest.raises(TransportError) as raised:
        await client.plugins.ml.register_model_meta(body=META)
    assert error_of(raised.value) == (400, "illegal_argument_exception", DISABLED)
    response = await http.post(f"{BASE}/any/upload_chunk/0", data=b"x", headers=JSON)
    assert await raw_error(response) == (400, "illegal_argument_exception", DISABLED + ".")
    assert stored(cluster, "any") is None


async def test_meta_errors(cluster, client: AsyncOpenSearch, http: TestClient):
    await allow_local_file(client)
    response = await http.post(f"{BASE}/_register_meta")
    assert await raw_error(response) == (400, "i_o_exception", "Model meta request has empty body")
    with pytest.raises(TransportError) as raised:
        await client.plugins.ml.register_model_meta(body={**META, "model_group_id": "nope"})
    assert error_of(raised.value) == (404, "status_exception", "Fail to find model group")


async def test_chunk_errors_leave_the_model_registering(cluster, client: AsyncOpenSearch, http: TestClient):
    await allow_local_file(client)
    model_id = (await client.plugins.ml.register_model_meta(body=META))["model_id"]
    cases = [
        ("nope/upload_chunk/0", b"x", (404, "status_exception", "Failed to find model")),
        (f"{model_id}/upload_chunk/abc", b"x", (400, "number_format_exception", 'For input string: "abc"')),
        (f"{model_id}/upload_chunk/3", b"x", (400, "exception", "Chunk number exceeds total chunks")),
        (f"{model_id}/upload_chunk/2", b"", (400, "exception", "Chunk size either 0 or null")),
        (f"{model_id}/upload_chunk/2", b"x" * 10_000_001, (400, "exception", "Chunk size exceeds 10MB")),
    ]
    for path, content, expected in cases:
        response = await http.post(f"{BASE}/{path}", data=content, headers=JSON)
        assert await raw_error(response) == expected, path
    assert stored(cluster, model_id)["model_state"] == "REGISTERING"
    assert stored(cluster, f"{model_id}_2") is None
    # exactly 10 MB is accepted
    response = await http.post(f"{BASE}/{model_id}/upload_chunk/2", data=b"x" * 10_000_000, headers=JSON)
    assert (response.status, await response.json()) == (200, {"status": "Uploaded"})

"""Users' document indices: create, index, get, delete, and the system indices' refusal."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, ConflictError, NotFoundError, RequestError

from cluster.cluster import Cluster

from .ml_helpers import error_of, raw_error

STOP_WORDS_MAPPING = {"mappings": {"properties": {"title": {"type": "text"}, "query": {"type": "percolator"}}}}


async def test_create_index(client: AsyncOpenSearch, http: TestClient) -> None:
    created = await client.indices.create(index="stop_words", body=STOP_WORDS_MAPPING)
    assert created == {"acknowledged": True, "shards_acknowledged": True, "index": "stop_words"}
    with pytest.raises(RequestError) as caught:
        await client.indices.create(index="stop_words")
    status, kind, reason = error_of(caught.value)
    assert (status, kind) == (400, "resource_already_exists_exception")
    assert reason.startswith("index [stop_words/") and reason.endswith("] already exists")
    response = await http.put("/stop_words2", json={"mapping": {}})
    assert await raw_error(response) == (400, "parse_exception", "unknown key [mapping] for create index")


@pytest.mark.parametrize(("name", "reason"), [
    ("StopWords", "must be lowercase"),
    ("-words", "must not start with '_', '-', or '+'"),
    ("a*b", "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]"),
    ("a#b", "must not contain '#'"),
])
async def test_index_names(http: TestClient, name: str, reason: str) -> None:
    response = await http.put(f"/{quote(name)}/_doc/1", json={"title": "x"})
    assert await raw_error(response) == (400, "invalid_index_name_exception", f"Invalid index name [{name}], {reason}")


async def test_document_lifecycle(client: AsyncOpenSearch, cluster: Cluster) -> None:
    first = await client.index(index="words", id="1", body={"title": "hello"})
    assert (first["_index"], first["_id"], first["result"], first["_version"], first["_seq_no"]) == (
        "words", "1", "created", 1, 0)
    second = await client.index(index="words", id="1", body={"title": "hello again"})
    assert (second["result"], second["_version"], second["_seq_no"]) == ("updated", 2, 1)
    generated = await client.index(index="words", body={"title": "no id"})
    assert generated["result"] == "created" and len(generated["_id"]) == 20
    got = await client.get(index="words", id="1")
    assert got == {"_index": "words", "_id": "1", "_version": 2, "_seq_no": 1, "_primary_term": 1, "found": True,
                   "_source": {"title": "hello again"}}
    # what other parts (guardrail stop words) read
    assert cluster.ml_commons.store.index_named("words").get("1") == {"title": "hello again"}
    deleted = await client.delete(index="words", id="1")
    assert (deleted["result"], deleted["_version"]) == ("deleted", 3)
    with pytest.raises(NotFoundError) as caught:
        await client.delete(index="words", id="1")
    assert caught.value.info["result"] == "not_found"


async def test_missing_documents_and_indices(http: TestClient, client: AsyncOpenSearch) -> None:
    await client.index(index="words", id="1", body={"title": "x"})
    response = await http.get("/words/_doc/2")
    assert response.status == 404 and await response.json() == {"_index": "words", "_id": "2", "found": False}
    response = await http.get("/nothing/_doc/1")
    assert await raw_error(response) == (404, "index_not_found_exception", "no such index [nothing]")
    response = await http.post("/nothing/_search", json={})
    assert await raw_error(response) == (404, "index_not_found_exception", "no such index [nothing]")


async def test_create_op_type_conflict(client: AsyncOpenSearch) -> None:
    await client.index(index="words", id="1", body={"title": "x"})
    with pytest.raises(ConflictError) as caught:
        await client.index(index="words", id="1", body={"title": "y"}, op_type="create")
    assert error_of(caught.value) == (409, "version_conflict_engine_exception",
                                      "[1]: version conflict, document already exists (current version [1])")


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/.plugins-ml-model/_doc/x"), ("POST", "/.plugins-ml-connector/_doc"),
    ("GET", "/.plugins-ml-task/_doc/x"), ("POST", "/.plugins-ml-model/_search"), ("PUT", "/.plugins-ml-custom"),
])
async def test_system_indices_refuse_direct_access(http: TestClient, cluster: Cluster, method: str, path: str) -> None:
    response = await http.request(method, path, json={"title": "x"})
    index = path.split("/")[1]
    assert await raw_error(response) == (
        400, "illegal_argument_exception", f"Indices [{index}] use and access is reserved for system operations")
    assert cluster.ml_commons.store.index_named(".plugins-ml-custom") is None

"""Search gaps the documentation's examples meet: `term` / `terms` on `_id`, `nested` on the
paths ml-commons maps as nested, and a local model's chunk documents in the model index."""

from __future__ import annotations

import pytest
from opensearchpy import AsyncOpenSearch, RequestError

from cluster.cluster import Cluster

from .ml_helpers import MINILM, MINILM_BYTES, error_of, register_remote


async def hit_ids(found: dict) -> list[str]:
    return [hit["_id"] for hit in found["hits"]["hits"]]


async def test_term_and_terms_on_id(client: AsyncOpenSearch) -> None:
    first = await register_remote(client, "one")
    second = await register_remote(client, "two")
    found = await client.plugins.ml.search_models(body={"query": {"terms": {"_id": [first, "nope"]}}})
    assert await hit_ids(found) == [first]
    found = await client.plugins.ml.search_models(body={"query": {"term": {"_id": second}}})
    assert await hit_ids(found) == [second]
    await client.index(index="people", id="p1", body={"name": "ann"})
    found = await client.search(index="people", body={"query": {"bool": {"filter": [{"terms": {"_id": ["p1"]}}]}}})
    assert await hit_ids(found) == ["p1"]


async def test_nested_on_owner_of_model_groups(client: AsyncOpenSearch) -> None:
    """Without the security plugin no group has an owner: the documented nested query on
    `owner` is accepted and finds none; `bool.should` with it still finds by name."""
    group_id = (await client.plugins.ml.register_model_group(body={"name": "team"}))["model_group_id"]
    nested = {"nested": {"path": "owner", "query": {"term": {"owner.name.keyword": "admin"}}, "score_mode": "none"}}
    found = await client.plugins.ml.search_model_group(body={"query": nested})
    assert await hit_ids(found) == []
    either = {"bool": {"should": [nested, {"term": {"name.keyword": "team"}}]}}
    assert await hit_ids(await client.plugins.ml.search_model_group(body={"query": either})) == [group_id]


async def test_nested_objects_are_matched_one_by_one(cluster: Cluster, client: AsyncOpenSearch) -> None:
    connectors = cluster.ml_commons.connectors.index
    connectors.index("c1", {"name": "x", "owner": [{"name": "ann", "roles": ["a"]}, {"name": "bob", "roles": ["b"]}]})
    same = {"bool": {"must": [{"term": {"owner.name.keyword": "ann"}}, {"term": {"owner.roles.keyword": "a"}}]}}
    mixed = {"bool": {"must": [{"term": {"owner.name.keyword": "ann"}}, {"term": {"owner.roles.keyword": "b"}}]}}
    found = await client.plugins.ml.search_connectors(body={"query": {"nested": {"path": "owner", "query": same}}})
    assert await hit_ids(found) == ["c1"]
    found = await client.plugins.ml.search_connectors(body={"query": {"nested": {"path": "owner", "query": mixed}}})
    assert await hit_ids(found) == []


async def test_nested_on_a_path_not_mapped_nested_is_refused(client: AsyncOpenSearch) -> None:
    await register_remote(client)
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.search_models(body={"query": {"nested": {"path": "connector", "query": {"match_all": {}}}}})
    assert error_of(raised.value) == (400, "query_shard_exception",
                                      "[nested] failed to find nested object under path [connector]")


async def test_chunks_of_a_registered_local_model_are_searchable(client: AsyncOpenSearch, cluster: Cluster) -> None:
    body = {"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}
    task_id = (await client.plugins.ml.register_model(body=body))["task_id"]
    assert cluster.run_until(lambda: cluster.ml_commons.tasks.get(task_id)["state"] == "COMPLETED", timeout=10)
    model_id = cluster.ml_commons.tasks.get(task_id)["model_id"]
    query = {"query": {"bool": {"filter": [{"term": {"model_id": model_id}}]}},
             "sort": [{"chunk_number": {"order": "asc"}}], "size": 100}
    found = await client.plugins.ml.search_models(body=query)
    total = -(-MINILM_BYTES // 10_000_000)
    assert found["hits"]["total"]["value"] == total == 10
    assert await hit_ids(found) == [f"{model_id}_{n}" for n in range(total)]
    chunk = found["hits"]["hits"][3]["_source"]
    assert (chunk["name"], chunk["algorithm"], chunk["chunk_number"], chunk["total_chunks"]) == (
        MINILM, "TEXT_EMBEDDING", 3, 10)
    assert "content" not in chunk and "model_state" not in chunk
    stats = await client.transport.perform_request("GET", "/_plugins/_ml/stats/ml_model_count")
    assert stats == {"ml_model_count": 1}  # chunks are not models
    await client.plugins.ml.delete_model(model_id=model_id)
    assert (await client.plugins.ml.search_models(body=query))["hits"]["total"]["value"] == 0

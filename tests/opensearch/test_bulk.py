"""`_bulk` in the OpenSearch dialect: opensearch-py's bulk writes to the same document store
its guardrails and searches read."""

from __future__ import annotations

from opensearchpy import AsyncOpenSearch

from cluster.cluster import Cluster


async def test_bulk_writes_and_searches(client: AsyncOpenSearch, cluster: Cluster) -> None:
    response = await client.bulk(body=[
        {"index": {"_index": "stop_words", "_id": "1"}}, {"title": "how to rob a bank"},
        {"create": {"_index": "stop_words", "_id": "2"}}, {"title": "forbidden"},
        {"create": {"_index": "stop_words", "_id": "2"}}, {"title": "again"},
        {"update": {"_index": "stop_words", "_id": "1"}}, {"doc": {"lang": "en"}},
        {"delete": {"_index": "stop_words", "_id": "404"}},
    ])
    assert response["errors"] is True and "ingest_took" not in response
    outcomes = [(kind, item["status"], item.get("result")) for entry in response["items"] for kind, item in entry.items()]
    assert outcomes == [("index", 201, "created"), ("create", 201, "created"), ("create", 409, None),
                        ("update", 200, "updated"), ("delete", 404, "not_found")]
    assert response["items"][2]["create"]["error"]["type"] == "version_conflict_engine_exception"
    got = await client.get(index="stop_words", id="1")
    assert got["_source"] == {"title": "how to rob a bank", "lang": "en"} and got["_version"] == 2
    hits = await client.search(index="stop_words", body={"query": {"term": {"lang": "en"}}})
    assert [h["_id"] for h in hits["hits"]["hits"]] == ["1"]
    system = await client.bulk(body=[{"index": {"_index": ".plugins-ml-model", "_id": "x"}}, {"a": 1}])
    assert system["items"][0]["index"]["error"]["type"] == "illegal_argument_exception"
    assert cluster.ml_commons.store[".plugins-ml-model"].get("x") is None

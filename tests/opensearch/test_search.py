"""The query DSL subset and OpenSearch's search response, on users' indices and ml-commons'."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, RequestError

from .ml_helpers import error_of, raw_error, register_remote

ML = "/_plugins/_ml"
DOCS = {
    "1": {"title": "Stop word one", "tags": ["red", "blue"], "score": 10, "owner": {"name": "ann"}},
    "2": {"title": "another phrase", "tags": ["blue"], "score": 20},
    "3": {"title": "Stop again", "score": 30, "flag": True},
}


@pytest.fixture
async def words(client: AsyncOpenSearch) -> AsyncOpenSearch:
    for doc_id, source in DOCS.items():
        await client.index(index="words", id=doc_id, body=source)
    return client


async def ids_for(client: AsyncOpenSearch, query: dict, **extra) -> list[str]:
    found = await client.search(index="words", body={"query": query, **extra})
    return [hit["_id"] for hit in found["hits"]["hits"]]


@pytest.mark.parametrize(("query", "expected"), [
    ({"match_all": {}}, ["1", "2", "3"]),
    ({"term": {"title": "stop"}}, ["1", "3"]),           # a text field holds lowercased words
    ({"term": {"title": "Stop"}}, []),
    ({"term": {"title.keyword": "Stop again"}}, ["3"]),  # the keyword sub-field holds the whole value
    ({"term": {"score": "20"}}, ["2"]),
    ({"term": {"flag": True}}, ["3"]),
    ({"terms": {"tags": ["red", "green"]}}, ["1"]),
    ({"ids": {"values": ["3", "9"]}}, ["3"]),
    ({"match": {"title": "STOP phrase"}}, ["1", "2", "3"]),
    ({"match": {"title": {"query": "stop word", "operator": "and"}}}, ["1"]),
    ({"exists": {"field": "owner.name"}}, ["1"]),
    ({"range": {"score": {"gte": 15, "lt": 30}}}, ["2"]),
    ({"bool": {"must": [{"match": {"title": "stop"}}], "must_not": [{"exists": {"field": "flag"}}]}}, ["1"]),
    ({"bool": {"filter": {"term": {"tags": "blue"}}, "should": [{"term": {"score": 20}}]}}, ["1", "2"]),
    ({"bool": {"should": [{"term": {"tags": "blue"}}, {"range": {"score": {"gt": 15}}}],
               "minimum_should_match": 2}}, ["2"]),
])
async def test_queries(words: AsyncOpenSearch, query: dict, expected: list[str]) -> None:
    assert await ids_for(words, query) == expected


async def test_response_shape_paging_and_sort(words: AsyncOpenSearch) -> None:
    found = await words.search(index="words", body={"query": {"match": {"title": "stop"}}})
    assert found["timed_out"] is False and found["_shards"] == {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
    assert found["hits"]["total"] == {"value": 2, "relation": "eq"} and found["hits"]["max_score"] == 1.0
    assert found["hits"]["hits"][0] == {"_index": "words", "_id": "1", "_score": 1.0, "_source": DOCS["1"]}

    page = await words.search(index="words", body={"sort": [{"score": {"order": "desc"}}], "from": 1, "size": 1,
                                                    "_source": ["title"]})
    assert page["hits"]["total"]["value"] == 3 and page["hits"]["max_score"] is None
    assert page["hits"]["hits"] == [{"_index": "words", "_id": "2", "_score": None,
                                     "_source": {"title": "another phrase"}, "sort": [20]}]
    assert await ids_for(words, {"match_all": {}}, sort=["flag", "_id"]) == ["3", "1", "2"]  # missing values last
    assert await ids_for(words, {"match_all": {}}, _source={"excludes": ["owner.*"]}) == ["1", "2", "3"]
    by_query_string = await words.search(index="words", params={"size": 1})
    assert len(by_query_string["hits"]["hits"]) == 1


@pytest.mark.parametrize(("body", "status", "kind", "reason"), [
    ({"query": {"wildcard": {"title": "st*"}}}, 400, "parsing_exception", "unknown query [wildcard]"),
    ({"query": {"term": {"a": 1}, "match": {"b": 2}}}, 400, "parsing_exception",
     "[term] malformed query, expected [END_OBJECT] but found [FIELD_NAME]"),
    ({"query": {"term": {"a": 1, "b": 2}}}, 400, "parsing_exception",
     "[term] query doesn't support multiple fields, found [a] and [b]"),
    ({"query": {"bool": {"must": [], "boosting": 1}}}, 400, "parsing_exception",
     "[bool] query does not support [boosting]"),
    ({"query": {"match_all": {}}, "size": -1}, 400, "illegal_argument_exception",
     "[size] parameter cannot be negative, found [-1]"),
    ({"querry": {}}, 400, "parsing_exception", "Unknown key for a START_OBJECT in [querry]."),
])
async def test_bad_searches(words: AsyncOpenSearch, body: dict, status: int, kind: str, reason: str) -> None:
    with pytest.raises(RequestError) as caught:
        await words.search(index="words", body=body)
    assert error_of(caught.value) == (status, kind, reason)


async def test_ml_commons_searches_carry_versions_and_need_a_body(client: AsyncOpenSearch, http: TestClient) -> None:
    model_id = await register_remote(client, name="my chat model")
    found = await client.plugins.ml.search_models(body={"query": {"term": {"name": "chat"}}})
    hit = found["hits"]["hits"][0]
    assert (hit["_id"], hit["_version"], hit["_seq_no"], hit["_primary_term"]) == (model_id, 1, 0, 1)
    exact = await client.plugins.ml.search_models(body={"query": {"term": {"name": "my chat model"}}})
    assert exact["hits"]["hits"] == []  # `name` is text in ml-commons' mapping: use name.keyword
    response = await http.get(f"{ML}/models/_search")
    assert await raw_error(response) == (400, "parse_exception", "request body or source parameter is required")
    response = await http.get(f"{ML}/models/_search", params={"source": '{"query":{"term":{"algorithm":"REMOTE"}}}'})
    assert (await response.json())["hits"]["total"]["value"] == 1
    response = await http.post(f"{ML}/models/_search", json={"query": {"fuzzy": {"name": "chat"}}})
    assert await raw_error(response) == (400, "parsing_exception", "unknown query [fuzzy]")

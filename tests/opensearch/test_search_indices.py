"""Searching several users' indices: `/_search`, `/_all/_search`, lists and wildcards."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch, NotFoundError

from .ml_helpers import raw_error, register_remote


@pytest.fixture
async def indexed(client: AsyncOpenSearch) -> AsyncOpenSearch:
    """Two user indices and an ml-commons model (a document in a system index)."""
    await client.index(index="books-a", id="1", body={"title": "dune"}, refresh=True)
    await client.index(index="books-b", id="2", body={"title": "emma"}, refresh=True)
    await client.index(index="films", id="3", body={"title": "alien"}, refresh=True)
    await register_remote(client)
    return client


def found(answer: dict) -> list[tuple[str, str]]:
    return [(hit["_index"], hit["_id"]) for hit in answer["hits"]["hits"]]


async def test_search_without_an_index_covers_users_indices_only(indexed: AsyncOpenSearch) -> None:
    answer = await indexed.search(body={"query": {"match_all": {}}})
    assert found(answer) == [("books-a", "1"), ("books-b", "2"), ("films", "3")]
    assert (answer["_shards"]["total"], answer["hits"]["total"]) == (3, {"value": 3, "relation": "eq"})
    assert found(await indexed.search(index="_all", body={"query": {"term": {"title": "emma"}}})) == [
        ("books-b", "2")]


async def test_lists_and_wildcards(indexed: AsyncOpenSearch) -> None:
    assert found(await indexed.search(index="books-*")) == [("books-a", "1"), ("books-b", "2")]
    assert found(await indexed.search(index="films,books-a")) == [("books-a", "1"), ("films", "3")]
    assert found(await indexed.search(index="*", body={"sort": [{"_id": "desc"}]})) == [
        ("films", "3"), ("books-b", "2"), ("books-a", "1")]
    # system indices stay out of wildcards
    assert found(await indexed.search(index=".plugins-ml*")) == []


async def test_missing_indices(indexed: AsyncOpenSearch, http: TestClient) -> None:
    with pytest.raises(NotFoundError) as raised:
        await indexed.search(index="films,nope")
    assert raised.value.info["error"]["reason"] == "no such index [nope]"
    assert found(await indexed.search(index="films,nope", params={"ignore_unavailable": "true"})) == [("films", "3")]
    empty = await indexed.search(index="nothing-*")
    assert (empty["hits"]["hits"], empty["_shards"]["total"]) == ([], 0)
    response = await http.get("/nothing-*/_search?allow_no_indices=false")
    assert await raw_error(response) == (404, "index_not_found_exception", "no such index [nothing-*]")


async def test_a_system_index_named_in_a_list_is_refused(indexed: AsyncOpenSearch, http: TestClient) -> None:
    response = await http.post("/films,.plugins-ml-model/_search", json={})
    assert (await raw_error(response))[:2] == (400, "illegal_argument_exception")


async def test_search_with_no_indices_at_all(client: AsyncOpenSearch) -> None:
    answer = await client.search()
    assert (answer["hits"]["hits"], answer["hits"]["total"]["value"], answer["_shards"]["total"]) == ([], 0, 0)

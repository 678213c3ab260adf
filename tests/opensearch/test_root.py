"""`GET /` for both dialects: OpenSearch clients get OpenSearch's banner, the rest Elasticsearch's."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from opensearchpy import AsyncOpenSearch


async def test_opensearch_py_reads_an_opensearch_banner(client: AsyncOpenSearch) -> None:
    info = await client.info()
    assert info["version"]["distribution"] == "opensearch"
    assert info["version"]["number"] == "3.2.0"
    assert info["tagline"] == "The OpenSearch Project: https://opensearch.org/"
    assert (info["cluster_name"], info["name"]) == ("mlsim", "ml-1")
    assert await client.ping()


async def test_other_callers_keep_the_elasticsearch_banner(http: TestClient) -> None:
    plain = await (await http.get("/")).json()
    assert ("distribution" not in plain["version"], plain["tagline"]) == (True, "You Know, for Search")
    es_media_type = {"User-Agent": "opensearch-py/3.2.0", "Accept": "application/vnd.elasticsearch+json; compatible-with=9"}
    asked = await (await http.get("/", headers=es_media_type)).json()
    assert asked["version"]["number"] == "9.1.0"

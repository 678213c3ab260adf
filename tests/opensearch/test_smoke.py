"""The OpenSearch dialect is served beside Elasticsearch's: unknown ml-commons paths get
OpenSearch's "no handler" answer and no Elastic product header."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_unknown_plugin_path_has_no_elastic_header(http: TestClient) -> None:
    response = await http.get("/_plugins/_ml/nothing_here")
    assert response.status == 400
    assert "X-Elastic-Product" not in response.headers
    assert (await response.json())["error"] == "no handler found for uri [/_plugins/_ml/nothing_here] and method [GET]"

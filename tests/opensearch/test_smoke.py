"""The OpenSearch dialect is served beside Elasticsearch's: unknown ml-commons paths get
OpenSearch's "no handler" answer and no Elastic product header."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_unknown_plugin_path_has_no_elastic_header(http: TestClient) -> None:
    response = await http.get("/_plugins/_ml/nothing_here")
    assert response.status == 400
    assert "X-Elastic-Product" not in response.headers
    assert (await response.json())["error"] == "no handler found for uri [/_plugins/_ml/nothing_here] and method [GET]"


async def test_user_index_and_cluster_settings_answer_as_opensearch(http: TestClient) -> None:
    for method, path in (("PUT", "/stop_words"), ("GET", "/stop_words/_search"), ("GET", "/_cluster/settings")):
        response = await http.request(method, path)
        assert response.status == 200, (path, await response.text())
        assert "X-Elastic-Product" not in response.headers, path


async def test_elasticsearch_paths_keep_the_product_header(http: TestClient) -> None:
    for path in ("/", "/_ml/trained_models", "/_sim/nodes"):
        response = await http.get(path)
        assert response.headers["X-Elastic-Product"] == "Elasticsearch", path

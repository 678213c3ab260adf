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


async def test_ml_commons_bodies_are_read_alike_everywhere(http: TestClient) -> None:
    """Every ml-commons endpoint with a body refuses malformed JSON, a non-object and a blank
    body as OpenSearch's XContent parser does (Jackson's wording, not Elasticsearch's)."""
    endpoints = [
        ("POST", "/_plugins/_ml/connectors/_create"), ("PUT", "/_plugins/_ml/connectors/c1"),
        ("POST", "/_plugins/_ml/model_groups/_register"), ("PUT", "/_plugins/_ml/model_groups/g1"),
        ("POST", "/_plugins/_ml/models/_register"), ("POST", "/_plugins/_ml/models/_search"),
        ("POST", "/_plugins/_ml/models/m1/_deploy"), ("POST", "/_plugins/_ml/models/_undeploy"),
        ("PUT", "/_plugins/_ml/models/m1"), ("POST", "/_plugins/_ml/controllers/m1"),
        ("PUT", "/_plugins/_ml/controllers/m1"), ("GET", "/_plugins/_ml/profile"),
        ("POST", "/_plugins/_ml/tasks/_search"),
    ]
    answers = {
        "{name: 1}": ("json_parse_exception", "Expecting property name enclosed in double quotes\n at [Source: "
                      "REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 2]"),
        "[1]": ("parsing_exception", "Failed to parse object: expecting token of type [START_OBJECT] but found "
                "[START_ARRAY]"),
        "  ": ("parsing_exception", "Failed to parse object: expecting token of type [START_OBJECT] but found [null]"),
    }
    for text, (error_type, reason) in answers.items():
        for method, path in endpoints:
            response = await http.request(method, path, data=text, headers={"Content-Type": "application/json"})
            error = (await response.json())["error"]
            assert (response.status, error["type"], error["reason"]) == (400, error_type, reason), (method, path)
    response = await http.get("/_plugins/_ml/models/_search", params={"source": "[1]"})
    assert (await response.json())["error"]["type"] == "parsing_exception"

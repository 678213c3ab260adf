"""Bad bodies get Elasticsearch's (or OpenSearch's) error and change nothing: Jackson's limits,
lone surrogates, media types, content encodings, body size, methods."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib

import pytest
from aiohttp.test_utils import TestClient, TestServer
from elasticsearch import AsyncElasticsearch
from yarl import URL

from api.app import create_app
from api.request_body import DEFAULT_MAX_CONTENT_LENGTH
from cluster.cluster import Cluster
from cluster.demo import NER_MODEL, build_demo
from cluster.opensearch.demo import EMBEDDING_MODEL, build_opensearch_demo
from tests.conftest import served

JSON = {"Content-Type": "application/json"}
ADVANCE = "/_sim/clock/_advance"
REGRESSION = {
    "model_type": "tree_ensemble",
    "input": {"field_names": ["a"]},
    "inference_config": {"regression": {}},
}


async def post(http: TestClient, path: str, body: bytes | str, headers: dict[str, str] | None = None):
    headers = JSON if headers is None else headers
    response = await http.post(path, data=body, headers=headers, skip_auto_headers=("Content-Type",))
    return response.status, await response.read()


def error(body: bytes) -> tuple[str, str]:
    parsed = json.loads(body)["error"]
    return parsed["type"], parsed["reason"]


async def test_nesting_over_1000_levels_is_a_parse_error(http: TestClient, cluster: Cluster) -> None:
    status, body = await post(http, ADVANCE, '{"seconds":' + "[" * 1000 + "]" * 1000 + "}")
    assert status == 400
    kind, reason = error(body)
    assert kind == "x_content_parse_exception"
    assert reason.startswith("[1:1011] Document nesting depth (1001) exceeds the maximum allowed (1000")
    assert cluster.now == 0


async def test_1000_levels_parse_and_are_refused_by_the_field_check(http: TestClient) -> None:
    status, body = await post(http, ADVANCE, '{"seconds":' + "[" * 999 + "]" * 999 + "}")
    assert (status, error(body)[0]) == (400, "x_content_parse_exception")
    assert "failed to parse field [seconds]" in error(body)[1]


async def test_a_number_over_1000_digits_is_a_parse_error(http: TestClient) -> None:
    status, body = await post(http, ADVANCE, '{"seconds": ' + "9" * 4301 + "}")
    assert status == 400
    assert error(body) == (
        "x_content_parse_exception",
        "[1:13] Number value length (4301) exceeds the maximum allowed (1000, from "
        "`StreamReadConstraints.getMaxNumberLength()`)",
    )


async def test_nan_is_not_json(http: TestClient) -> None:
    status, body = await post(http, ADVANCE, '{"seconds": NaN}')
    assert status == 400 and "Non-standard token 'NaN'" in error(body)[1]


async def test_the_opensearch_dialect_refuses_deep_nesting_in_jacksons_words(http: TestClient) -> None:
    status, body = await post(http, "/_plugins/_ml/model_groups/_register", '{"name":' + "[" * 1001 + "]" * 1001 + "}")
    assert status == 400
    kind, reason = error(body)
    assert kind == "json_parse_exception" and reason.startswith("Document nesting depth (1001)")


async def test_a_lone_surrogate_is_stored_and_read_back_as_an_escape(http: TestClient, cluster: Cluster) -> None:
    body = '{"description": "x\\ud800y", ' + json.dumps(REGRESSION)[1:]
    response = await http.put("/_ml/trained_models/m", data=body, headers=JSON)
    assert response.status == 200
    listing = await http.get("/_ml/trained_models")
    assert listing.status == 200
    assert b'"description":"x\\ud800y"' in await listing.read()
    events = await http.get("/_sim/events?since=0&format=jsonl")
    assert events.status == 200


async def test_the_official_client_reads_a_model_with_a_lone_surrogate(cluster: Cluster) -> None:
    async with served(cluster) as port:
        client = AsyncElasticsearch(f"http://127.0.0.1:{port}")
        try:
            await client.ml.put_trained_model(model_id="m", description="\ud800", **REGRESSION)
            got = await client.ml.get_trained_models(model_id="m")
            assert got["trained_model_configs"][0]["description"] == "\ud800"
        finally:
            await client.close()


async def test_a_lone_surrogate_in_a_path_is_a_not_found(http: TestClient) -> None:
    response = await http.get(URL("/_ml/trained_models/%ED%A0%80", encoded=True))
    assert response.status == 404


@pytest.mark.parametrize("header", ["text/plain", "application/x-www-form-urlencoded", "application/yaml"])
async def test_a_body_that_is_not_json_is_406(http: TestClient, header: str, cluster: Cluster) -> None:
    status, body = await post(http, ADVANCE, '{"seconds": 5}', {"Content-Type": header})
    assert status == 406
    assert json.loads(body) == {"error": f"Content-Type header [{header}] is not supported", "status": 406}
    assert cluster.now == 0


async def test_a_body_without_content_type_is_406(http: TestClient) -> None:
    status, body = await post(http, ADVANCE, '{"seconds": 5}', {})
    assert status == 406 and b"Content-Type header is missing" in body


@pytest.mark.parametrize("encoding, compress", [("gzip", gzip.compress), ("deflate", zlib.compress)])
async def test_compressed_bodies_are_read(http: TestClient, cluster: Cluster, encoding: str, compress) -> None:
    status, _ = await post(http, ADVANCE, compress(b'{"seconds": 5}'), {**JSON, "Content-Encoding": encoding})
    assert status == 200 and cluster.now == 5


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_is_not_compressed_is_a_400_and_the_connection_lives(http: TestClient, encoding: str) -> None:
    status, body = await post(http, ADVANCE, '{"seconds": 5}', {**JSON, "Content-Encoding": encoding})
    assert status == 400 and error(body)[0] == "decompression_exception"
    assert (await http.get("/_sim/clock")).status == 200


async def test_the_default_body_limit_is_elasticsearchs_100mb(http: TestClient) -> None:
    assert DEFAULT_MAX_CONTENT_LENGTH == 100 * 1024 * 1024
    # an eland-sized (4 MiB) body is read, then refused for what it says
    status, body = await post(http, ADVANCE, '{"seconds": "' + "9" * (4 * 1024 * 1024) + 's"}')
    assert status == 400 and error(body)[0] == "illegal_argument_exception"


async def test_a_body_over_the_limit_is_413_without_a_body(cluster: Cluster) -> None:
    client = TestClient(TestServer(create_app(cluster, max_content_length=1024)))
    await client.start_server()
    try:
        status, body = await post(client, ADVANCE, '{"seconds": 5, "pad": "' + "x" * 2000 + '"}')
        assert (status, body) == (413, b"")
        assert cluster.now == 0
        gzipped = gzip.compress(b'{"seconds": 5, "pad": "' + b"x" * 4000 + b'"}')
        assert len(gzipped) < 1024
        status, _ = await post(client, ADVANCE, gzipped, {**JSON, "Content-Encoding": "gzip"})
        assert status == 413
    finally:
        await client.close()


async def test_options_lists_the_methods(http: TestClient) -> None:
    response = await http.options("/_sim/clock")
    assert response.status == 200 and set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "DELETE"])
async def test_other_methods_on_a_known_path_are_405(http: TestClient, method: str) -> None:
    response = await http.request(method, "/_sim/clock")
    assert response.status == 405
    assert "Incorrect HTTP method for uri [/_sim/clock]" in (await response.json())["error"]


async def test_a_method_elasticsearch_has_no_name_for_is_405(http: TestClient) -> None:
    response = await http.request("PROPFIND", "/_sim/clock")
    assert response.status == 405
    assert await response.json() == {"error": "Unexpected http method: PROPFIND, allowed: [GET, HEAD]", "status": 405}
    response = await http.request("PROPFIND", "/_nowhere/a/b/c")
    assert (await response.json())["error"] == "Unexpected http method: PROPFIND"


async def test_connect_is_answered(http: TestClient) -> None:
    """aiohttp's parser refuses CONNECT to a path itself (400); CONNECT in authority form
    reaches the router: no handler (both 4xx, neither a 500 nor a dropped connection)."""
    reader, writer = await asyncio.open_connection(http.host, http.port)
    writer.write(b"CONNECT /_sim/clock HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).split()[1] == b"400"
    writer.close()
    response = await http.request("CONNECT", "/_sim/clock")
    assert response.status == 400 and "no handler found" in (await response.json())["error"]


async def test_lone_surrogates_in_inference_inputs_are_answered(cluster: Cluster) -> None:
    """Deterministic answers hash their input: a lone surrogate in it is hashed too."""
    build_demo(cluster)
    build_opensearch_demo(cluster.ml_commons)
    client = TestClient(TestServer(create_app(cluster)))
    await client.start_server()
    try:
        infer = await client.post(f"/_ml/trained_models/{NER_MODEL}/_infer", json={"docs": [{"text_field": "a\ud800"}]})
        assert infer.status == 200
        predict = await client.post(f"/_plugins/_ml/models/{EMBEDDING_MODEL}/_predict", json={"text_docs": ["\udfff"]})
        assert predict.status == 200
    finally:
        await client.close()

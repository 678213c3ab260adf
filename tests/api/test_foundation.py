"""The HTTP foundation: banner, error rendering, routing errors, parameters, rendering."""

from __future__ import annotations

import json

from aiohttp import web
from elasticsearch import AsyncElasticsearch

from api.filter_path import apply_filter_path
from api.params import similarity


async def test_info_with_the_official_client(es: AsyncElasticsearch) -> None:
    info = await es.info()
    assert info["version"]["number"] == "9.1.0"
    assert info["version"]["build_flavor"] == "default"
    assert info["tagline"] == "You Know, for Search"
    assert info["cluster_name"] == "mlsim"
    assert await es.ping()


async def test_product_header_and_compatible_media_type(http) -> None:
    accept = "application/vnd.elasticsearch+json; compatible-with=8"
    response = await http.get("/", headers={"Accept": accept})
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    assert response.headers["Content-Type"].startswith("application/vnd.elasticsearch+json;compatible-with=8")
    plain = await http.get("/")
    assert plain.headers["Content-Type"].startswith("application/json")


async def test_unsupported_compatible_version(http) -> None:
    response = await http.get("/", headers={"Accept": "application/vnd.elasticsearch+json; compatible-with=6"})
    assert response.status == 400
    assert (await response.json())["error"]["type"] == "media_type_header_exception"


async def test_unknown_path_and_wrong_method(http) -> None:
    response = await http.get("/_nothing_here")
    assert response.status == 400
    assert await response.json() == {"error": "no handler found for uri [/_nothing_here] and method [GET]"}
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    response = await http.delete("/")
    assert response.status == 405
    body = await response.json()
    assert body["status"] == 405
    assert body["error"].startswith("Incorrect HTTP method for uri [/] and method [DELETE], allowed: [")


async def test_unknown_parameter_with_suggestion(http) -> None:
    response = await http.get("/?prety=true")
    assert response.status == 400
    body = await response.json()
    assert body["error"]["type"] == "illegal_argument_exception"
    assert body["error"]["reason"] == "request [/] contains unrecognized parameter: [prety]"
    assert body["error"]["root_cause"][0]["reason"] == body["error"]["reason"]
    assert body["status"] == 400


async def test_pretty_and_filter_path(http) -> None:
    response = await http.get("/?pretty&filter_path=version.number,tagline")
    text = await response.text()
    assert text.endswith("\n") and '"tagline" : ' in text
    assert json.loads(text) == {"version": {"number": "9.1.0"}, "tagline": "You Know, for Search"}


async def test_bad_boolean(http) -> None:
    response = await http.get("/?pretty=yes")
    assert response.status == 400
    assert (await response.json())["error"]["reason"] == (
        "Failed to parse value [yes] as only [true] or [false] are allowed."
    )


def test_filter_path_rules() -> None:
    body = {"a": {"b": 1, "c": {"d": 2}}, "list": [{"x": 1, "y": 2}, {"y": 3}], "z": 0}
    assert apply_filter_path(body, "a.b") == {"a": {"b": 1}}
    assert apply_filter_path(body, "list.x") == {"list": [{"x": 1}]}
    assert apply_filter_path(body, "**.d") == {"a": {"c": {"d": 2}}}
    assert apply_filter_path(body, "a.*") == {"a": {"b": 1, "c": {"d": 2}}}
    assert apply_filter_path(body, "-a,-list.y") == {"list": [{"x": 1}, {}], "z": 0}
    assert apply_filter_path(body, "nothing") == {}


def test_suggestion_similarity() -> None:
    assert similarity("sise", "size") == 0.75
    assert similarity("abc", "xyz") == 0.0

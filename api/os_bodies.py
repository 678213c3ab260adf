"""What the OpenSearch-dialect handlers share: the ml-commons facade, request bodies read as
OpenSearch's XContent parser reads them (Jackson's errors, not Elasticsearch's wording of
`api/body.py`), search bodies, and the status of a document write response."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from cluster.opensearch.errors import parse_exception
from cluster.opensearch.service import MlCommons
from cluster.opensearch.xcontent import expecting, json_parse_exception, parsing_exception

from .context import cluster_of
from .request_body import loads, read_text

#: Query parameters a search endpoint reads its body from when there is none.
SOURCE_PARAMS = ("source", "source_content_type")


def ml_commons(request: web.Request) -> MlCommons:
    return cluster_of(request).ml_commons


async def read_ml_object(request: web.Request) -> tuple[dict[str, Any] | None, str]:
    """The body as ml-commons' handlers read it: None when there is none, else a JSON object
    (`parse_ml_object`); with the text as sent, for the positions in later parse errors."""
    text = await read_text(request)
    if not text:
        return None, ""
    return parse_ml_object(text), text


def parse_ml_object(text: str) -> dict[str, Any]:
    """A JSON object read with `ensureExpectedToken(START_OBJECT)`: blank text has no token
    (parsing_exception "found [null]"), malformed JSON is Jackson's json_parse_exception, any
    other value a parsing_exception naming its token."""
    if not text.strip():
        raise parsing_exception("Failed to parse object: expecting token of type [START_OBJECT] but found [null]")
    data = parse_json(text)
    if not isinstance(data, dict):
        raise expecting("START_OBJECT", data)
    return data


def parse_json(text: str) -> Any:
    """Any JSON value; malformed text is Jackson's json_parse_exception (400), with the
    position (Python's wording of the problem)."""
    try:
        return loads(text)
    except json.JSONDecodeError as exc:
        raise json_parse_exception(exc.msg, exc.lineno, exc.colno) from None


async def search_body(request: web.Request, required: bool) -> dict[str, Any] | None:
    """The search body, or the `source` query parameter (ml-commons' search endpoints require one)."""
    body, _ = await read_ml_object(request)
    if body is not None:
        return body
    raw = request.query.get("source")
    if raw is None:
        if required:
            raise parse_exception("request body or source parameter is required")
        return None
    return parse_ml_object(raw)


def write_status(response: dict[str, Any]) -> int:
    """The HTTP status OpenSearch sends with a write response: 201 created, 404 not found."""
    return {"created": 201, "not_found": 404}.get(response.get("result"), 200)

"""What the OpenSearch-dialect handlers share: the ml-commons facade, search bodies, and the
status of a document write response."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from cluster.errors import MlError
from cluster.opensearch.service import MlCommons

from .body import read_body
from .context import cluster_of
from .http_errors import parse_error

#: Query parameters a search endpoint reads its body from when there is none.
SOURCE_PARAMS = ("source", "source_content_type")


def ml_commons(request: web.Request) -> MlCommons:
    return cluster_of(request).ml_commons


async def search_body(request: web.Request, required: bool) -> dict[str, Any] | None:
    """The search body, or the `source` query parameter (ml-commons' search endpoints require one)."""
    body = await read_body(request, "search")
    if body is not None:
        return body.data
    raw = request.query.get("source")
    if raw is None:
        if required:
            raise MlError(400, "parse_exception", "request body or source parameter is required")
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise parse_error(f"[{exc.lineno}:{exc.colno}] {exc.msg}") from None
    if not isinstance(data, dict):
        raise MlError(400, "parse_exception", "request body must be a JSON object")
    return data


def write_status(response: dict[str, Any]) -> int:
    """The HTTP status OpenSearch sends with a write response: 201 created, 404 not found."""
    return {"created": 201, "not_found": 404}.get(response.get("result"), 200)

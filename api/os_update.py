"""OpenSearch dialect: the update model API (`PUT /_plugins/_ml/models/{model_id}`)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from cluster.errors import MlError
from cluster.opensearch.xcontent import expecting

from .context import cluster_of
from .params import Query
from .responses import render

routes = web.RouteTableDef()


@routes.put("/_plugins/_ml/models/{model_id}")
async def update_model(request: web.Request) -> web.Response:
    Query(request)
    body, text = await read_ml_object(request)
    ml = cluster_of(request).ml_commons
    return render(request, ml.updates.update(request.match_info["model_id"], body, text))


async def read_ml_object(request: web.Request) -> tuple[dict[str, Any] | None, str]:
    """The body as ml-commons' handlers read it: None when there is none, else a JSON object
    (Jackson's json_parse_exception for malformed JSON, parsing_exception for any other
    value); with the text as sent, for the positions in later parse errors."""
    raw = await request.read()
    if not raw:
        return None, ""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        raise MlError(400, "parsing_exception", "Failed to parse object: expecting token of type [START_OBJECT] but found [null]")
    data = parse_json(text)
    if not isinstance(data, dict):
        raise expecting("START_OBJECT", data)
    return data, text


def parse_json(text: str) -> Any:
    """Any JSON value; malformed text is Jackson's json_parse_exception (400), with the
    position (Python's wording of the problem)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MlError(
            400,
            "json_parse_exception",
            f"{exc.msg}\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); "
            f"line: {exc.lineno}, column: {exc.colno}]",
        ) from None

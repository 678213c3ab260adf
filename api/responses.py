"""Rendering a response body the way Elasticsearch does: media type, `pretty`, `filter_path`.

The official clients ask for `application/vnd.elasticsearch+json; compatible-with=N`; the
reply echoes that media type so the client's serializer and product check accept it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from aiohttp import web

from cluster.errors import MlError

from .filter_path import apply_filter_path
from .http_errors import warning_header

COMPATIBLE_VERSIONS = (8, 9)
_COMPAT = re.compile(r"compatible-with\s*=\s*(\d+)")


def compatible_version(request: web.Request) -> int | None:
    """The `compatible-with` version the client asked for (None for plain JSON)."""
    for header in ("Accept", "Content-Type"):
        match = _COMPAT.search(request.headers.get(header, ""))
        if match:
            version = int(match.group(1))
            if version not in COMPATIBLE_VERSIONS:
                raise MlError(400, "media_type_header_exception", f"Invalid media-type value on headers [{header}]")
            return version
    return None


def content_type(request: web.Request) -> str:
    try:
        version = compatible_version(request)
    except MlError:
        version = None
    if version is None:
        return "application/json"
    return f"application/vnd.elasticsearch+json;compatible-with={version}"


def dumps(request: web.Request, body: Any) -> str:
    if request.query.get("pretty") in ("", "true"):
        return json.dumps(body, indent=2, separators=(",", " : "), ensure_ascii=False) + "\n"
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def render(
    request: web.Request, body: Any, status: int = 200, warnings: Iterable[str] = (), filtered: bool = True
) -> web.Response:
    """A JSON reply; `filter_path` applies unless `filtered` is False (error bodies)."""
    if filtered:
        body = apply_filter_path(body, request.query.get("filter_path"))
    response = web.Response(text=dumps(request, body), status=status, content_type="application/json")
    response.headers["Content-Type"] = content_type(request) + "; charset=UTF-8"
    for message in warnings:
        response.headers.add("Warning", warning_header(message))
    return response


def render_text(request: web.Request, text: str, status: int = 200) -> web.Response:
    """A plain-text reply (the cat APIs' table form)."""
    return web.Response(text=text, status=status, content_type="text/plain")


def acknowledged(request: web.Request, warnings: Iterable[str] = ()) -> web.Response:
    return render(request, {"acknowledged": True}, warnings=warnings)
